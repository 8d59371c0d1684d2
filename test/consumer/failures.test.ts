import { randomUUID } from 'crypto';
import * as net from 'net';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { SQSRecord } from 'aws-lambda';
import type { Client } from 'pg';
import {
  connect, consumerBed, CONSUMER_SOURCE, createDatabaseSecret, drainQueue, dropDatabase, grantWriter, invoke, loadHandler, sqsRecord, tcpProxy,
  trackedEvent,
  type ConsumerHandler,
} from './harness';
import { PROBE_AFTER_IDLE_MS } from '../../lambda/lib/database';
import { migrateDatabase } from '../../local/pipeline';
import { startPostgres, withDatabase, type LocalPostgres } from '../../local/postgres';
import { freshDatabase, secretsManagerClient } from '../setup/test-bed';

const batchOf = (size: number): SQSRecord[] => Array.from({ length: size }, () => sqsRecord(JSON.stringify(trackedEvent())));
const redelivered = (records: SQSRecord[]): SQSRecord[] => records.map((r) => sqsRecord(r.body, {
  messageId: r.messageId, receiveCount: Number(r.attributes.ApproximateReceiveCount) + 1,
}));
const ids = (records: SQSRecord[]) => records.map((r) => r.messageId).sort();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function countEvents(databaseUrl: string): Promise<number> {
  return withDatabase(databaseUrl, async (client) => (await client.query('SELECT count(*)::int AS n FROM events')).rows[0].n);
}

describe('consumer when the database stops mid-stream', () => {
  let postgres: LocalPostgres;
  beforeAll(async () => {
    postgres = await startPostgres();
  });
  afterAll(() => postgres.destroy());

  test('every message of a batch it could not finish is a failure, and all are stored once the database is back', async () => {
    const bed = await consumerBed(CONSUMER_SOURCE, { databaseUrl: postgres.url });
    const stream = Array.from({ length: 5 }, () => batchOf(25));

    for (const batch of stream.slice(0, 2)) expect((await invoke(bed.handler, batch)).failures).toEqual([]);

    await postgres.stop();
    for (const batch of stream.slice(2, 4)) {
      const result = await invoke(bed.handler, batch);
      expect(result.failures.sort()).toEqual(ids(batch));
      expect(result.summary).toMatchObject({ received: 25, inserted: 0, failed: 25 });
      expect(result.lines.some((l) => l.level === 'ERROR' && (l.error as { code?: string }).code === 'ECONNREFUSED')).toBe(true);
    }

    await postgres.start();
    for (const batch of stream.slice(2, 4)) expect((await invoke(bed.handler, redelivered(batch))).failures).toEqual([]);
    expect((await invoke(bed.handler, stream[4])).failures).toEqual([]);
    expect(await countEvents(postgres.url)).toBe(125);
  });

  test('a batch in flight when the server shuts down: each message stored or reported, none lost', async () => {
    const bed = await consumerBed(CONSUMER_SOURCE, { databaseUrl: postgres.url });
    const before = await countEvents(postgres.url);
    const batch = batchOf(5_000);
    const [result] = await Promise.all([
      invoke(bed.handler, batch),
      new Promise((resolve) => setTimeout(resolve, 30)).then(() => postgres.stop()),
    ]);
    await postgres.start();
    // Unless the statement committed before shutdown, nothing was acknowledged.
    if (result.failures.length > 0) {
      expect(result.failures.sort()).toEqual(ids(batch));
      expect((await invoke(bed.handler, redelivered(batch))).failures).toEqual([]);
    }
    expect(await countEvents(postgres.url)).toBe(before + 5_000);
  });

  test('a batch of invalid messages needs no database: they reach the DLQ while it is down, and nothing is retried', async () => {
    const bed = await consumerBed(CONSUMER_SOURCE, { databaseUrl: postgres.url });
    await postgres.stop();
    try {
      const invalid = [sqsRecord('not json'), sqsRecord(JSON.stringify(trackedEvent({ eventType: '' })))];
      const result = await invoke(bed.handler, invalid);
      expect(result.failures).toEqual([]);
      expect(result.summary).toMatchObject({ received: 2, invalid: 2, failed: 0 });
      expect(result.lines.filter((l) => l.level === 'ERROR')).toEqual([]);
      expect((await drainQueue(bed.deadLetterQueueUrl, 2)).map((m) => m.Body).sort()).toEqual(invalid.map((r) => r.body).sort());
    } finally {
      await postgres.start();
    }
  });
});

