/**
 * The whole pipeline, end to end: handlers decorated with @EventTracking → SQS
 * (moto) → the event-source runner → the bundled consumer on Node 24 →
 * PostgreSQL 16, and with fan-out → EventBridge (moto) → a rule → a subscriber's queue.
 * Each test has its own database, secret and queues; the short visibility timeouts
 * only make redelivery quick.
 */
import { execFileSync } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { eventsOf, expectedRow, recordingSqsClient, runTrackedHandlers, storedEvents, type StoredEvent } from './traffic';
import type { BatchCounts } from '../../lambda/lib/telemetry';
import type { BusEvent, QueuePairOptions, SubscriberOptions } from '../../local/aws';
import { startLocalPipeline, type LocalPipeline } from '../../local/pipeline';
import { startPostgres, withDatabase } from '../../local/postgres';
import { CONSUMER_BUNDLE, onBatchSummary, type EventSourceRunner } from '../../local/runner';
import { createTrackedEvent, publishEvent, type TrackedEvent } from '../../packages/kx-events-decorators/src';
import { freshDatabase } from '../setup/test-bed';

jest.setTimeout(150_000);

const pipelines: LocalPipeline[] = [];
afterEach(() => Promise.all(pipelines.splice(0).map((p) => p.stop())));

beforeAll(() => {
  if (!fs.existsSync(CONSUMER_BUNDLE)) throw new Error(`${CONSUMER_BUNDLE} is missing: run "npx projen bundle" first ("npx projen test" does)`);
});

async function pipeline(options: { databaseUrl?: string; queue?: QueuePairOptions; fanOut?: SubscriberOptions } = {}): Promise<LocalPipeline> {
  const p = await startLocalPipeline({
    databaseUrl: options.databaseUrl ?? await freshDatabase(),
    queue: options.queue ?? { visibilityTimeoutSeconds: 2 },
    fanOut: options.fanOut,
  });
  pipelines.push(p);
  return p;
}

/** The consumer's summary lines (one per batch), as they are written. */
function consumerSummaries(runner: EventSourceRunner): BatchCounts[] {
  const summaries: BatchCounts[] = [];
  onBatchSummary(runner, (summary) => summaries.push(summary));
  return summaries;
}

const byId = (a: StoredEvent, b: StoredEvent) => String(a.event_id).localeCompare(String(b.event_id));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(20);
  }
}

/** Every event is stored once, as it was sent; nothing else is stored, and nothing is dead-lettered. */
async function expectStoredAsSent(p: LocalPipeline, events: readonly TrackedEvent[]): Promise<void> {
  const stored = await storedEvents(p.databaseUrl);
  expect([...stored.values()].sort(byId)).toEqual(events.map(expectedRow).sort(byId));
  expect(await p.deadLetters()).toEqual([]);
}

/** Every event arrived at the subscriber's queue through the rule, at least once, each as stored; returns what arrived. */
async function expectFannedOut(arrivals: { stop(): Promise<BusEvent[]> }, events: readonly TrackedEvent[]): Promise<BusEvent[]> {
  const received = await arrivals.stop();
  const byEvent = new Map(received.map((e) => [e.detail.eventId, e]));
  expect([...byEvent.keys()].sort()).toEqual(events.map((e) => e.eventId).sort());
  for (const e of events) {
    expect(byEvent.get(e.eventId)).toMatchObject({ 'source': 'kx-events', 'detail-type': `${e.entityType}.${e.eventType}`, 'detail': JSON.parse(JSON.stringify(e)) });
  }
  return received;
}

const total = (summaries: BatchCounts[], count: keyof BatchCounts) => summaries.reduce((n, s) => n + s[count], 0);

