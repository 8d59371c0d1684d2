/** A migration file imported as its text (esbuild's text loader; `sql-text.js` in Jest and ts-node). */
declare module '*.sql' {
  const text: string;
  export default text;
}