describe('consumer when its connection goes silent or breaks (a proxy between it and the database)', () => {
  let databaseUrl: string;
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  let handler: ConsumerHandler;
  beforeEach(async () => {
    databaseUrl = await freshDatabase();
    proxy = await tcpProxy(Number(new URL(databaseUrl).port));
    const throughProxy = new URL(databaseUrl);
    throughProxy.port = String(proxy.port);
    ({ handler } = await consumerBed(CONSUMER_SOURCE, { databaseUrl: throughProxy.toString() }));
    expect((await invoke(handler, batchOf(5))).failures).toEqual([]);
  });
  afterEach(async () => {
    await proxy.close();
    await dropDatabase(databaseUrl);
  });

  test('silent after an idle while (no FIN, no RST): the probe finds it, and the next batch is stored on a new connection, in a few seconds', async () => {
    proxy.silence();
    await sleep(PROBE_AFTER_IDLE_MS + 500);
    const result = await invoke(handler, batchOf(5), { timeoutMs: 5_000 });
    expect(result.failures).toEqual([]);
    expect(result.summary).toMatchObject({ received: 5, inserted: 5, failed: 0 });
    expect(result.lines.some((l) => l.level === 'WARN' && /did not answer after an idle while/.test(String(l.message)))).toBe(true);
    expect(await countEvents(databaseUrl)).toBe(10);
  }, 30_000);

  test('broken under the batch\'s first statement, before anything was stored: one reconnect inside the invocation, no failure', async () => {
    proxy.cutOnNextWrite();
    const result = await invoke(handler, batchOf(5));
    expect(result.failures).toEqual([]);
    expect(result.summary).toMatchObject({ received: 5, inserted: 5, failed: 0 });
    expect(result.lines.some((l) => l.level === 'WARN' && /connection broke before the batch was stored/.test(String(l.message)))).toBe(true);
    expect(await countEvents(databaseUrl)).toBe(10);
  });
});

describe('consumer within the invocation\'s remaining time', () => {
  test.each([1_000, 3_000])('a statement blocked by another session\'s lock, %i ms left: batchItemFailures are returned in time, the invalid message is dead-lettered once', async (timeoutMs) => {
    const bed = await consumerBed(CONSUMER_SOURCE);
    const locker = await connect(bed.databaseUrl);
    try {
      expect((await invoke(bed.handler, batchOf(1))).failures).toEqual([]); // the connection is open
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
      const valid = batchOf(3);
      const invalid = sqsRecord('not json');

      const blocked = await invoke(bed.handler, [invalid, ...valid], { timeoutMs });
      expect(blocked.failures.sort()).toEqual(ids(valid));
      expect(blocked.summary).toMatchObject({ received: 4, inserted: 0, invalid: 1, failed: 3 });
      expect(blocked.lines.some((l) => l.level === 'ERROR' && (l.error as { name?: string }).name === 'DatabaseDeadlineError')).toBe(true);

      await locker.query('COMMIT');
      expect((await invoke(bed.handler, redelivered(valid), { timeoutMs })).failures).toEqual([]);
      expect(await countEvents(bed.databaseUrl)).toBe(4);
      expect((await drainQueue(bed.deadLetterQueueUrl, 1)).map((m) => m.Body)).toEqual([invalid.body]);
    } finally {
      await locker.end();
      await dropDatabase(bed.databaseUrl);
    }
  }, 60_000);
});

