/**
 * The producer against moto's SQS, through the real AWS SDK: what a decorated handler publishes
 * arrives intact, and publishEvents sends what it can and logs the rest.
 */
import { randomUUID } from 'crypto';
import * as path from 'path';
import {
  CreateQueueCommand, ReceiveMessageCommand, type Message, type SendMessageBatchCommandInput, type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  EventTracking, MAX_EVENT_BYTES, publishEvents, validateTrackedEvent, type TrackedEvent,
} from '../../packages/kx-events-decorators/src';
import { recoverUnpublishedEvents } from '../../packages/kx-events-decorators/src/recovery';
import { recordLogs, type LogRecorder } from '../../packages/kx-events-decorators/test/log-records';
import { freshQueues, sqsClient } from '../setup/test-bed';

/** The SQSClient class of the SDK copy that the package itself resolves (its own node_modules). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SQSClient: PackageSQSClient } = require(require.resolve('@aws-sdk/client-sqs', {
  paths: [path.join(__dirname, '..', '..', 'packages', 'kx-events-decorators')],
})) as typeof import('@aws-sdk/client-sqs');

let sqs: SQSClient;
let logs: LogRecorder;
beforeAll(() => { sqs = sqsClient(); });
beforeEach(() => { logs = recordLogs(); });
afterEach(() => {
  logs.restore();
  delete process.env.EVENTS_QUEUE_URL;
});

/** Receives until `count` messages arrived (or a receive comes back empty). */
async function receiveAll(queueUrl: string, count: number): Promise<Message[]> {
  const messages: Message[] = [];
  while (messages.length < count) {
    const out = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2, MessageAttributeNames: ['All'],
    }));
    if (!out.Messages?.length) break;
    messages.push(...out.Messages);
  }
  return messages;
}

const PREVIOUS = '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b';

class Checkout {
  @EventTracking('order', 'order_placed', {
    source: 'checkout',
    campaignId: 'spring-sale',
    pointsAwarded: 2_147_483_647,
    userId: (_result: unknown, event: { body: string }) => JSON.parse(event.body).userId,
    entityId: (result: { orderId: string }) => result.orderId,
    sessionId: 'sess-ü-😀',
    metadata: (result: { orderId: string; total: number }) => ({ total: result.total, lines: [{ sku: 'a', qty: 2 }], note: 'naïve ☕', empty: null }),
  })
  async placeOrder(event: { body: string }, _context: unknown) {
    return { statusCode: 201, orderId: `ord-${JSON.parse(event.body).userId}`, total: 99.99 };
  }
}

describe('a decorated handler, publishing to moto', () => {
  test('its event arrives with every field intact, and with the message attributes', async () => {
    const { queueUrl } = await freshQueues();
    process.env.EVENTS_QUEUE_URL = queueUrl;
    const event = { headers: { 'x-client-id': 'client-42', 'X-Previous-Event-Id': PREVIOUS }, body: JSON.stringify({ userId: 'user-7' }) };
    const result = await new Checkout().placeOrder(event, {});
    expect(result).toEqual({ statusCode: 201, orderId: 'ord-user-7', total: 99.99 });

    const [message, ...more] = await receiveAll(queueUrl, 1);
    expect(more).toEqual([]);
    const arrived = JSON.parse(message.Body!) as TrackedEvent;
    expect(validateTrackedEvent(arrived)).toEqual([]);
    expect(arrived).toEqual({
      eventId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      clientId: 'client-42',
      previousEventId: PREVIOUS,
      userId: 'user-7',
      entityId: 'ord-user-7',
      entityType: 'order',
      eventType: 'order_placed',
      source: 'checkout',
      campaignId: 'spring-sale',
      pointsAwarded: 2_147_483_647,
      sessionId: 'sess-ü-😀',
      occurredAt: expect.any(String),
      metadata: { total: 99.99, lines: [{ sku: 'a', qty: 2 }], note: 'naïve ☕', empty: null },
    });
    expect(Math.abs(Date.parse(arrived.occurredAt) - Date.now())).toBeLessThan(60_000);
    expect(message.MessageAttributes).toEqual({
      eventType: { DataType: 'String', StringValue: 'order_placed' },
      entityType: { DataType: 'String', StringValue: 'order' },
      clientId: { DataType: 'String', StringValue: 'client-42' },
    });
    expect(logs.records()).toEqual([]);
  });

  test('a base64 body carries the clientId', async () => {
    const { queueUrl } = await freshQueues();
    process.env.EVENTS_QUEUE_URL = queueUrl;
    class Ping {
      @EventTracking('ping', 'pinged')
      async ping(_event: unknown) { return 'pong'; }
    }
    await new Ping().ping({ body: Buffer.from('{"clientId":"from-body"}').toString('base64'), isBase64Encoded: true });
    const [message] = await receiveAll(queueUrl, 1);
    expect(JSON.parse(message.Body!).clientId).toBe('from-body');
  });
});

