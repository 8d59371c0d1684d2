/**
 * The event-source runner on its own: a scripted stand-in consumer, loaded on
 * Node 24 as the bundle is, shows exactly what Lambda's event source mapping
 * would hand a function and what it does with the answer.
 */
import { createHash } from 'crypto';
import * as path from 'path';
import { ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import type { QueuePair } from '../../local/aws';
import {
  EventSourceMappingSettingsError, EventSourceRunner, failedMessageIds,
  type BatchReport, type EventSourceMappingSettings,
} from '../../local/runner';
import { freshQueues, sqsClient } from '../setup/test-bed';

const SCRIPTED_CONSUMER = path.join(__dirname, 'fixtures', 'scripted-consumer.ts');
/**
 * The visibility timeout of the redelivery tests: short, so they are quick, but longer
 * than a cold start and a batch on a busy machine, so a message returns only when the test means it to.
 */
const REDELIVERY_SECONDS = 3;

interface Invocation {
  readonly event: SQSEvent;
  readonly runtime: {
    readonly node: string;
    readonly pid: number;
    readonly cwd: string;
    readonly env: Record<string, string>;
    readonly functionName: string;
    readonly awsRequestId: string;
    readonly invokedFunctionArn: string;
    readonly remainingMs: number;
  };
}

const sqs = sqsClient();
const runners: EventSourceRunner[] = [];
afterEach(() => Promise.all(runners.splice(0).map((r) => r.stop())));

function runScripted(queues: QueuePair, settings: EventSourceMappingSettings = {}, environment: Record<string, string> = {}) {
  const runner = new EventSourceRunner({
    queueUrl: queues.queueUrl,
    queueArn: queues.queueArn,
    bundle: SCRIPTED_CONSUMER,
    environment: { DEAD_LETTER_QUEUE_URL: queues.deadLetterQueueUrl, MAX_RECEIVE_COUNT: String(queues.maxReceiveCount), DB_SSL_MODE: 'disable', ...environment },
    ...settings,
  });
  runners.push(runner);
  const invocations: Invocation[] = [];
  const batches: BatchReport[] = [];
  const stderr: string[] = [];
  runner.on('log', ({ stream, line }) => (stream === 'stdout' ? invocations.push(JSON.parse(line)) : stderr.push(line)));
  runner.on('batch', (batch) => batches.push(batch));
  runner.start();
  return { runner, invocations, batches, stderr };
}

async function send(queues: QueuePair, actions: string[]): Promise<string[]> {
  const out = await sqs.send(new SendMessageBatchCommand({
    QueueUrl: queues.queueUrl,
    Entries: actions.map((action, i) => ({ Id: String(i), MessageBody: JSON.stringify({ do: action, i }) })),
  }));
  expect(out.Failed ?? []).toEqual([]);
  return actions.map((_, i) => out.Successful!.find((s) => s.Id === String(i))!.MessageId!);
}

/** Every delivery of each message: the ApproximateReceiveCount of each, in order. */
function deliveries(invocations: readonly Invocation[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  for (const { event } of invocations) {
    for (const r of event.Records) seen.set(r.messageId, [...seen.get(r.messageId) ?? [], r.attributes.ApproximateReceiveCount]);
  }
  return seen;
}

async function deadLetters(queues: QueuePair): Promise<string[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.deadLetterQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  return (out.Messages ?? []).map((m) => m.MessageId!);
}

describe('the SQSEvent and the runtime', () => {
  test('each record is built as Lambda builds it, and the handler runs on Node 24 with only the function environment', async () => {
    const queues = await freshQueues();
    const body = JSON.stringify({ do: 'succeed', text: 'héllo' });
    const sent = await sqs.send(new SendMessageCommand({
      QueueUrl: queues.queueUrl,
      MessageBody: body,
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'demo' },
        count: { DataType: 'Number', StringValue: '42' },
        raw: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]) },
      },
    }));
    const { runner, invocations, batches, stderr } = runScripted(queues);
    await runner.drained({ timeoutMs: 20_000 });

    expect(stderr).toEqual([]);
    expect(invocations).toHaveLength(1);
    const [{ event, runtime }] = invocations;
    expect(Object.keys(event)).toEqual(['Records']);
    const [record] = event.Records;
    expect(Object.keys(record)).toEqual([
      'messageId', 'receiptHandle', 'body', 'attributes', 'messageAttributes', 'md5OfMessageAttributes',
      'md5OfBody', 'eventSource', 'eventSourceARN', 'awsRegion',
    ]);
    expect(record).toMatchObject({
      messageId: sent.MessageId,
      body,
      md5OfBody: createHash('md5').update(body).digest('hex'),
      md5OfMessageAttributes: sent.MD5OfMessageAttributes,
      eventSource: 'aws:sqs',
      eventSourceARN: queues.queueArn,
      awsRegion: 'us-east-1',
    });
    expect(record.receiptHandle).toEqual(expect.any(String));
    expect(record.attributes).toEqual(expect.objectContaining({
      ApproximateReceiveCount: '1',
      SentTimestamp: expect.stringMatching(/^\d{13}$/),
      SenderId: expect.stringMatching(/.+/),
      ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
    }));
    expect(record.messageAttributes).toEqual({
      kind: { stringValue: 'demo', stringListValues: [], binaryListValues: [], dataType: 'String' },
      count: { stringValue: '42', stringListValues: [], binaryListValues: [], dataType: 'Number' },
      raw: { binaryValue: 'AQID', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
    });

    expect(runtime.node).toMatch(/^v24\./);
    expect(runtime.pid).not.toBe(process.pid);
    expect(runtime.env).toMatchObject({
      DEAD_LETTER_QUEUE_URL: queues.deadLetterQueueUrl,
      MAX_RECEIVE_COUNT: '3',
      DB_SSL_MODE: 'disable',
      AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL,
      AWS_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: 'kx-events-consumer',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    });
    expect(runtime.env.DATABASE_URL).toBeUndefined();
    expect(runtime.cwd).toBe(path.dirname(SCRIPTED_CONSUMER));
    expect(runtime.functionName).toBe('kx-events-consumer');
    expect(runtime.invokedFunctionArn).toMatch(/^arn:aws:lambda:us-east-1:\d{12}:function:kx-events-consumer$/);
    expect(runtime.remainingMs).toBeGreaterThan(20_000);
    expect(runtime.remainingMs).toBeLessThanOrEqual(30_000);

    expect(batches).toMatchObject([{ size: 1, outcome: 'succeeded', succeeded: 1, failed: 0, coldStart: true }]);
    const left = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, WaitTimeSeconds: 0 }));
    expect(left.Messages ?? []).toEqual([]);
  });

  test.each([
    // Init takes 2.5 s against a 2 s timeout: it is init's own time, and the handler gets the whole timeout.
    ['when init ends', 2_500, 2],
    // Init takes 10.5 s against a 3 s timeout: the first 10 s are init's own, the last 0.5 s count.
    ['once Lambda\'s 10 s init limit has passed', 10_500, 3],
  ] as const)('the function\'s timeout starts %s', async (_when, initMs, functionTimeoutSeconds) => {
    const queues = await freshQueues();
    await send(queues, ['succeed']);
    const { runner, invocations, batches } = runScripted(queues, { functionTimeoutSeconds }, { SCRIPTED_INIT_MS: String(initMs) });
    await runner.drained({ timeoutMs: 40_000 });

    expect(batches).toMatchObject([{ size: 1, outcome: 'succeeded', coldStart: true }]);
    expect(invocations).toHaveLength(1);
    expect(invocations[0].runtime.remainingMs).toBeGreaterThan(0);
    expect(invocations[0].runtime.remainingMs).toBeLessThanOrEqual(functionTimeoutSeconds * 1000 - Math.max(0, initMs - 10_000));
  }, 60_000);
});

