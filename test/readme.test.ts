/**
 * The README's handler snippets (tagged `TypeScript`: they use the npm-only runtime package, so
 * jsii-rosetta does not translate them) compile, unchanged but for where the package is found,
 * in both decorator modes.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { compileInMode, DECORATOR_MODES } from '../packages/kx-events-decorators/test/compile-in-mode';

const ROOT = path.resolve(__dirname, '..');
const DECORATORS = path.join(ROOT, 'packages', 'kx-events-decorators');
// Inside the package's node_modules, so that `@middy/core` resolves as it does for users.
const CACHE = path.join(DECORATORS, 'node_modules', '.cache');

const snippets = [...fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').matchAll(/^```TypeScript\n([\s\S]*?)^```$/gm)]
  .map((match) => match[1]);

/** The package's source stands in for the published package. */
function asLocalSource(code: string, file: string): string {
  const src = path.relative(path.dirname(file), path.join(DECORATORS, 'src'));
  return code.replace(/from 'kx-events-decorators(\/[a-z]+)?'/g, (_m, subpath: string | undefined) => `from '${src}${subpath ?? ''}'`);
}

// A folder of this run's own: test runs at the same time must not write over or remove each other's snippets.
let snippetsDir: string;
beforeAll(() => {
  fs.mkdirSync(CACHE, { recursive: true });
  snippetsDir = fs.mkdtempSync(path.join(CACHE, 'readme-snippets-'));
});
afterAll(() => fs.rmSync(snippetsDir, { recursive: true, force: true }));

test('the README shows the decorator, the wrapper and the middleware', () => {
  expect(snippets.map((code) => code.match(/import \{ (\w+) \}/)?.[1])).toEqual(['EventTracking', 'withEventTracking', 'eventTracking']);
});

describe.each(DECORATOR_MODES)('README handler snippets with %s decorators', (mode) => {
  test('compile without a diagnostic', () => {
    const files = snippets.map((code, i) => {
      const file = path.join(snippetsDir, mode, `snippet-${i + 1}.ts`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, asLocalSource(code, file));
      return file;
    });
    // As a Lambda bundler (esbuild, NodejsFunction) resolves them: @middy/core is ESM-only.
    const compilation = compileInMode(mode, files, { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler });
    try {
      expect(compilation.diagnostics).toEqual([]);
    } finally {
      compilation.dispose();
    }
  });
});
