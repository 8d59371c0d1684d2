/**
 * The kx-events CLI against the test bed: moto (SQS, CloudWatch Logs, CloudFormation), and for the
 * redrive, the local pipeline's bundled consumer writing to PostgreSQL 16.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import { bundleCli, kx, kxJson, spawnCli } from './harness';
import { REASON_ATTRIBUTE } from '../../lambda/lib/dead-letter-queue';
import type { QueuePair } from '../../local/aws';
import { startLocalPipeline } from '../../local/pipeline';
import { createTrackedEvent, publishEvents, type TrackedEvent } from '../../packages/kx-events-decorators/src';
import { MAX_UNPUBLISHED_LINE_BYTES } from '../../packages/kx-events-decorators/src/recovery';
import { storedEvents } from '../e2e/traffic';
import { freshDatabase, freshQueues, sqsClient } from '../setup/test-bed';

jest.setTimeout(60_000);

const sqs = sqsClient();
const INVALID = 'eventType: must be 1..48 characters, got 49';
const REFUSED = 'the database refused the row: 23514 new row violates check constraint';
const event = (eventType: string) => createTrackedEvent('order', eventType, { clientId: 'acme' })!;

/** Puts messages on the dead-letter queue as the consumer (with a reason) and SQS (without) leave them. */
async function deadLetter(queues: QueuePair, messages: Array<{ body: string; reason?: string }>): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    await sqs.send(new SendMessageBatchCommand({
      QueueUrl: queues.deadLetterQueueUrl,
      Entries: messages.slice(i, i + 10).map(({ body, reason }, index) => ({
        Id: String(index),
        MessageBody: body,
        MessageAttributes: {
          clientId: { DataType: 'String', StringValue: 'acme' },
          ...(reason === undefined ? {} : { [REASON_ATTRIBUTE]: { DataType: 'String', StringValue: reason } as MessageAttributeValue }),
        },
      })),
    }));
  }
}

/** The messages on a queue, received and hidden for 30 s. */
async function receiveAll(queueUrl: string): Promise<Array<{ body: string; attributes: Record<string, MessageAttributeValue> }>> {
  const messages = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 30, MessageAttributeNames: ['All'] }));
    if (Messages.length === 0) return messages;
    messages.push(...Messages.map((m) => ({ body: m.Body!, attributes: m.MessageAttributes ?? {} })));
  }
}

async function depth(queueUrl: string): Promise<number> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(out.Attributes!.ApproximateNumberOfMessages) + Number(out.Attributes!.ApproximateNumberOfMessagesNotVisible);
}

/** A dead-letter queue of mixed reasons: 3 invalid, 2 refused by the database, 2 retries exhausted, 1 not JSON. */
async function mixedDeadLetterQueue(queues: QueuePair) {
  const invalid = [1, 2, 3].map(() => ({ ...event('x'), eventType: 'y'.repeat(49) }));
  const refused = [event('refused_1'), event('refused_2')];
  const exhausted = [event('exhausted_1'), event('exhausted_2')];
  await deadLetter(queues, [
    ...invalid.map((e) => ({ body: JSON.stringify(e), reason: INVALID })),
    ...refused.map((e) => ({ body: JSON.stringify(e), reason: REFUSED })),
    ...exhausted.map((e) => ({ body: JSON.stringify(e) })),
    { body: 'not json at all', reason: 'body: must be a JSON TrackedEvent, got text that is not JSON' },
  ]);
  return { invalid, refused, exhausted };
}