describe('what happens to a batch', () => {
  test('succeeded messages are deleted; batchItemFailures are redelivered, then redriven to the DLQ', async () => {
    const queues = await freshQueues({ maxReceiveCount: 2, visibilityTimeoutSeconds: REDELIVERY_SECONDS });
    const [ok1, ok2, ok3, bad] = await send(queues, ['succeed', 'succeed', 'succeed', 'fail']);
    const { runner, invocations, batches } = runScripted(queues);
    await runner.drained({ timeoutMs: 20_000 });

    const seen = deliveries(invocations);
    expect(seen.get(ok1)).toEqual(['1']);
    expect(seen.get(ok2)).toEqual(['1']);
    expect(seen.get(ok3)).toEqual(['1']);
    expect(seen.get(bad)).toEqual(['1', '2']);
    expect(await deadLetters(queues)).toEqual([bad]);
    expect(batches.map((b) => b.outcome)).toContain('partial');
    expect(runner.totals).toMatchObject({ messages: 5, succeeded: 3, failed: 2, crashes: 0 });
  });

  test.each([
    ['throw-once', 'failed', {}],
    ['unknown-id-once', 'failed', {}],
    ['crash-once', 'crashed', {}],
    ['hang-once', 'timed-out', { functionTimeoutSeconds: 1 }],
  ] as const)('%s leaves the whole batch for redelivery (outcome %s)', async (action, outcome, settings) => {
    const queues = await freshQueues({ visibilityTimeoutSeconds: REDELIVERY_SECONDS });
    const [culprit] = await send(queues, [action, 'succeed', 'succeed']);
    const { runner, invocations, batches } = runScripted(queues, settings);
    await runner.drained({ timeoutMs: 20_000 });

    const first = invocations.find(({ event }) => event.Records.some((r) => r.messageId === culprit))!;
    const seen = deliveries(invocations);
    for (const r of first.event.Records) expect(seen.get(r.messageId)).toEqual(['1', '2']);
    expect(batches.filter((b) => b.outcome !== 'succeeded')).toMatchObject([{ outcome, succeeded: 0, failed: first.event.Records.length }]);
    expect(runner.totals.succeeded).toBe(3);
    if (outcome === 'crashed' || outcome === 'timed-out') {
      // The container is gone; the retry runs in a new one.
      const retry = invocations.find(({ event }) => event.Records.some((r) => r.messageId === culprit && r.attributes.ApproximateReceiveCount === '2'))!;
      expect(retry.runtime.pid).not.toBe(first.runtime.pid);
      expect(() => process.kill(first.runtime.pid, 0)).toThrow();
    }
  });

  test('a batch larger than one receive is gathered within the batching window', async () => {
    const queues = await freshQueues();
    const ids = [
      ...await send(queues, Array(10).fill('succeed')),
      ...await send(queues, Array(10).fill('succeed')),
      ...await send(queues, Array(5).fill('succeed')),
    ];
    const { runner, batches } = runScripted(queues, { batchSize: 25, maxBatchingWindowSeconds: 2, maxConcurrency: 2 });
    await runner.drained({ timeoutMs: 20_000 });

    expect(batches.reduce((n, b) => n + b.size, 0)).toBe(ids.length);
    expect(Math.max(...batches.map((b) => b.size))).toBeGreaterThan(10);
    expect(Math.max(...batches.map((b) => b.size))).toBeLessThanOrEqual(25);
    expect(batches.every((b) => b.outcome === 'succeeded')).toBe(true);
  });
});