test('1,000 events from decorated handlers are stored exactly once, every field as it was sent, and fan out to a subscriber', async () => {
  const p = await pipeline({ fanOut: {} });
  const arrivals = p.subscriber!.collect();
  const runner = p.runner().start();
  const summaries = consumerSummaries(runner);
  const events = eventsOf(await runTrackedHandlers(p.queues.queueUrl, 1000));
  await runner.drained({ timeoutMs: 120_000 });

  expect(new Set(events.map((e) => e.eventId)).size).toBe(1000);
  // The traffic exercises every field, present and absent.
  for (const field of ['previousEventId', 'userId', 'entityId', 'source', 'campaignId', 'pointsAwarded', 'sessionId', 'metadata'] as const) {
    expect(events.some((e) => e[field] !== undefined) && events.some((e) => e[field] === undefined)).toBe(true);
  }
  await expectStoredAsSent(p, events);
  expect(total(summaries, 'inserted')).toBe(1000);
  await expectFannedOut(arrivals, events);
  expect(total(summaries, 'fanOutFailed')).toBe(0);
});

test('every message delivered twice, within a batch and across batches: still 1,000 rows, and each event at the subscriber', async () => {
  const p = await pipeline({ fanOut: {} });
  const arrivals = p.subscriber!.collect();
  const runner = p.runner();
  const summaries = consumerSummaries(runner);
  const invocations: Array<ReadonlySet<string>> = [];
  runner.on('invoke', ({ messageIds }) => invocations.push(new Set(messageIds)));
  runner.start();
  const sent = await runTrackedHandlers(p.queues.queueUrl, 1000, { sendEachTwice: true });
  await runner.drained({ timeoutMs: 120_000 });

  await expectStoredAsSent(p, eventsOf(sent));
  expect(runner.totals.succeeded).toBeGreaterThanOrEqual(2000);
  expect(total(summaries, 'inserted')).toBe(1000);
  expect(total(summaries, 'duplicates')).toBeGreaterThanOrEqual(1000);
  // Both copies of some event came in one batch, and both copies of another in two.
  expect(sent.every((m) => m.messageIds.length === 2)).toBe(true);
  const together = sent.filter(({ messageIds: [a, b] }) => invocations.some((ids) => ids.has(a) && ids.has(b)));
  expect(together.length).toBeGreaterThan(0);
  expect(together.length).toBeLessThan(sent.length);
  // Each copy that came in a batch of its own found its event stored, and put it again: at least once.
  expect((await expectFannedOut(arrivals, eventsOf(sent))).length).toBeGreaterThan(1000);
});

test('the first PutEvents of some batches fails, refused or with failed entries: their messages are retried, every event is stored once and arrives at the subscriber', async () => {
  // local/moto-server.py's kx-events:fault=first-put: a fault in the emulator, because a real bus cannot be made to fail at will.
  const p = await pipeline({ fanOut: { fault: 'first-put' } });
  const arrivals = p.subscriber!.collect();
  const runner = p.runner();
  const summaries = consumerSummaries(runner);
  const receives = new Map<string, number>();
  runner.on('invoke', ({ messageIds }) => messageIds.forEach((id) => receives.set(id, (receives.get(id) ?? 0) + 1)));
  const reasons = new Set<string>();
  runner.on('log', ({ line }) => {
    if (line.includes('EventBridge did not take')) for (const reason of JSON.parse(line).reasons as string[]) reasons.add(reason.split(':')[0]);
  });
  runner.start();
  const events = eventsOf(await runTrackedHandlers(p.queues.queueUrl, 1000));
  await runner.drained({ timeoutMs: 60_000 });

  await expectStoredAsSent(p, events);
  expect(total(summaries, 'inserted')).toBe(1000);
  expect([...reasons].sort()).toEqual(['AccessDeniedException', 'InternalFailure']);
  // Each event fails once: its message was a batch item failure, and was received again (as was any message deferred for its link).
  const failed = total(summaries, 'fanOutFailed');
  expect(failed).toBeGreaterThan(0);
  expect(runner.totals.failed).toBeGreaterThanOrEqual(failed);
  expect([...receives.values()].filter((n) => n > 1).length).toBeGreaterThanOrEqual(failed);
  await expectFannedOut(arrivals, events);
});