describe('dlq summary and dlq show', () => {
  test('group a dead-letter queue of mixed reasons, and leave every message in it', async () => {
    const queues = await freshQueues();
    const { refused } = await mixedDeadLetterQueue(queues);
    const dlq = ['--dlq-url', queues.deadLetterQueueUrl];

    const summary = await kxJson<{ messages: number; reasons: Array<{ reason: string; messages: number }> }>('dlq', 'summary', ...dlq);
    expect(summary.code).toBe(0);
    expect(summary.messages).toBe(8);
    expect(summary.reasons.map((r) => [r.reason, r.messages])).toEqual([
      [INVALID, 3],
      ['retries exhausted', 2],
      [REFUSED, 2],
      ['body: must be a JSON TrackedEvent, got text that is not JSON', 1],
    ]);
    const table = await kx('dlq', 'summary', ...dlq);
    expect(table.out).toMatch(/^8 messages in the dead-letter queue, the oldest \d+ s old/);
    expect(table.out).toMatch(/MESSAGES\s+OLDEST\s+REASON\n3\s+\d+ s\s+eventType: must be 1\.\.48/);

    const shown = await kxJson<{ matching: number; messages: Array<{ reason: string; body: string }> }>('dlq', 'show', ...dlq, '--reason', 'DATABASE REFUSED', '--limit', '1');
    expect(shown.matching).toBe(2);
    expect(shown.messages).toHaveLength(1);
    expect(shown.messages[0].reason).toBe(REFUSED);
    expect(refused.map((e) => e.eventId)).toContain(JSON.parse(shown.messages[0].body).eventId);
    expect((await kx('dlq', 'show', ...dlq, '--reason', 'exhausted')).out).toMatch(/^MESSAGE ID\s+AGE\s+REASON\s+BODY\n.*retries exhausted\s+\{"eventId"/);

    // Reading hid nothing and deleted nothing: all 8 are visible again.
    expect((await receiveAll(queues.deadLetterQueueUrl)).length).toBe(8);
  });

  test('a wrong queue URL, a malformed one, or none: a clear error, exit code 1 or 2', async () => {
    const missing = queueUrlNamed('no-such-queue');
    const wrong = await kx('dlq', 'summary', '--dlq-url', missing);
    expect(wrong).toMatchObject({ code: 1, out: '' });
    expect(wrong.err).toMatch(new RegExp(`^kx-events: the dead-letter queue ${missing} does not exist .*\nCheck --dlq-url \\(or --stack\\) and the region`));
    expect(await kx('dlq', 'summary', '--dlq-url', 'my-dlq')).toMatchObject({ code: 2, err: expect.stringMatching(/--dlq-url must be a queue URL .*, got "my-dlq"/) });
    expect(await kx('dlq', 'redrive', '--dlq-url', missing)).toMatchObject({ code: 2, err: expect.stringMatching(/this command needs --queue-url, or --stack NAME/) });
    expect(await kx('dlq', 'purge')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown command "dlq purge"/) });
    expect(await kx('dlq', 'show', '--limit', 'all', '--dlq-url', missing)).toMatchObject({ code: 2, err: expect.stringMatching(/--limit must be a whole number from 1 to 100000, got "all"/) });
  });

  test('--stack finds the queues in the outputs the construct writes', async () => {
    const queues = await freshQueues();
    await mixedDeadLetterQueue(queues);
    // The output keys as the construct names them (its snapshot holds the template).
    const snapshot = fs.readFileSync(path.join(__dirname, '../__snapshots__/kx-events-pipeline.snapshot.test.ts.snap'), 'utf8');
    const key = (name: string) => new RegExp(`"(Pipeline${name}[0-9A-F]{8})": \\{`).exec(snapshot)![1];
    const stackName = `kx-cli-${Date.now()}`;
    const cloudFormation = new CloudFormationClient({});
    await cloudFormation.send(new CreateStackCommand({
      StackName: stackName,
      TemplateBody: JSON.stringify({
        Resources: { Topic: { Type: 'AWS::SNS::Topic' } },
        Outputs: {
          [key('QueueUrl')]: { Value: queues.queueUrl },
          [key('DeadLetterQueueUrl')]: { Value: queues.deadLetterQueueUrl },
          [key('DatabaseEndpoint')]: { Value: 'db.example' },
        },
      }),
    }));
    expect(await kxJson('dlq', 'summary', '--stack', stackName)).toMatchObject({ code: 0, deadLetterQueueUrl: queues.deadLetterQueueUrl, messages: 8 });
    expect(await kx('dlq', 'summary', '--stack', 'no-such-stack')).toMatchObject({ code: 1, err: expect.stringMatching(/^kx-events: stack no-such-stack does not exist .*\nCheck --stack/) });
  });
});

function queueUrlNamed(name: string): string {
  return `${process.env.AWS_ENDPOINT_URL}/123456789012/${name}`;
}