describe('settings and responses, by Lambda\'s rules', () => {
  const queue = { queueUrl: 'http://127.0.0.1:1/000000000000/q', queueArn: 'arn:aws:sqs:us-east-1:000000000000:q', environment: {} };

  test('invalid settings fail with every problem, the allowed range and the value given', () => {
    const attempt = () => new EventSourceRunner({ ...queue, batchSize: 100, maxConcurrency: 1, functionTimeoutSeconds: 0.5 });
    expect(attempt).toThrow(EventSourceMappingSettingsError);
    expect(attempt).toThrow('Invalid event source mapping settings: maxConcurrency must be an integer from 2 to 1000, got 1; '
      + 'functionTimeoutSeconds must be an integer from 1 to 900, got 0.5; '
      + 'maxBatchingWindowSeconds must be at least 1 when batchSize is greater than 10, got 0 with batchSize 100');
    expect(() => new EventSourceRunner({ ...queue, batchSize: 10_001, maxBatchingWindowSeconds: 301 }))
      .toThrow('batchSize must be an integer from 1 to 10000, got 10001; maxBatchingWindowSeconds must be an integer from 0 to 300, got 301');
  });

  test('the batch response: what counts as success, as partial, and as a failure of the whole batch', () => {
    const records = ['a', 'b', 'c'].map((messageId) => ({ messageId })) as unknown as SQSEvent['Records'];
    const all = new Set(['a', 'b', 'c']);
    expect(failedMessageIds(records, undefined)).toEqual(new Set());
    expect(failedMessageIds(records, null)).toEqual(new Set());
    expect(failedMessageIds(records, {})).toEqual(new Set());
    expect(failedMessageIds(records, { batchItemFailures: [] })).toEqual(new Set());
    expect(failedMessageIds(records, { batchItemFailures: null })).toEqual(new Set());
    expect(failedMessageIds(records, { batchItemFailures: [{ itemIdentifier: 'b' }] })).toEqual(new Set(['b']));
    expect(failedMessageIds(records, { batchItemFailures: [{ itemIdentifier: 'b' }, { itemIdentifier: 'x' }] })).toEqual(all);
    expect(failedMessageIds(records, { batchItemFailures: [{ itemIdentifier: '' }] })).toEqual(all);
    expect(failedMessageIds(records, { batchItemFailures: [{ itemIdentifier: null }] })).toEqual(all);
    expect(failedMessageIds(records, { batchItemFailures: [{ id: 'b' }] })).toEqual(all);
    expect(failedMessageIds(records, 'ok')).toEqual(all);
  });
});