test('a chain whose steps are sent in reverse order resolves every link', async () => {
  const p = await pipeline();
  const runner = p.runner().start();
  const summaries = consumerSummaries(runner);
  const { client, sent } = recordingSqsClient();
  const options = { queueUrl: p.queues.queueUrl, sqsClient: client };
  const request = { headers: { 'X-Client-Id': 'client-chain' } };
  const first = createTrackedEvent('order', 'cart_created', request)!;
  const second = createTrackedEvent('order', 'order_placed', request, undefined, { previousEventId: first.eventId })!;
  const third = createTrackedEvent('order', 'order_paid', request, undefined, { previousEventId: second.eventId, pointsAwarded: 5 })!;
  const deferred = () => total(summaries, 'deferred');

  // Each step goes out once the consumer has had to defer the one after it.
  expect(await publishEvent(third, options)).toBe(true);
  await until(() => deferred() >= 1, 'the third step was deferred');
  expect(await publishEvent(second, options)).toBe(true);
  await until(() => deferred() >= 2, 'the second step was deferred');
  expect(await publishEvent(first, options)).toBe(true);
  await runner.drained({ timeoutMs: 30_000 });

  expect(sent).toHaveLength(3);
  await expectStoredAsSent(p, [first, second, third]);
  expect(total(summaries, 'unlinked')).toBe(0);
});

test('poison messages go to the dead-letter queue with their reason, and nothing else does', async () => {
  const p = await pipeline();
  const runner = p.runner().start();
  const valid = eventsOf(await runTrackedHandlers(p.queues.queueUrl, 200));
  const event = (change: Record<string, unknown>) => JSON.stringify({ ...createTrackedEvent('user', 'user_created', { clientId: 'client-poison' }), ...change });
  const poison: Array<[string, RegExp]> = [
    ['{"eventId": ', /JSON/i],
    ['[1, 2, 3]', /object/i],
    [event({ eventType: 'x'.repeat(49) }), /eventType.*48.*49/],
    [event({ clientId: undefined }), /clientId/],
    [event({ eventId: 'not-a-uuid' }), /eventId/],
    [event({ pointsAwarded: 1.5 }), /pointsAwarded/],
    [event({ metadata: ['not', 'an', 'object'] }), /metadata/],
    [event({ userId: 'nul\u0000inside' }), /userId/],
    [event({ occurredAt: '2025-01-31T12:00:00' }), /occurredAt/],
  ];
  await p.sqs.send(new SendMessageBatchCommand({
    QueueUrl: p.queues.queueUrl,
    Entries: poison.map(([body], i) => ({ Id: String(i), MessageBody: body })),
  }));
  await runner.drained({ timeoutMs: 60_000 });

  const letters = await p.deadLetters();
  expect(letters.map((l) => l.body).sort()).toEqual(poison.map(([body]) => body).sort());
  for (const [body, reason] of poison) expect(letters.find((l) => l.body === body)!.reason).toMatch(reason);
  const stored = await storedEvents(p.databaseUrl);
  expect([...stored.values()].sort(byId)).toEqual(valid.map(expectedRow).sort(byId));
});

