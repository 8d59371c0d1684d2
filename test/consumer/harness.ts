/**
 * What the consumer and migration tests share: a database with the schema, its
 * RDS-format secret in Secrets Manager (moto), and the handlers loaded fresh with
 * their environment, from source or from the bundled asset.
 */
import { randomUUID } from 'crypto';
import * as path from 'path';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { Client } from 'pg';
import { runMigrations } from '../../lambda/lib/migrations';
import { secretsManagerClient } from '../setup/test-bed';

export const CONSUMER_SOURCE = path.resolve(__dirname, '../../lambda/consumer.lambda.ts');
export const CONSUMER_BUNDLE = path.resolve(__dirname, '../../assets/lambda/consumer.lambda/index.js');
export const MIGRATE_SOURCE = path.resolve(__dirname, '../../lambda/migrate.lambda.ts');
export const MIGRATE_BUNDLE = path.resolve(__dirname, '../../assets/lambda/migrate.lambda/index.js');

/** Stores the connection string's credentials as an RDS secret; returns its ARN. */
export async function createDatabaseSecret(databaseUrl: string): Promise<string> {
  const url = new URL(databaseUrl);
  const secret = {
    engine: 'postgres',
    host: url.hostname,
    port: Number(url.port),
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    dbname: url.pathname.slice(1),
  };
  const { ARN } = await secretsManagerClient().send(new CreateSecretCommand({ Name: `kx-db-${randomUUID()}`, SecretString: JSON.stringify(secret) }));
  return ARN!;
}

/** A connected client; the caller ends it. */
export async function connect(databaseUrl: string): Promise<Client> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  return client;
}

/** Applies the schema to the database. */
export async function migrate(databaseUrl: string): Promise<void> {
  const client = await connect(databaseUrl);
  try {
    await runMigrations(client);
  } finally {
    await client.end();
  }
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

export type ConsumerHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** An SQS record as Lambda delivers it. */
export function sqsRecord(body: string, options: { receiveCount?: number; messageId?: string; attributes?: SQSRecord['messageAttributes'] } = {}): SQSRecord {
  return {
    messageId: options.messageId ?? randomUUID(),
    receiptHandle: `receipt-${randomUUID()}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: options.attributes ?? {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:kx-events',
    awsRegion: 'us-east-1',
  };
}