describe('consumer across a password rotation', () => {
  let databaseUrl: string;
  let role: string;
  let secretArn: string;
  let handler: ConsumerHandler;

  const admin = <T>(work: (client: Client) => Promise<T>): Promise<T> => withDatabase(databaseUrl, work);
  const setPassword = (password: string) => admin((c) => c.query(`ALTER ROLE ${role} PASSWORD '${password}'`));
  const putSecret = (password: string) => {
    const url = new URL(databaseUrl);
    const secret = { host: url.hostname, port: Number(url.port), username: role, password, dbname: url.pathname.slice(1) };
    return secretsManagerClient().send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: JSON.stringify(secret) }));
  };
  /** Ends the consumer's session, as a failover or a new container would, and waits until it is gone. */
  const dropSessions = async () => {
    await admin((c) => c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]));
    await new Promise((resolve) => setTimeout(resolve, 200));
  };

  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    await migrateDatabase(databaseUrl);
    role = `kx_consumer_${randomUUID().slice(0, 8)}`;
    await admin(async (c) => {
      await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'first-password'`);
      await grantWriter(c, role);
    });
    secretArn = await createDatabaseSecret(databaseUrl);
    await putSecret('first-password');
    ({ handler } = loadHandler<{ handler: ConsumerHandler }>(CONSUMER_SOURCE, {
      DB_SECRET_ARN: secretArn, DB_SSL_MODE: 'disable', DEAD_LETTER_QUEUE_URL: 'http://127.0.0.1:1/000000000000/unused', MAX_RECEIVE_COUNT: '3',
    }));
  });
  afterAll(async () => {
    await dropDatabase(databaseUrl);
    const server = new URL(databaseUrl);
    server.pathname = '/postgres';
    await withDatabase(server.toString(), (client) => client.query(`DROP ROLE ${role}`));
  });

  test('a rotated password (role and secret changed) costs no failed batch: the secret is read again on 28P01', async () => {
    expect((await invoke(handler, batchOf(10))).failures).toEqual([]);
    await setPassword('second-password');
    await putSecret('second-password');
    // The open session outlives the rotation.
    expect((await invoke(handler, batchOf(10))).failures).toEqual([]);
    // A new session uses the cached password, is refused, reads the secret again and connects.
    await dropSessions();
    const result = await invoke(handler, batchOf(10));
    expect(result.failures).toEqual([]);
    expect(result.summary).toMatchObject({ inserted: 10 });
  });

  test('while the secret still holds the old password, the batch fails once, and its retry succeeds after the secret is updated', async () => {
    await setPassword('third-password');
    await dropSessions();
    const batch = batchOf(10);
    const refused = await invoke(handler, batch);
    expect(refused.failures.sort()).toEqual(ids(batch));
    expect(refused.lines.some((l) => (l.error as { code?: string } | undefined)?.code === '28P01')).toBe(true);
    // No secret in the log, even when the password is refused.
    expect(JSON.stringify(refused.lines)).not.toMatch(/(first|second|third)-password/);
    await putSecret('third-password');
    expect((await invoke(handler, redelivered(batch))).failures).toEqual([]);
    expect(await countEvents(databaseUrl)).toBe(40);
  });
});

describe('consumer when the dead-letter queue is unreachable', () => {
  test('an invalid message becomes a batch item failure instead of being dropped; valid ones are stored', async () => {
    const missingQueue = `${process.env.AWS_ENDPOINT_URL}/000000000000/kx-missing-${randomUUID().slice(0, 8)}`;
    const bed = await consumerBed(CONSUMER_SOURCE, { deadLetterQueueUrl: missingQueue });
    try {
      const invalid = sqsRecord('not json');
      const valid = batchOf(3);
      const result = await invoke(bed.handler, [invalid, ...valid]);
      expect(result.failures).toEqual([invalid.messageId]);
      expect(result.summary).toMatchObject({ received: 4, inserted: 3, invalid: 0, failed: 1 });
    } finally {
      await dropDatabase(bed.databaseUrl);
    }
  });
});

describe('consumer when an AWS endpoint accepts connections and never answers', () => {
  let server: net.Server;
  let silentUrl: string;
  const sockets = new Set<net.Socket>();
  beforeAll(async () => {
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    sockets.forEach((socket) => socket.destroy());
    await new Promise((resolve) => server.close(resolve));
  });

  /** Invokes with the service's endpoint silent (the clients are created on first use, within the invocation). */
  async function invokeSilenced(service: 'SQS' | 'SECRETS_MANAGER', handler: ConsumerHandler, records: SQSRecord[]) {
    const variable = `AWS_ENDPOINT_URL_${service}`;
    process.env[variable] = silentUrl;
    try {
      return await invoke(handler, records);
    } finally {
      delete process.env[variable];
    }
  }

  // Without the clients' timeouts, each invocation would wait until Jest gives up.
  test('Secrets Manager: the batch is reported failed within the clients\' timeouts', async () => {
    const bed = await consumerBed(CONSUMER_SOURCE);
    try {
      const batch = batchOf(3);
      const result = await invokeSilenced('SECRETS_MANAGER', bed.handler, batch);
      expect(result.failures.sort()).toEqual(ids(batch));
      expect(result.lines.some((l) => l.level === 'ERROR' && (l.error as { name?: string }).name === 'DatabaseSecretError')).toBe(true);
      expect(await countEvents(bed.databaseUrl)).toBe(0);
    } finally {
      await dropDatabase(bed.databaseUrl);
    }
  }, 30_000);

  test('SQS: an invalid message becomes a batch item failure within the clients\' timeouts; valid ones are stored', async () => {
    const bed = await consumerBed(CONSUMER_SOURCE, { deadLetterQueueUrl: `${silentUrl}/000000000000/kx-silent-dlq` });
    try {
      const invalid = sqsRecord('not json');
      const result = await invokeSilenced('SQS', bed.handler, [invalid, ...batchOf(2)]);
      expect(result.failures).toEqual([invalid.messageId]);
      expect(result.summary).toMatchObject({ received: 3, inserted: 2, failed: 1 });
    } finally {
      await dropDatabase(bed.databaseUrl);
    }
  }, 30_000);
});

describe('consumer settings', () => {
  test('TLS with verification is the default: a server without TLS is refused, and the batch is retried', async () => {
    const bed = await consumerBed(CONSUMER_SOURCE);
    try {
      const { handler } = loadHandler<{ handler: ConsumerHandler }>(CONSUMER_SOURCE, {
        DB_SECRET_ARN: bed.secretArn, DB_SSL_MODE: undefined, DEAD_LETTER_QUEUE_URL: bed.deadLetterQueueUrl, MAX_RECEIVE_COUNT: '3',
      });
      const batch = batchOf(2);
      const result = await invoke(handler, batch);
      expect(result.failures.sort()).toEqual(ids(batch));
      expect(result.lines.some((l) => /does not support SSL/.test(String((l.error as { message?: string } | undefined)?.message)))).toBe(true);
      expect(await countEvents(bed.databaseUrl)).toBe(0);
    } finally {
      await dropDatabase(bed.databaseUrl);
    }
  });

  test('a bad setting stops the container at start, naming each problem, what is allowed and what was given', () => {
    expect(() => loadHandler(CONSUMER_SOURCE, {
      DB_SECRET_ARN: undefined, DB_SSL_MODE: 'require', DEAD_LETTER_QUEUE_URL: 'http://127.0.0.1/q', MAX_RECEIVE_COUNT: '0',
    })).toThrow(expect.objectContaining({
      name: 'ConfigurationError',
      message: 'invalid configuration: DB_SECRET_ARN: required, a Secrets Manager secret ARN; not set; '
        + 'DB_SSL_MODE: must be verify-full or disable, got "require"; MAX_RECEIVE_COUNT: must be an integer 1..1000, got "0"',
    }));
  });
});
