/**
 * Idempotent producer ids: a handler derives a stable eventId through `extra`, so a retried request or a
 * redelivered message publishes its event again under the same id (and the consumer stores it once).
 */
import middy from '@middy/core';
import type { SQSEvent } from 'aws-lambda';
import { trackEachTest } from './tracking-harness';
import { validateTrackedEvent } from '../src/contract';
import { EventTracking } from '../src/decorator';
import { withEventTracking } from '../src/event-tracking';
import { eventTracking } from '../src/middy';
import { eventIdFrom } from '../src/stable-event-id';

const tracking = trackEachTest();

describe('eventIdFrom', () => {
  test('the same parts give the same valid UUID (version 5); other parts, or the same text split otherwise, another', () => {
    const id = eventIdFrom('acme', 'key-1');
    expect(eventIdFrom('acme', 'key-1')).toBe(id);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(validateTrackedEvent({ eventId: id, clientId: 'acme', entityType: 'order', eventType: 'order_placed', occurredAt: '2025-01-31T12:00:00Z' })).toEqual([]);
    expect(new Set([id, eventIdFrom('acme', 'key-2'), eventIdFrom('acme-key-1'), eventIdFrom('acme', 'key', '1'), eventIdFrom('other', 'key-1')]).size).toBe(5);
  });

  test("is the standard name-based UUID: Python's uuid.uuid5 over the parts as a JSON array gives the same id", () => {
    // python3 -c 'import uuid,json; print(uuid.uuid5(uuid.UUID("7dcbea4f-5c67-47c5-a59b-df7d26b10b81"), json.dumps(["acme","key-1"], separators=(",",":"), ensure_ascii=False)))'
    expect(eventIdFrom('acme', 'key-1')).toBe('f46e17e8-f1a9-5b3b-907c-a822f6723471');
  });

  test('needs a part', () => {
    expect(() => eventIdFrom()).toThrow('eventIdFrom needs at least one part');
  });
});

describe('a stable eventId through extra', () => {
  test('a retried API request with the same Idempotency-Key publishes the same eventId; another key, another id', async () => {
    const createOrder = withEventTracking(async (_event: { headers: Record<string, string> }) => ({ statusCode: 201 }), 'order', 'order_placed', {
      // Scoped by the tenant: two tenants' keys must not meet.
      eventId: (_result, event) => eventIdFrom(event.headers['X-Client-Id'], event.headers['Idempotency-Key']),
    });
    const request = (key: string) => ({ headers: { 'X-Client-Id': 'acme', 'Idempotency-Key': key } });
    await createOrder(request('k-1'));
    await createOrder(request('k-1')); // the client retries
    await createOrder(request('k-2'));
    const [first, retry, other] = tracking.events.map((e) => e.eventId);
    expect(retry).toBe(first);
    expect(other).not.toBe(first);
  });

  test("a Lambda retry (the same context's awsRequestId) publishes the same eventId, through the decorator", async () => {
    class Jobs {
      @EventTracking('job', 'job_done', { eventId: (_result, _event, context) => eventIdFrom(context.awsRequestId) })
      async run(_event: unknown, _context: unknown) { return 'done'; }
    }
    await new Jobs().run({ clientId: 'acme' }, { awsRequestId: 'req-1' });
    await new Jobs().run({ clientId: 'acme' }, { awsRequestId: 'req-1' });
    await new Jobs().run({ clientId: 'acme' }, { awsRequestId: 'req-2' });
    const ids = tracking.events.map((e) => e.eventId);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  test('a redelivered SQS message (the same messageId) publishes the same eventId, through the middleware', async () => {
    const handler = middy(async (_event: SQSEvent) => ({ batchItemFailures: [] }))
      .use(eventTracking<SQSEvent>('import', 'imported', { clientId: 'acme', eventId: (_result, event) => eventIdFrom(event.Records[0].messageId) }));
    const delivery = { Records: [{ messageId: 'm-1', body: '{}' }] } as SQSEvent;
    await handler(delivery, {} as never);
    await handler(delivery, {} as never);
    expect(tracking.events).toHaveLength(2);
    expect(tracking.events[1].eventId).toBe(tracking.events[0].eventId);
  });

  describe('a constant eventId is refused when the handler is wrapped: every event would share it', () => {
    const constant = { eventId: '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b' };
    const message = /^extra\.eventId must be a function of \(result, event, context\).*got the constant "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"/;

    test('by the decorator', () => {
      expect(() => {
        class Orders {
          @EventTracking('order', 'order_placed', constant)
          async place(_event: unknown) { return 'ok'; }
        }
        return Orders;
      }).toThrow(message);
    });

    test('by the wrapper and the middleware', () => {
      expect(() => withEventTracking(async () => 'ok', 'order', 'order_placed', constant)).toThrow(message);
      expect(() => eventTracking('order', 'order_placed', constant)).toThrow(message);
      expect(() => eventTracking('order', 'order_placed', constant)).toThrow(TypeError);
    });
  });
});
