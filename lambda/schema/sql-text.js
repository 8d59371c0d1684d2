/**
 * How `import sql from './0001_events.sql'` yields the file's text outside the bundle.
 * In the bundle, esbuild's text loader embeds it (`--loader:.sql=text`). Here the same
 * import works in Jest (this file is its transformer for .sql) and in ts-node (which
 * requires this file through tsconfig.dev.json's "ts-node" section).
 */
const fs = require('fs');

exports.process = (text) => ({ code: `module.exports = ${JSON.stringify(text)};` });

require.extensions['.sql'] ??= (module, filename) => {
  module.exports = fs.readFileSync(filename, 'utf8');
};
