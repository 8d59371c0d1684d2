/**
 * What a test needs from the test bed, each fresh and its own: a database, and a
 * queue with its dead-letter queue. The servers are started by global setup.
 */
import { randomUUID } from 'crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createQueuePair, type QueuePair, type QueuePairOptions } from '../../local/aws';
import { withDatabase } from '../../local/postgres';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through Jest, whose global setup starts the test bed`);
  return value;
}

/** A new, empty database on the test server; returns its connection string. */
export async function freshDatabase(): Promise<string> {
  const admin = new URL(required('DATABASE_URL'));
  const name = `kx_${randomUUID().replace(/-/g, '')}`;
  await withDatabase(admin.toString(), (client) => client.query(`CREATE DATABASE ${name}`));
  admin.pathname = `/${name}`;
  return admin.toString();
}

/** A new queue and its DLQ on the emulator, with the construct's redrive settings unless told otherwise. */
export function freshQueues(options?: QueuePairOptions): Promise<QueuePair> {
  return createQueuePair(sqsClient(), `kx-${randomUUID().slice(0, 8)}`, options);
}

/** SDK clients for the emulator (AWS_ENDPOINT_URL and fake credentials come from global setup). */
export function sqsClient(): SQSClient {
  required('AWS_ENDPOINT_URL');
  return new SQSClient({});
}

export function secretsManagerClient(): SecretsManagerClient {
  required('AWS_ENDPOINT_URL');
  return new SecretsManagerClient({});
}
