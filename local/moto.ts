/**
 * moto server: the SQS and Secrets Manager APIs on one local port, installed
 * from PyPI (pinned in local/requirements.txt) into the project's own venv.
 */
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { freePort } from './ports';

export const PROJECT_ROOT = path.resolve(__dirname, '..');
const VENV = path.join(PROJECT_ROOT, '.venv');
const REQUIREMENTS = path.join(__dirname, 'requirements.txt');
const PYTHON = path.join(VENV, 'bin', 'python');

export interface LocalMoto {
  /** The endpoint to give the SDK as AWS_ENDPOINT_URL. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * Creates the venv and installs moto when it is missing or its pins changed.
 * Safe when several processes call it at once. (`npx projen install:moto` runs it alone.)
 */
export function ensureMoto(): string {
  const stamp = path.join(VENV, '.requirements');
  const wanted = fs.readFileSync(REQUIREMENTS, 'utf8');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return PYTHON;
  withLock(`${VENV}.lock`, () => {
    if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return;
    if (!fs.existsSync(PYTHON)) execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'pipe' });
    execFileSync(PYTHON, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS], { stdio: ['ignore', 'pipe', 'inherit'] });
    fs.writeFileSync(stamp, wanted);
  });
  return PYTHON;
}

export async function startMoto(options: { port?: number } = {}): Promise<LocalMoto> {
  const python = ensureMoto();
  const port = options.port ?? await freePort();
  // moto's server, with its SQS queues made safe for concurrent requests (see moto-server.py).
  const child: ChildProcess = spawn(python, [path.join(__dirname, 'moto-server.py'), '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => { if (log.length < 20_000) log += chunk.toString(); });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilServing(endpoint, child, () => log);
  } catch (err) {
    process.removeListener('exit', killOnExit);
    child.kill('SIGKILL');
    throw err;
  }
  child.stderr!.removeAllListeners('data');
  child.stderr!.resume();
  return {
    endpoint,
    stop: () => new Promise<void>((resolve) => {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

async function waitUntilServing(endpoint: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto exited with ${child.exitCode}:\n${log()}`);
    if (await answers(`${endpoint}/moto-api/`)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto did not answer on ${endpoint} within 30 s:\n${log()}`);
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => { res.resume(); resolve(true); });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => { req.destroy(); resolve(false); });
  });
}

/** A cross-process lock: mkdir is atomic. A lock older than 10 minutes is stale. */
function withLock(lock: string, fn: () => void): void {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 10 * 60_000) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
  try {
    fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}
