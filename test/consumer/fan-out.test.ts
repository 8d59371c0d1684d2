/**
 * The consumer's fan-out to EventBridge (moto, through the SDK, with a real rule to a
 * subscriber's queue): what is put, as what, and what happens when EventBridge does not take it.
 */
import { randomUUID } from 'crypto';
import type { SQSRecord } from 'aws-lambda';
import { consumerBed, CONSUMER_SOURCE, drainQueue, invoke, sqsRecord, trackedEvent, type ConsumerBed } from './harness';
import { REASON_ATTRIBUTE } from '../../lambda/lib/dead-letter-queue';
import { MAX_PUT_BYTES } from '../../lambda/lib/event-fan-out';
import { createSubscriber, type Subscriber, type SubscriberOptions } from '../../local/aws';
import { withDatabase } from '../../local/postgres';
import { MAX_EVENT_BYTES, UNKNOWN_FIELDS_KEY } from '../../packages/kx-events-decorators/src/contract';
import { sqsClient } from '../setup/test-bed';

async function fanOutBed(options: SubscriberOptions = {}): Promise<ConsumerBed & { subscriber: Subscriber }> {
  const subscriber = await createSubscriber(sqsClient(), `kx-${randomUUID().slice(0, 8)}`, options);
  const bed = await consumerBed(CONSUMER_SOURCE, {
    environment: { EVENT_BUS_NAME: subscriber.eventBusName, ...options.eventSource ? { EVENT_SOURCE: options.eventSource } : {} },
  });
  return { ...bed, subscriber };
}

const record = (event: Record<string, unknown>, receiveCount = 1) => sqsRecord(JSON.stringify(event), { receiveCount });
/** The records received again: each once more, or `receiveCount` times. */
const again = (records: SQSRecord[], receiveCount?: number) => records.map((r) => sqsRecord(r.body, {
  messageId: r.messageId, receiveCount: receiveCount ?? Number(r.attributes.ApproximateReceiveCount) + 1,
}));
const summaryOf = (lines: Array<Record<string, unknown>>) => lines.find((l) => l.message === 'batch')!;

async function storedIds(databaseUrl: string): Promise<string[]> {
  return withDatabase(databaseUrl, async (client) => (await client.query('SELECT event_id FROM events ORDER BY event_id')).rows.map((r) => r.event_id as string));
}

test('every stored event is put once its batch is stored, as stored: those stored already and unlinked too, never invalid or deferred ones', async () => {
  const bed = await fanOutBed({ eventSource: 'shop.events' });
  const plain = trackedEvent({ eventId: randomUUID().toUpperCase() });
  const unlinked = trackedEvent({ previousEventId: randomUUID(), newerField: 'kept' });
  const deferred = trackedEvent({ previousEventId: randomUUID() });
  const exactNumbers = `{"eventId":"${randomUUID()}","clientId":"c","entityType":"probe","eventType":"measured","occurredAt":"2025-01-31T12:00:00.250Z","metadata":{"n":9007199254740993}}`;
  const batch = [record(plain), record(unlinked, 3), record(deferred), sqsRecord(exactNumbers), record(plain), sqsRecord('not json')];

  const first = await invoke(bed.handler, batch);
  expect(first.failures).toEqual([batch[2].messageId]);
  expect(summaryOf(first.lines)).toMatchObject({ inserted: 3, duplicates: 1, deferred: 1, invalid: 1, fanOutFailed: 0, fanOutTooLarge: 0 });
  const received = await bed.subscriber.received();
  expect(received).toHaveLength(3); // the repeated message's event once, the deferred and the invalid never
  const bus = new Map(received.map((e) => [e.detail.eventId, e]));
  const plainId = (plain.eventId as string).toLowerCase();
  expect(bus.get(plainId)).toMatchObject({
    'source': 'shop.events',
    'detail-type': 'order.order_completed',
    'time': new Date(plain.occurredAt as string).toISOString().replace(/\.\d+Z$/, 'Z'),
    'detail': { ...plain, eventId: plainId },
  });
  // On its last receive, stored without its link: fanned out with the claimed one; the newer field as stored, in metadata.
  expect(bus.get(unlinked.eventId as string)!.detail).toEqual({
    ...unlinked, newerField: undefined, metadata: { ...unlinked.metadata as object, [UNKNOWN_FIELDS_KEY]: { newerField: 'kept' } },
  });
  // The stored metadata's own text, so the number is the producer's exactly.
  const probe = received.find((e) => e['detail-type'] === 'probe.measured')!;
  expect(probe.messageBody).toMatch(/"n": ?9007199254740993\b/);

  // The batch again (its fan-out failed, say): the stored events are put again, the deferred one still waits.
  const second = await invoke(bed.handler, again(batch));
  expect(summaryOf(second.lines)).toMatchObject({ inserted: 0, duplicates: 4, deferred: 1 });
  expect((await bed.subscriber.received()).map((e) => e.detail.eventId).sort()).toEqual([...bus.keys()].sort());
});

