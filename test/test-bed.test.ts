import * as fs from 'fs';
import * as path from 'path';
import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { Client } from 'pg';
import { startPostgres } from '../local/postgres';
import { freshDatabase, freshQueues, secretsManagerClient, sqsClient } from './setup/test-bed';

describe('test bed', () => {
  test('PostgreSQL 16 answers a query in a fresh database', async () => {
    const client = new Client({ connectionString: await freshDatabase() });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: string; db: string }>(
        "SELECT current_setting('server_version_num') AS version, current_database() AS db");
      expect(Number(rows[0].version)).toBeGreaterThanOrEqual(160000);
      expect(Number(rows[0].version)).toBeLessThan(170000);
      expect(rows[0].db).toMatch(/^kx_[0-9a-f]{32}$/);
    } finally {
      await client.end();
    }
  });

  test('SQS sends and receives through the SDK, and redrives to the DLQ', async () => {
    const sqs = sqsClient();
    const queues = await freshQueues({ maxReceiveCount: 1, visibilityTimeoutSeconds: 1 });
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: '{"hello":"world"}' }));
    const first = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: queues.queueUrl, WaitTimeSeconds: 5, MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }));
    expect(first.Messages?.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([['{"hello":"world"}', '1']]);
    // Not deleted: after the visibility timeout it has used its one receive, and moves to the DLQ.
    await new Promise((r) => setTimeout(r, 1100));
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, WaitTimeSeconds: 1 }));
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.deadLetterQueueUrl, WaitTimeSeconds: 5 }));
    expect(dead.Messages?.map((m) => m.Body)).toEqual(['{"hello":"world"}']);
  });

  test('Secrets Manager stores and returns a secret through the SDK', async () => {
    const sm = secretsManagerClient();
    const secret = { username: 'kx', password: 'p@ss', host: '127.0.0.1', port: 5432, dbname: 'events' };
    const { ARN } = await sm.send(new CreateSecretCommand({ Name: `kx-${Date.now()}`, SecretString: JSON.stringify(secret) }));
    const out = await sm.send(new GetSecretValueCommand({ SecretId: ARN }));
    expect(JSON.parse(out.SecretString!)).toEqual(secret);
  });

  test('a PostgreSQL that cannot start says why, and leaves no data folder behind', async () => {
    // Other test files start servers in the same temp folder at the same time: this one watches
    // (without replacing) the call that makes this server's data folder, and checks that folder alone.
    const mkdtemp = jest.spyOn(jest.requireActual<typeof fs>('fs'), 'mkdtempSync');
    try {
      await expect(startPostgres({ settings: { shared_buffers: 'plenty' } })).rejects.toThrow(/postgres exited with \d+ before it was ready:[\s\S]*shared_buffers/);
      const dataFolders = mkdtemp.mock.results.map((r) => String(r.value)).filter((made) => path.basename(made).startsWith('kx-events-pg-'));
      expect(dataFolders).toHaveLength(1);
      expect(fs.existsSync(dataFolders[0])).toBe(false);
    } finally {
      mkdtemp.mockRestore();
    }
  });
});