describe('publishEvents against moto', () => {
  const event = (i: number, extra: Partial<TrackedEvent> = {}): TrackedEvent => ({
    eventId: randomUUID(), clientId: 'acme', entityType: 'item', eventType: `item_${i}`, occurredAt: new Date().toISOString(), ...extra,
  });

  test('sends 25 events in chunks; an invalid and an oversize event are logged, not sent, and the rest arrive', async () => {
    const { queueUrl } = await freshQueues();
    const events = Array.from({ length: 25 }, (_, i) => event(i));
    events[4] = event(4, { pointsAwarded: 0.5 });
    events[17] = event(17, { metadata: { blob: 'x'.repeat(MAX_EVENT_BYTES) } });
    const summary = await publishEvents(events, { queueUrl });
    expect(summary).toEqual({ published: 23, unpublished: 2 });
    const arrived = (await receiveAll(queueUrl, 23)).map((m) => JSON.parse(m.Body!).eventType).sort();
    expect(arrived).toEqual(events.filter((_, i) => i !== 4 && i !== 17).map((e) => e.eventType).sort());
    const unpublished = logs.records('kx-events.unpublished');
    // The oversize event is too large for one log line: it is logged in parts, which recovery joins.
    expect(unpublished.map((r) => [r.reason, r.eventId ?? (r.event as TrackedEvent).eventId])).toEqual([
      ['invalid', events[4].eventId], ...unpublished.slice(1).map(() => ['invalid', events[17].eventId]),
    ]);
    expect(unpublished[1].problems).toMatch(/^event: must serialize to at most 262144 bytes/);
    expect(recoverUnpublishedEvents(unpublished.map((r) => JSON.stringify(r))).events.map((e) => e.event)).toEqual([events[4], events[17]]);
  });

  test('never builds a message SQS refuses: what cannot travel is logged as invalid, the edge characters SQS allows arrive intact', async () => {
    // SQS accepts only these in bodies and String attributes; moto does not check, so every message it got is checked here.
    const SQS_CARRIES = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
    const { queueUrl } = await freshQueues();
    const refused = [
      event(0, { clientId: 'acme\u0001' }),
      event(1, { entityType: 'item\u001F' }),
      event(2, { eventType: 'made\uFFFF' }),
      event(3, { metadata: { note: 'raw \uFFFE in JSON' } }),
      event(4, { metadata: { ['key\uFFFF']: 1 } }),
      event(5, { userId: 'user\uFFFE' }),
    ];
    const edge = event(6, {
      clientId: 'tab\tcr\rlf\n\uD7FF\uE000\uFFFD\u{10000}\u{10FFFF}',
      metadata: { control: 'bell \u0007, escaped by JSON', top: '\u{10FFFF}' },
    });
    expect(await publishEvents([...refused, edge], { queueUrl })).toEqual({ published: 1, unpublished: refused.length });
    const messages = await receiveAll(queueUrl, 1);
    expect(messages).toHaveLength(1);
    for (const message of messages) {
      expect(message.Body).toMatch(SQS_CARRIES);
      for (const attribute of Object.values(message.MessageAttributes ?? {})) expect(attribute.StringValue).toMatch(SQS_CARRIES);
    }
    expect(JSON.parse(messages[0].Body!)).toEqual(edge);
    expect(messages[0].MessageAttributes!.clientId.StringValue).toBe(edge.clientId);
    const unpublished = logs.records('kx-events.unpublished');
    expect(unpublished.map((r) => [r.reason, (r.event as TrackedEvent).eventId])).toEqual(refused.map((e) => ['invalid', e.eventId]));
    expect(unpublished.map((r) => String(r.problems).split(':')[0])).toEqual(['clientId', 'entityType', 'eventType', 'metadata.note', 'metadata["key\\uffff"]', 'userId']);
  });

  test('every publish without an sqsClient goes through one SQS client, kept for the container', async () => {
    const { queueUrl } = await freshQueues();
    process.env.EVENTS_QUEUE_URL = queueUrl;
    // Observed, not replaced: the spy calls the real send, on the SDK copy the package resolves.
    const send = jest.spyOn(PackageSQSClient.prototype, 'send');
    let clients: unknown[];
    try {
      await publishEvents([event(0)]);
      await publishEvents([event(1), event(2)]);
      const request = { headers: { 'x-client-id': 'client-42' }, body: JSON.stringify({ userId: 'user-8' }) };
      await new Checkout().placeOrder(request, {});
    } finally {
      clients = [...send.mock.contexts];
      send.mockRestore();
    }
    expect(clients).toHaveLength(3);
    expect(new Set(clients).size).toBe(1);
    expect(await receiveAll(queueUrl, 4)).toHaveLength(4);
  });

  test('large events are chunked by bytes too: five 250 KB events all arrive', async () => {
    // In one batch they would be 1.25 MB: more than SQS (256 KiB) and moto (1 MiB) accept.
    const { queueUrl } = await freshQueues();
    const events = Array.from({ length: 5 }, (_, i) => event(i, { metadata: { blob: 'y'.repeat(250_000) } }));
    expect(await publishEvents(events, { queueUrl })).toEqual({ published: 5, unpublished: 0 });
    expect(await receiveAll(queueUrl, 5)).toHaveLength(5);
  });

  test('an event that fits the message size only without its attributes is sent without them, intact', async () => {
    const { queueUrl } = await freshQueues();
    const base = event(0);
    const pad = MAX_EVENT_BYTES - Buffer.byteLength(JSON.stringify({ ...base, metadata: { pad: '' } }));
    const full = { ...base, metadata: { pad: 'p'.repeat(pad) } }; // exactly MAX_EVENT_BYTES of body
    const small = event(1);
    expect(await publishEvents([full, small], { queueUrl })).toEqual({ published: 2, unpublished: 0 });
    const byType = new Map((await receiveAll(queueUrl, 2)).map((m) => [JSON.parse(m.Body!).eventType, m]));
    expect(Buffer.byteLength(byType.get('item_0')!.Body!)).toBe(MAX_EVENT_BYTES);
    expect(JSON.parse(byType.get('item_0')!.Body!)).toEqual(full);
    expect(byType.get('item_0')!.MessageAttributes).toBeUndefined();
    expect(Object.keys(byType.get('item_1')!.MessageAttributes!).sort()).toEqual(['clientId', 'entityType', 'eventType']);
  });

  test('a chunk the queue rejects is logged event by event; the other chunks arrive', async () => {
    // A queue whose maximum message size is 1 KiB rejects the whole batch that holds a 2 KB message.
    const queueUrl = (await sqs.send(new CreateQueueCommand({
      QueueName: `kx-small-${randomUUID().slice(0, 8)}`, Attributes: { MaximumMessageSize: '1024' },
    }))).QueueUrl!;
    const events = Array.from({ length: 25 }, (_, i) => event(i));
    events[13] = event(13, { metadata: { blob: 'z'.repeat(2000) } });
    const summary = await publishEvents(events, { queueUrl });
    expect(summary).toEqual({ published: 15, unpublished: 10 });
    const failed = logs.records('kx-events.unpublished');
    expect(failed.map((r) => (r.event as TrackedEvent).eventType).sort()).toEqual(events.slice(10, 20).map((e) => e.eventType).sort());
    expect(new Set(failed.map((r) => r.reason))).toEqual(new Set(['failed']));
    const arrived = (await receiveAll(queueUrl, 15)).map((m) => JSON.parse(m.Body!).eventType).sort();
    expect(arrived).toEqual([...events.slice(0, 10), ...events.slice(20)].map((e) => e.eventType).sort());
  });

  /**
   * A client whose batch sends fail some entries, as SQS does under partial failure. moto never fails
   * an entry of a valid batch, so this fault is injected: the middleware takes the failing entries out
   * of the real request (moto never gets them) and reports them as Failed in moto's real response.
   * `fail(attempt, eventType)` says how an entry fails on that attempt, if it does.
   */
  function failingClient(fail: (attempt: number, eventType: string) => { senderFault: boolean } | undefined) {
    const client = sqsClient();
    const seen: string[][] = [];
    client.middlewareStack.add((next) => async (args) => {
      const input = args.input as Partial<SendMessageBatchCommandInput>;
      if (!input.Entries) return next(args);
      const attempt = seen.length + 1;
      const types = new Map(input.Entries.map((e) => [e.Id, JSON.parse(e.MessageBody!).eventType as string]));
      seen.push([...types.values()]);
      const failing = input.Entries.filter((e) => fail(attempt, types.get(e.Id)!));
      const passing = input.Entries.filter((e) => !failing.includes(e));
      const out = passing.length > 0
        ? await next({ ...args, input: { ...input, Entries: passing } as SendMessageBatchCommandInput }) as { output: { Failed?: unknown[] } }
        : { output: { $metadata: {}, Successful: [] } as { Failed?: unknown[] } }; // an empty batch is not a request
      out.output.Failed = failing.map((e) => ({ Id: e.Id, Code: 'InternalError', Message: 'injected', SenderFault: fail(attempt, types.get(e.Id)!)!.senderFault }));
      return out as never;
    }, { step: 'initialize', name: 'injectBatchFailures' });
    return { client, seen };
  }

  test('entries SQS failed on its side are sent again within the deadline, and arrive once', async () => {
    const { queueUrl } = await freshQueues();
    const { client, seen } = failingClient((attempt, type) => ((type === 'item_3' && attempt === 1) || (type === 'item_7' && attempt <= 2) ? { senderFault: false } : undefined));
    const events = Array.from({ length: 10 }, (_, i) => event(i));

    expect(await publishEvents(events, { queueUrl, sqsClient: client })).toEqual({ published: 10, unpublished: 0 });

    expect(seen.map((types) => types.sort())).toEqual([events.map((e) => e.eventType).sort(), ['item_3', 'item_7'], ['item_7']]);
    expect(logs.records('kx-events.unpublished')).toEqual([]);
    const arrived = (await receiveAll(queueUrl, 11)).map((m) => JSON.parse(m.Body!).eventType).sort();
    expect(arrived).toEqual(events.map((e) => e.eventType).sort());
  });

  test('an entry still failing after 3 sends, and one failed for its own fault (not sent again), are logged as rejected', async () => {
    const { queueUrl } = await freshQueues();
    const { client, seen } = failingClient((_, type) => (type === 'item_3' ? { senderFault: false } : type === 'item_7' ? { senderFault: true } : undefined));
    const events = Array.from({ length: 10 }, (_, i) => event(i));

    expect(await publishEvents(events, { queueUrl, sqsClient: client })).toEqual({ published: 8, unpublished: 2 });

    expect(seen.slice(1)).toEqual([['item_3'], ['item_3']]);
    const rejected = logs.records('kx-events.unpublished');
    expect(rejected.map((r) => [r.reason, (r.event as TrackedEvent).eventId, r.attempts]).sort()).toEqual([
      ['rejected', events[3].eventId, 3], ['rejected', events[7].eventId, 1],
    ].sort());
    expect(rejected.find((r) => (r.event as TrackedEvent).eventId === events[7].eventId)!.error)
      .toEqual({ name: 'InternalError', message: 'injected', senderFault: true });
    expect((await receiveAll(queueUrl, 9)).map((m) => JSON.parse(m.Body!).eventType).sort())
      .toEqual(events.filter((_, i) => i !== 3 && i !== 7).map((e) => e.eventType).sort());
  });

  test('the deadline bounds the sends again: an entry still pending when it passes is logged as a timeout, once', async () => {
    const { queueUrl } = await freshQueues();
    const { client, seen } = failingClient((attempt, type) => (type === 'item_3' && attempt === 1 ? { senderFault: false } : undefined));
    // The second send reaches a queue that never answers (inside the injection): the deadline ends it.
    client.middlewareStack.add((next) => (args) => (seen.length === 2 ? new Promise<never>(() => undefined) : next(args)),
      { step: 'initialize', name: 'silenceSecondSend', priority: 'low' });
    const events = Array.from({ length: 10 }, (_, i) => event(i));

    expect(await publishEvents(events, { queueUrl, sqsClient: client, timeoutMs: 500 })).toEqual({ published: 9, unpublished: 1 });

    expect(seen.slice(1)).toEqual([['item_3']]);
    expect(logs.records('kx-events.unpublished')).toEqual([
      expect.objectContaining({ reason: 'timeout', event: events[3], error: expect.objectContaining({ name: 'PublishDeadlineError' }) }),
    ]);
  });
});