test('metadata numbers from a producer in another language are stored exactly, as it wrote them (JSONB numeric)', async () => {
  const p = await pipeline();
  const runner = p.runner().start();
  // What JSON.parse cannot hold: 2^53 + 1 (read as …992), and a number beyond a double's range (read as Infinity).
  const numbers = ['9007199254740993', '1e400', '-0.1000000000000000055511151231257827'];
  const events = numbers.map((n) => ({ id: randomUUID(), n }));
  await p.sqs.send(new SendMessageBatchCommand({
    QueueUrl: p.queues.queueUrl,
    Entries: events.map(({ id, n }, i) => ({
      Id: String(i),
      MessageBody: `{"eventId":"${id}","clientId":"c","entityType":"probe","eventType":"measured","occurredAt":"2025-01-31T12:00:00Z","metadata":{"n":${n},"nested":[${n}]}}`,
    })),
  }));
  await runner.drained({ timeoutMs: 60_000 });

  expect(await p.deadLetters()).toEqual([]);
  const { rows } = await withDatabase(p.databaseUrl, (client) => client.query(
    "SELECT event_id, metadata->>'n' AS n, metadata->'nested'->>0 AS nested, (metadata->>'n')::numeric = $1::numeric AS exact FROM events WHERE event_id = ANY($2::uuid[])",
    ['1e400', events.map((e) => e.id)]));
  const byEvent = new Map(rows.map((r) => [r.event_id as string, r]));
  expect(byEvent.get(events[0].id)).toMatchObject({ n: '9007199254740993', nested: '9007199254740993' });
  expect(byEvent.get(events[1].id)).toMatchObject({ n: `1${'0'.repeat(400)}`, exact: true });
  expect(byEvent.get(events[2].id)).toMatchObject({ n: numbers[2], nested: numbers[2] });
});

test('consumer containers killed in the middle of batches: everything is stored after redelivery', async () => {
  const p = await pipeline();
  const runner = p.runner();
  let invocations = 0;
  let killAfterSummary: number | undefined;
  runner.on('invoke', ({ pid }) => {
    invocations++;
    // As the batch arrives; a few milliseconds in; and once its rows are committed, before it answers.
    if (invocations === 3) process.kill(pid, 'SIGKILL');
    if (invocations === 12) setTimeout(() => process.kill(pid, 'SIGKILL'), 3);
    if (invocations === 25) killAfterSummary = pid;
  });
  runner.on('log', ({ pid, line }) => {
    if (pid === killAfterSummary && line.includes('"message":"batch"')) {
      killAfterSummary = undefined;
      process.kill(pid, 'SIGKILL');
    }
  });
  runner.start();
  const events = eventsOf(await runTrackedHandlers(p.queues.queueUrl, 1000));
  await runner.drained({ timeoutMs: 120_000 });

  // The kill as the batch arrives always lands in a busy container. The other two race the batch's
  // own end (it may finish within 3 ms, or answer before the kill arrives), so they crash it only
  // sometimes: what must hold every time is that nothing is lost.
  expect(runner.totals.crashes).toBeGreaterThanOrEqual(1);
  expect(runner.totals.coldStarts).toBeGreaterThan(runner.settings.maxConcurrency);
  await expectStoredAsSent(p, events);
});

test('the database stops and restarts during the run: nothing is lost', async () => {
  const postgres = await startPostgres();
  try {
    // A visibility timeout longer than the outage: each message fails at most once while the database is down.
    const p = await pipeline({ databaseUrl: postgres.url, queue: { visibilityTimeoutSeconds: 5 } });
    const runner = p.runner();
    let outage: Promise<void> | undefined;
    runner.on('batch', () => {
      if (runner.totals.batches === 10) {
        outage = (async () => {
          await postgres.stop();
          await sleep(2000);
          await postgres.start();
        })();
      }
    });
    runner.start();
    const events = eventsOf(await runTrackedHandlers(p.queues.queueUrl, 1000));
    await until(() => outage !== undefined, 'ten batches were stored');
    await outage;
    await runner.drained({ timeoutMs: 120_000 });

    expect(runner.totals.failed).toBeGreaterThan(0);
    await expectStoredAsSent(p, events);
  } finally {
    await Promise.all(pipelines.splice(0).map((p) => p.stop()));
    await postgres.destroy();
  }
});

test('no consumer container is left behind', () => {
  const containers = execFileSync('ps', ['-eo', 'pid=,ppid=,args=']).toString().split('\n')
    .filter((line) => line.includes('lambda-container.ts') && Number(line.trim().split(/\s+/)[1]) === process.pid);
  expect(containers).toEqual([]);
});