describe('dlq redrive', () => {
  test('--reason moves only those messages, which the consumer then stores; a body that is not an event stays', async () => {
    const p = await startLocalPipeline({ databaseUrl: await freshDatabase(), queue: { visibilityTimeoutSeconds: 2 } });
    try {
      const { exhausted, refused } = await mixedDeadLetterQueue(p.queues);
      const target = ['--queue-url', p.queues.queueUrl, '--dlq-url', p.queues.deadLetterQueueUrl];

      expect(await kxJson('dlq', 'redrive', ...target, '--reason', 'retries exhausted', '--dry-run')).toMatchObject({ code: 0, matching: 2, moved: 2, dryRun: true });
      expect(await depth(p.queues.queueUrl)).toBe(0);

      const redrive = await kx('dlq', 'redrive', ...target, '--reason', 'retries exhausted');
      expect(redrive).toMatchObject({ code: 0, out: '2 matching messages (reason contains "retries exhausted"): moved 2 to the events queue, 0 not.\n' });
      await p.runner().start().drained({ timeoutMs: 30_000 });
      expect([...(await storedEvents(p.databaseUrl)).keys()].sort()).toEqual(exhausted.map((e) => e.eventId).sort());

      // Not JSON: a clear error, exit code 1, and nothing deleted.
      const notJson = await kxJson<{ moved: number; problems: Array<{ problem: string }> }>('dlq', 'redrive', ...target, '--reason', 'not JSON');
      expect(notJson).toMatchObject({ code: 1, moved: 0, problems: [{ problem: expect.stringMatching(/^the body is not JSON .*; it stays in the dead-letter queue$/) }] });
      expect(notJson.err).toMatch(/1 messages were not moved\. Fix what they say/);
      const left = await receiveAll(p.queues.deadLetterQueueUrl);
      expect(left.map((m) => m.attributes[REASON_ATTRIBUTE]?.StringValue ?? 'none').sort()).toEqual([
        ...Array(3).fill(INVALID), ...Array(2).fill(REFUSED), 'body: must be a JSON TrackedEvent, got text that is not JSON',
      ].sort());
      expect(left.filter((m) => refused.some((e) => m.body === JSON.stringify(e)))).toHaveLength(2);
    } finally {
      await p.stop();
    }
  });

  test('killed with SIGKILL halfway, it loses no message; run again, it finishes, and each event is stored once', async () => {
    const p = await startLocalPipeline({ databaseUrl: await freshDatabase(), queue: { visibilityTimeoutSeconds: 2 } });
    try {
      const events = Array.from({ length: 35 }, (_, i) => event(`retried_${i}`));
      await deadLetter(p.queues, events.map((e) => ({ body: JSON.stringify(e) })));
      const target = ['--queue-url', p.queues.queueUrl, '--dlq-url', p.queues.deadLetterQueueUrl, '--visibility-timeout', '1'];

      const killed = await spawnCli(bundleCli(), ['dlq', 'redrive', ...target], { require: [path.join(__dirname, 'kill-after-deletes.js')], env: { KILL_AT_DELETE: '2' } });
      expect(killed.signal).toBe('SIGKILL');
      // Killed after its second batch was accepted by the events queue and before it was deleted:
      // 20 copies in the events queue, and the 25 not deleted still in the dead-letter queue.
      expect([await depth(p.queues.queueUrl), await depth(p.queues.deadLetterQueueUrl)]).toEqual([20, 25]);

      await new Promise((resolve) => setTimeout(resolve, 1_100)); // the killed command's hold ends
      expect(await kxJson('dlq', 'redrive', ...target)).toMatchObject({ code: 0, matching: 25, moved: 25 });
      await p.runner().start().drained({ timeoutMs: 30_000 });
      const stored = await storedEvents(p.databaseUrl);
      expect([...stored.keys()].sort()).toEqual(events.map((e) => e.eventId).sort());
      expect(await depth(p.queues.deadLetterQueueUrl)).toBe(0);
    } finally {
      await p.stop();
    }
  });
});

