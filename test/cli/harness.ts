/**
 * Runs the `kx-events` CLI for the tests: in this process (fast), or as its own process, bundled
 * from its sources with esbuild as `npm` would install it, for what only a process shows (exit on
 * a signal, the bin itself).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildSync } from 'esbuild';
import { run } from '../../packages/kx-events-cli/src';

const ROOT = path.resolve(__dirname, '../..');

export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs the CLI in this process, on a terminal that is not interactive (no progress bar). */
export async function kx(...argv: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (text) => { out += text; }, err: (text) => { err += text; }, interactive: false });
  return { code, out, err };
}

/** Runs the CLI and parses its --json output. */
export async function kxJson<T = Record<string, unknown>>(...argv: string[]): Promise<T & { code: number; err: string }> {
  const result = await kx(...argv, '--json');
  return { ...JSON.parse(result.out) as T, code: result.code, err: result.err };
}

let bundled: string | undefined;

/** The bin, bundled once per test file into a temporary folder; the runtime package from its sources. */
export function bundleCli(): string {
  if (bundled) return bundled;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kx-events-cli-'));
  const outfile = path.join(dir, 'kx-events.js');
  buildSync({
    entryPoints: [path.join(ROOT, 'packages/kx-events-cli/src/cli.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    outfile,
    alias: { 'kx-events-decorators': path.join(ROOT, 'packages/kx-events-decorators/src') },
    logLevel: 'error',
  });
  return bundled = outfile;
}

/**
 * Runs the bundled bin as its own process, with extra `--require`d modules and environment
 * variables (Jest's process.env is the test file's own: it is passed on explicitly); resolves its exit.
 */
export function spawnCli(
  bin: string, argv: readonly string[], options: { require?: string[]; env?: Record<string, string> } = {},
): Promise<CliResult & { signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.require ?? []).flatMap((m) => ['--require', m]), bin, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, out, err }));
  });
}