test('entries are grouped within PutEvents\' 10 entries and 256 KB a request, and an event too large for an entry is stored, logged, and not retried', async () => {
  const bed = await fanOutBed();
  // 25 events of 60 KB: at least 3 requests by count, 6 by size.
  const large = Array.from({ length: 25 }, () => trackedEvent({ metadata: { text: 'x'.repeat(60_000) } }));
  // The largest event the queue takes: its entry, with Source, DetailType and Time, is over the limit.
  const tooLarge = trackedEvent({ metadata: { text: '' } });
  (tooLarge.metadata as { text: string }).text = 'y'.repeat(MAX_EVENT_BYTES - JSON.stringify(tooLarge).length);
  expect(Buffer.byteLength(JSON.stringify(tooLarge))).toBe(MAX_EVENT_BYTES);
  const batch = [...large, tooLarge].map((e) => record(e));

  const result = await invoke(bed.handler, batch);
  expect(result.failures).toEqual([]);
  expect(summaryOf(result.lines)).toMatchObject({ inserted: 26, fanOutFailed: 0, fanOutTooLarge: 1 });
  expect(result.lines).toContainEqual(expect.objectContaining({
    level: 'ERROR', message: expect.stringMatching(/too large for an EventBridge entry/), eventId: tooLarge.eventId, maxBytes: MAX_PUT_BYTES,
  }));
  expect((await bed.subscriber.received()).map((e) => e.detail.eventId).sort()).toEqual(large.map((e) => e.eventId).sort());
  expect(await storedIds(bed.databaseUrl)).toEqual([...large, tooLarge].map((e) => e.eventId).sort());
});

test('a bus that refuses (AccessDenied) loses nothing: the messages are retried, then dead-lettered with the reason, the events stored once', async () => {
  const bed = await fanOutBed({ fault: 'refuse' });
  const events = [trackedEvent(), trackedEvent()];
  const batch = events.map((e) => record(e));

  const first = await invoke(bed.handler, batch);
  expect(first.failures.sort()).toEqual(batch.map((r) => r.messageId).sort());
  expect(summaryOf(first.lines)).toMatchObject({ level: 'WARN', inserted: 2, fanOutFailed: 2 });
  expect(first.lines).toContainEqual(expect.objectContaining({ level: 'WARN', reasons: [expect.stringMatching(/^AccessDeniedException: .*events:PutEvents/)] }));

  // On the last receive (maxReceiveCount 3), the consumer dead-letters them itself, with the reason, and they succeed.
  const last = await invoke(bed.handler, again(batch, 3));
  expect(last.failures).toEqual([]);
  expect(summaryOf(last.lines)).toMatchObject({ duplicates: 2, fanOutFailed: 2 });
  const letters = await drainQueue(bed.deadLetterQueueUrl, 2);
  expect(letters.map((m) => m.Body).sort()).toEqual(batch.map((r) => r.body).sort());
  for (const letter of letters) {
    expect(letter.MessageAttributes![REASON_ATTRIBUTE].StringValue).toMatch(/^fan-out: the event is stored, but EventBridge did not take it .*AccessDeniedException/);
  }
  expect(await storedIds(bed.databaseUrl)).toEqual(events.map((e) => e.eventId).sort());
  expect(await bed.subscriber.received()).toEqual([]);
});