describe('replay-unpublished', () => {
  const logs = new CloudWatchLogsClient({});

  /** The raw stdout lines a publish writes (its unpublished records). */
  async function unpublishedLines(events: TrackedEvent[]): Promise<string[]> {
    let text = '';
    const write = process.stdout.write;
    process.stdout.write = ((chunk: unknown) => { text += String(chunk); return true; }) as typeof process.stdout.write;
    try {
      await publishEvents(events, { queueUrl: queueUrlNamed('deleted-queue') }); // refused for real: the queue does not exist
    } finally {
      process.stdout.write = write;
    }
    return text.split('\n').filter((line) => line.includes('"marker":"kx-events.unpublished"'));
  }

  test('publishes each unpublished event once, a large one joined from its parts, and reports the corrupt record', async () => {
    const small = [event('small_1'), event('small_2'), event('small_3')];
    const large = createTrackedEvent('report', 'report_exported', {}, undefined, { clientId: 'acme', metadata: { rows: Array.from({ length: 6_000 }, (_, i) => `row ${i}: "é中🎉"`) } })!;
    const lines = await unpublishedLines([...small, large]);
    const parts = lines.filter((line) => line.includes('"part":'));
    expect(parts.length).toBeGreaterThan(2);
    for (const line of lines) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(MAX_UNPUBLISHED_LINE_BYTES);
    const partsAgain = await unpublishedLines([large]); // a second failed attempt logs it again, in new parts

    // Two producers' streams: a record repeated, the large event logged twice (the second time with
    // one part returned twice), one record cut short, and other lines.
    const [s1, s2, s3] = lines.filter((line) => !line.includes('"part":'));
    const logGroup = `/aws/lambda/producer-${Date.now()}`;
    await logs.send(new CreateLogGroupCommand({ logGroupName: logGroup }));
    const streams: Record<string, string[]> = {
      a: ['START RequestId: 1', s1, s2, ...parts, s1.slice(0, 120)],
      b: [s2, s3, ...partsAgain, partsAgain[0], '{"level":"INFO","message":"kx-events.unpublished is only mentioned"}'],
    };
    const now = Date.now();
    for (const [stream, messages] of Object.entries(streams)) {
      await logs.send(new CreateLogStreamCommand({ logGroupName: logGroup, logStreamName: stream }));
      for (let i = 0; i < messages.length; i += 5) {
        const logEvents = messages.slice(i, i + 5).map((message) => ({ timestamp: now, message }));
        await logs.send(new PutLogEventsCommand({ logGroupName: logGroup, logStreamName: stream, logEvents }));
      }
    }
    const queues = await freshQueues();

    type Report = { found: number; sent: number; skipped: number; failed: number; problems: Array<{ source: string; problem: string }> };
    const report = await kxJson<Report>('replay-unpublished', '--log-group', logGroup, '--since', '1h', '--queue-url', queues.queueUrl);
    expect(report).toMatchObject({ code: 1, found: 7, sent: 4, skipped: 2, failed: 1 });
    expect(report.problems).toEqual([{ source: expect.stringMatching(/^a at /), problem: expect.stringMatching(/^a line with the unpublished marker that is not a whole JSON record/) }]);
    expect(report.err).toMatch(/1 unpublished records could not be replayed/);

    const sent = (await receiveAll(queues.queueUrl)).map((m) => JSON.parse(m.body) as TrackedEvent);
    expect(sent.sort((a, b) => a.eventType.localeCompare(b.eventType))).toEqual([large, ...small]);

    // Human output, and a dry run sends nothing.
    const dryRun = await kx('replay-unpublished', '--log-group', logGroup, '--queue-url', queues.queueUrl, '--dry-run');
    expect(dryRun.out).toMatch(/^FOUND\s+WOULD SEND\s+SKIPPED \(REPEATS\)\s+FAILED\n7\s+4\s+2\s+1\n/);
    expect(await depth(queues.queueUrl)).toBe(4);
  });

  test('a wrong log group, or a bad --since: a clear error, nothing sent', async () => {
    const { queueUrl } = await freshQueues();
    const missing = await kx('replay-unpublished', '--log-group', '/aws/lambda/nope', '--queue-url', queueUrl);
    expect(missing).toMatchObject({ code: 1, err: expect.stringMatching(/^kx-events: the log group \/aws\/lambda\/nope does not exist .*\nCheck --log-group/) });
    expect(await kx('replay-unpublished', '--log-group', 'g', '--since', 'yesterday', '--queue-url', queueUrl)).toMatchObject({ code: 2, err: expect.stringMatching(/--since must be a duration \(90m, 24h, 7d\) or an ISO 8601 time, got "yesterday"/) });
    expect(await kx('replay-unpublished', '--queue-url', queueUrl)).toMatchObject({ code: 2, err: expect.stringMatching(/needs --log-group NAME/) });
  });
});

test('the bin: --help, and exit code 2 on an unknown option', async () => {
  const bin = bundleCli();
  const help = await spawnCli(bin, ['--help']);
  expect(help).toMatchObject({ code: 0, out: expect.stringMatching(/^kx-events: operate a KxEventsPipeline/) });
  expect(await spawnCli(bin, ['dlq', 'summary', '--colour'])).toMatchObject({ code: 2, err: expect.stringMatching(/Unknown option '--colour'/) });
});
