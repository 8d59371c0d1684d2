/**
 * Reads a member of JSON text without parsing it: the text of its value, exactly as
 * its producer wrote it. JSON.parse reads every number as a double (9007199254740993
 * becomes …992, and 1e400 becomes Infinity); PostgreSQL's JSONB keeps numbers as
 * `numeric`, so the consumer stores metadata from its own text.
 */

/**
 * The text of the top-level member `name` of a JSON object's text, or undefined when it
 * has none; of repeated names the last, as JSON.parse keeps. `json` must be valid JSON
 * (JSON.parse took it): the scan does not check it again.
 */
export function memberText(json: string, name: string): string | undefined {
  const quoted = JSON.stringify(name);
  let found: string | undefined;
  for (let i = skipSpace(json, 0) + 1; ; i = skipSpace(json, i) + 1) { // past '{', then each ','
    i = skipSpace(json, i);
    if (json.charCodeAt(i) !== QUOTE) return found; // the object's '}'
    const keyEnd = stringEnd(json, i);
    const key = json.slice(i, keyEnd);
    const start = skipSpace(json, skipSpace(json, keyEnd) + 1); // past ':'
    i = valueEnd(json, start);
    if (key === quoted || (key.includes('\\') && JSON.parse(key) === name)) found = json.slice(start, i);
  }
}

/** The text of a JSON object, `objectText`, with one more member, `name`, whose value's text is `valueText`. */
export function withMember(objectText: string, name: string, valueText: string): string {
  const close = objectText.lastIndexOf('}');
  const members = objectText.slice(0, close);
  return `${members}${/^\s*\{\s*$/.test(members) ? '' : ','}${JSON.stringify(name)}:${valueText}}`;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x7b, 0x5b]); // { [
const CLOSERS = new Set([0x7d, 0x5d]); // } ]
/** What ends a number, true, false or null: a delimiter or whitespace. */
const ENDS_LITERAL = new Set([0x2c, 0x7d, 0x5d, 0x20, 0x09, 0x0a, 0x0d]);

function skipSpace(json: string, i: number): number {
  let c = json.charCodeAt(i);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = json.charCodeAt(++i);
  return i;
}

/** The index after the string that opens at `i`. */
function stringEnd(json: string, i: number): number {
  for (let from = i + 1; ; ) {
    const quote = json.indexOf('"', from);
    let backslashes = 0;
    while (json.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** The index after the value that starts at `i`. */
function valueEnd(json: string, i: number): number {
  const first = json.charCodeAt(i);
  if (first === QUOTE) return stringEnd(json, i);
  if (OPENERS.has(first)) {
    for (let j = i, depth = 0; ; j++) {
      const c = json.charCodeAt(j);
      if (c === QUOTE) j = stringEnd(json, j) - 1;
      else if (OPENERS.has(c)) depth++;
      else if (CLOSERS.has(c) && --depth === 0) return j + 1;
    }
  }
  let j = i;
  while (j < json.length && !ENDS_LITERAL.has(json.charCodeAt(j))) j++;
  return j;
}
