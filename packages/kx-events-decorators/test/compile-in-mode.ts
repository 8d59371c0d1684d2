/**
 * Compiles TypeScript files with the TypeScript compiler API in one decorator mode, and runs the
 * result in a fresh Node.js process: the proof that decorated code works in both modes.
 * Used by this package's tests (a fixture) and by the root's tests (examples/handlers).
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';

/** `legacy` is `experimentalDecorators`; `standard` is TC39 decorators, TypeScript 5+'s default. */
export type DecoratorMode = 'legacy' | 'standard';
export const DECORATOR_MODES: readonly DecoratorMode[] = ['legacy', 'standard'];

const PACKAGE_ROOT = path.resolve(__dirname, '..');
const PACKAGE_MODULES = path.join(PACKAGE_ROOT, 'node_modules');

export interface Compilation {
  /** Type errors and other diagnostics, formatted; empty when the files compile cleanly. */
  readonly diagnostics: string[];
  /** The JavaScript emitted for `file`: an input, or a file an input imports. */
  emitted(file: string): string;
  /** Requires `file` (a compiled input) in a new Node.js process and resolves what its `run()` resolves to. */
  run(file: string, env?: NodeJS.ProcessEnv): Promise<unknown>;
  /** Deletes the compiled files. */
  dispose(): void;
}

/**
 * Compiles `files` (and what they import) strictly, to JavaScript in a temporary folder.
 * `overrides` changes the compiler options, e.g. a bundler's module resolution.
 */
export function compileInMode(mode: DecoratorMode, files: readonly string[], overrides: ts.CompilerOptions = {}): Compilation {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), `kx-decorators-${mode}-`));
  const options: ts.CompilerOptions = {
    strict: true,
    noUnusedLocals: true,
    noImplicitReturns: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    module: ts.ModuleKind.Node16, // CommonJS output: no package.json on the way says "type": "module"
    moduleResolution: ts.ModuleResolutionKind.Node16,
    esModuleInterop: true,
    experimentalDecorators: mode === 'legacy',
    types: ['node'],
    typeRoots: [path.join(PACKAGE_MODULES, '@types')],
    skipLibCheck: true,
    outDir,
    ...overrides,
  };
  const program = ts.createProgram({ rootNames: files.map((file) => path.resolve(file)), options });
  const outputs = new Map<string, string>();
  const emitted = program.emit(undefined, (fileName, text, _bom, _onError, sources) => {
    fs.mkdirSync(path.dirname(fileName), { recursive: true });
    fs.writeFileSync(fileName, text);
    for (const source of sources ?? []) outputs.set(path.resolve(source.fileName), fileName);
  });
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].map((diagnostic) =>
    ts.formatDiagnostic(diagnostic, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' }).trim());

  const compiledPath = (file: string): string => {
    const compiled = outputs.get(path.resolve(file));
    if (!compiled) throw new Error(`${file} was not compiled (inputs: ${files.join(', ')})`);
    return compiled;
  };

  return {
    diagnostics,
    dispose: () => fs.rmSync(outDir, { recursive: true, force: true }),
    emitted: (file) => fs.readFileSync(compiledPath(file), 'utf8'),
    run: (file, env = {}) => {
      const compiled = compiledPath(file);
      const script = `require(${JSON.stringify(compiled)}).run().then(
        (value) => process.stdout.write('\\n' + JSON.stringify({ value })),
        (error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); })`;
      return new Promise((resolve, reject) => {
        execFile(process.execPath, ['-e', script], {
          // The compiled copy lives outside the repository: let it find the package's dependencies.
          env: { ...process.env, NODE_PATH: PACKAGE_MODULES, ...env },
          timeout: 30_000,
        }, (error, stdout, stderr) => {
          if (error) return reject(new Error(`${file} (${mode}) failed: ${stderr || error.message}`));
          const lastLine = stdout.trimEnd().split('\n').pop() ?? '';
          resolve((JSON.parse(lastLine) as { value: unknown }).value);
        });
      });
    },
  };
}
