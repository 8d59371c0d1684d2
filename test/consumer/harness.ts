/**
 * What the consumer and migration tests share: a database with the schema, its
 * RDS-format secret in Secrets Manager (moto), and the handlers loaded fresh with
 * their environment, from source or from the bundled asset.
 */
import { randomUUID } from 'crypto';
import * as net from 'net';
import * as path from 'path';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Client } from 'pg';
import { WRITER_TABLE_GRANTS } from '../../lambda/lib/roles';
import { migrateDatabase, rdsSecret } from '../../local/pipeline';
import { withDatabase } from '../../local/postgres';
import { freshDatabase, freshQueues, secretsManagerClient, sqsClient } from '../setup/test-bed';

export { sqsRecord, trackedEvent } from './fixtures';
export { connect } from '../../local/postgres';

export const CONSUMER_SOURCE = path.resolve(__dirname, '../../lambda/consumer.lambda.ts');
export { CONSUMER_BUNDLE, MIGRATE_BUNDLE } from '../../local/runner';
export const MIGRATE_SOURCE = path.resolve(__dirname, '../../lambda/migrate.lambda.ts');

/** Stores the connection string's credentials as an RDS secret, with `fields` instead of its own; returns its ARN. */
export async function createDatabaseSecret(databaseUrl: string, fields: Record<string, string> = {}): Promise<string> {
  const secret = { ...rdsSecret(databaseUrl), ...fields };
  const { ARN } = await secretsManagerClient().send(new CreateSecretCommand({ Name: `kx-db-${randomUUID()}`, SecretString: JSON.stringify(secret) }));
  return ARN!;
}


/**
 * Loads a handler module afresh, as a new Lambda container would, with `env` set
 * while its module scope runs (the consumer reads its settings there).
 */
export function loadHandler<T>(modulePath: string, env: Record<string, string | undefined>): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  setEnv(env);
  try {
    let loaded: T | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require(modulePath) as T;
    });
    return loaded!;
  } finally {
    setEnv(saved);
  }
}

function setEnv(env: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

export type ConsumerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** What one invocation returned and logged. */
export interface Invocation {
  readonly failures: string[];
  readonly summary: Record<string, number>;
  readonly lines: Array<Record<string, unknown>>;
}

export interface InvokeOptions {
  /**
   * The function's timeout: the context's remaining time when the invocation starts. As in
   * Lambda, an invocation still running then is ended: invoke() rejects, and every message
   * of the batch would be received again.
   * @default 30_000, KxEventsPipeline's default consumerTimeout
   */
  readonly timeoutMs?: number;
}

/** Invokes the consumer on the records, capturing its log lines (it writes one JSON object a line). */
export async function invoke(handler: ConsumerHandler, records: SQSRecord[], options: InvokeOptions = {}): Promise<Invocation> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const context = { getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) } as Context;
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(chunk.toString());
    return true;
  });
  let response: SQSBatchResponse;
  let timer: NodeJS.Timeout | undefined;
  try {
    response = await Promise.race([
      handler({ Records: records }, context),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the invocation timed out after ${timeoutMs} ms: Lambda would end it, and redeliver the whole batch`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    spy.mockRestore();
  }
  const lines = written.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  const batch = lines.filter((line) => line.message === 'batch');
  expect(batch).toHaveLength(1);
  const { received, inserted, duplicates, invalid, deferred, failed, unlinked } = batch[0] as Record<string, number>;
  return {
    failures: response.batchItemFailures.map((f) => f.itemIdentifier),
    summary: { received, inserted, duplicates, invalid, deferred, failed, unlinked },
    lines,
  };
}

/** Grants `role` the writer's privileges on the tables, as the migration does on deploy (test/schema/roles.test.ts checks them). */
export async function grantWriter(client: Client, role: string): Promise<void> {
  for (const grant of WRITER_TABLE_GRANTS) await client.query(`GRANT ${grant} TO ${role}`);
}

/** Drops a test database, closing the connections a handler left open in it. */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const admin = new URL(databaseUrl);
  const name = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  await withDatabase(admin.toString(), (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

export interface ConsumerBed {
  readonly handler: ConsumerHandler;
  readonly databaseUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly secretArn: string;
}

export interface ConsumerBedOptions {
  /** @default 3 */
  readonly maxReceiveCount?: number;
  /** @default - a fresh database on the test server */
  readonly databaseUrl?: string;
  /** @default - a fresh queue's dead-letter queue */
  readonly deadLetterQueueUrl?: string;
  /** More of the consumer's environment (EVENT_BUS_NAME, EVENT_SOURCE). @default - none */
  readonly environment?: Record<string, string>;
}

/**
 * A consumer as a new container runs it (from source or the bundle), on its own
 * migrated database, secret and dead-letter queue.
 */
export async function consumerBed(modulePath: string, options: ConsumerBedOptions = {}): Promise<ConsumerBed> {
  const databaseUrl = options.databaseUrl ?? await freshDatabase();
  await migrateDatabase(databaseUrl);
  const deadLetterQueueUrl = options.deadLetterQueueUrl ?? (await freshQueues()).deadLetterQueueUrl;
  const secretArn = await createDatabaseSecret(databaseUrl);
  const { handler } = loadHandler<{ handler: ConsumerHandler }>(modulePath, {
    DB_SECRET_ARN: secretArn,
    DB_SSL_MODE: 'disable',
    DEAD_LETTER_QUEUE_URL: deadLetterQueueUrl,
    MAX_RECEIVE_COUNT: String(options.maxReceiveCount ?? 3),
    ...options.environment,
  });
  return { handler, databaseUrl, deadLetterQueueUrl, secretArn };
}

/** Every message now in the queue (received once, with all attributes). */
export async function drainQueue(queueUrl: string, expected: number): Promise<Message[]> {
  const sqs = sqsClient();
  const messages: Message[] = [];
  for (let attempt = 0; attempt < 20 && messages.length < expected; attempt++) {
    const out = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'], VisibilityTimeout: 300,
    }));
    messages.push(...(out.Messages ?? []));
  }
  return messages;
}

/** A TCP proxy on loopback, in front of a server's port. */
export interface TcpProxy {
  readonly port: number;
  /** Its connections stop forwarding, and stay open: as a path that went silent, without a FIN or an RST. New ones forward. */
  silence(): void;
  /** Its connections close as soon as their client writes again: a connection that breaks under a statement. New ones forward. */
  cutOnNextWrite(): void;
  close(): Promise<void>;
}

export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  const connections = new Map<net.Socket, { server: net.Socket; mode: 'forward' | 'silent' | 'cut' }>();
  const proxy = net.createServer((client) => {
    const connection = { server: net.connect(targetPort, '127.0.0.1'), mode: 'forward' as 'forward' | 'silent' | 'cut' };
    connections.set(client, connection);
    const close = () => {
      client.destroy();
      connection.server.destroy();
      connections.delete(client);
    };
    client.on('data', (data) => {
      if (connection.mode === 'cut') close();
      else if (connection.mode === 'forward') connection.server.write(data);
    });
    connection.server.on('data', (data) => {
      if (connection.mode === 'forward') client.write(data);
    });
    for (const socket of [client, connection.server]) {
      socket.on('close', close);
      socket.on('error', close);
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const setMode = (mode: 'silent' | 'cut') => connections.forEach((connection) => {
    connection.mode = mode;
  });
  return {
    port: (proxy.address() as net.AddressInfo).port,
    silence: () => setMode('silent'),
    cutOnNextWrite: () => setMode('cut'),
    close: async () => {
      for (const client of [...connections.keys()]) client.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}
