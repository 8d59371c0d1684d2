/**
 * TLS with verification, as in Lambda: the bundled consumer on Node 24 in a child
 * process, with the CA given by NODE_EXTRA_CA_CERTS (as the construct sets it to the
 * runtime's RDS bundle), against a PostgreSQL that serves a certificate of that CA.
 */
import { execFile, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CONSUMER_BUNDLE, createDatabaseSecret, sqsRecord, trackedEvent } from './harness';
import { migrateDatabase } from '../../local/pipeline';
import { startPostgres, withDatabase, type LocalPostgres } from '../../local/postgres';
import { NODE_24 } from '../../local/runner';
import { freshQueues } from '../setup/test-bed';

/** A CA, and a server certificate it signed for 127.0.0.1, readable by the server's user. */
function certificates(dir: string): { ca: string; cert: string; key: string } {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=kx-events test CA', '-keyout', file('ca.key'), '-out', file('ca.pem'));
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', file('server.key'), '-out', file('server.csr'));
  fs.writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-days', '1', '-extfile', file('san.ext'), '-out', file('server.pem'));
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
    for (const name of ['server.pem', 'server.key']) fs.chownSync(file(name), id('-u'), id('-g'));
    fs.chmodSync(dir, 0o755);
  }
  fs.chmodSync(file('server.key'), 0o600);
  return { ca: file('ca.pem'), cert: file('server.pem'), key: file('server.key') };
}

describe('consumer over TLS (verify-full, the default)', () => {
  let dir: string;
  let postgres: LocalPostgres;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kx-tls-'));
    const { cert, key } = certificates(dir);
    postgres = await startPostgres({ settings: { ssl: 'on', ssl_cert_file: cert, ssl_key_file: key } });
    await migrateDatabase(postgres.url);
    env = {
      DB_SECRET_ARN: await createDatabaseSecret(postgres.url),
      DEAD_LETTER_QUEUE_URL: (await freshQueues()).deadLetterQueueUrl,
      MAX_RECEIVE_COUNT: '3',
    };
  });
  afterAll(async () => {
    await postgres?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Invokes the bundle once, in a fresh Node 24 process (which then exits, its connection open); returns its batch item failures. */
  async function invokeBundle(body: string, extraEnv: Record<string, string>): Promise<{ failures: string[]; log: string }> {
    const script = `require(${JSON.stringify(CONSUMER_BUNDLE)}).handler({ Records: [${JSON.stringify(sqsRecord(body))}] }, { getRemainingTimeInMillis: () => 30000 })
      .then((r) => process.stderr.write('RESULT ' + JSON.stringify(r.batchItemFailures.map((f) => f.itemIdentifier)) + '\\n', () => process.exit(0)));`;
    const { DB_SSL_MODE: _, NODE_EXTRA_CA_CERTS: __, ...inherited } = process.env;
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(NODE_24, ['-e', script], { env: { ...inherited, ...env, ...extraEnv }, timeout: 30_000 }, (err, out, text) => (err ? reject(err) : resolve({ stdout: out, stderr: text })));
    });
    return { failures: JSON.parse(/RESULT (.*)/.exec(stderr)![1]) as string[], log: stdout };
  }

  test('connects and stores when the server\'s certificate chains to a trusted CA and names the host', async () => {
    const event = trackedEvent();
    expect((await invokeBundle(JSON.stringify(event), { NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem') })).failures).toEqual([]);
    const { rows } = await withDatabase(postgres.url, (client) => client.query('SELECT count(*)::int AS n FROM events WHERE event_id = $1', [event.eventId]));
    expect(rows[0].n).toBe(1);
  });

  test('refuses a server whose certificate it cannot verify, and leaves the message for redelivery', async () => {
    const { failures, log } = await invokeBundle(JSON.stringify(trackedEvent()), {});
    expect(failures).toHaveLength(1);
    expect(log).toMatch(/"code":"UNABLE_TO_VERIFY_LEAF_SIGNATURE"/);
  });
});
