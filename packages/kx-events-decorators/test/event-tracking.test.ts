import { trackEachTest } from './tracking-harness';
import { validateTrackedEvent } from '../src/contract';
import { withEventTracking } from '../src/event-tracking';

const tracking = trackEachTest();

const request = { headers: { 'X-Client-Id': 'acme' }, body: JSON.stringify({ name: 'Ada' }) };
const context = { awsRequestId: 'r-1' };

describe('withEventTracking', () => {
  test('a successful handler publishes one valid event built from the request, and returns its own result unchanged', async () => {
    const result = { statusCode: 201, body: '{"id":"u1"}' };
    const handler = withEventTracking(async (_event: unknown, _context: unknown) => result, 'user', 'user_created', { source: 'api', pointsAwarded: 100 });
    const before = Date.now();
    expect(await handler(request, context)).toBe(result);
    expect(tracking.events).toHaveLength(1);
    const [event] = tracking.events;
    expect(validateTrackedEvent(event)).toEqual([]);
    expect(event).toEqual({
      eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      clientId: 'acme',
      entityType: 'user',
      eventType: 'user_created',
      occurredAt: expect.any(String),
      source: 'api',
      pointsAwarded: 100,
    });
    expect(Date.parse(event.occurredAt)).toBeGreaterThanOrEqual(before - 1);
    expect(result).toEqual({ statusCode: 201, body: '{"id":"u1"}' });
  });

  test('each invocation gets its own eventId', async () => {
    const handler = withEventTracking(async (_event: unknown) => 'ok', 'user', 'user_seen');
    await handler(request);
    await handler(request);
    expect(new Set(tracking.events.map((e) => e.eventId)).size).toBe(2);
  });

  test('a synchronous handler works too, and its result is awaited', async () => {
    const handler = withEventTracking((event: { clientId: string }) => ({ done: event.clientId }), 'job', 'job_done');
    await expect(handler({ clientId: 'acme' })).resolves.toEqual({ done: 'acme' });
    expect(tracking.events.map((e) => e.clientId)).toEqual(['acme']);
  });

  test.each([400, 404, 500, 503])('an API Gateway result with statusCode %i is not a success: no event', async (statusCode) => {
    const result = { statusCode, body: 'no' };
    const handler = withEventTracking(async (_event: unknown) => result, 'user', 'user_created');
    expect(await handler(request)).toBe(result);
    expect(tracking.events).toEqual([]);
  });

  test.each([200, 204, 302, 399])('statusCode %i is a success', async (statusCode) => {
    await withEventTracking(async (_event: unknown) => ({ statusCode }), 'user', 'user_created')(request);
    expect(tracking.events).toHaveLength(1);
  });

  test('a handler error propagates unchanged (the same object) and no event is sent', async () => {
    const error = new TypeError('boom');
    const handler = withEventTracking(async (_event: unknown) => { throw error; }, 'user', 'user_created');
    await expect(handler(request)).rejects.toBe(error);
    const syncHandler = withEventTracking((_event: unknown) => { throw error; }, 'user', 'user_created');
    await expect(syncHandler(request)).rejects.toBe(error);
    expect(tracking.events).toEqual([]);
    expect(tracking.records()).toEqual([]);
  });

  test('extra fields may be functions of (result, event)', async () => {
    const handler = withEventTracking(
      async (_event: { clientId: string; plan: string }) => ({ userId: 'u-7', created: true }),
      'user', 'user_created',
      {
        entityId: (result) => result.userId,
        metadata: (result, event) => ({ plan: event.plan, created: result.created }),
        userId: () => undefined,
        campaignId: 'spring',
      },
    );
    await handler({ clientId: 'acme', plan: 'pro' });
    expect(tracking.events[0]).toMatchObject({ entityId: 'u-7', metadata: { plan: 'pro', created: true }, campaignId: 'spring' });
    expect(tracking.events[0]).not.toHaveProperty('userId');
  });

  test('an extra function that throws: the handler still returns its result, no event, one warning naming the field', async () => {
    const handler = withEventTracking(async (_event: unknown) => 'result', 'user', 'user_created', {
      entityId: () => { throw new Error('no id'); },
    });
    await expect(handler(request)).resolves.toBe('result');
    expect(tracking.events).toEqual([]);
    expect(tracking.records()).toEqual([expect.objectContaining({
      level: 'WARN',
      marker: 'kx-events.tracking-failed',
      error: { name: 'ExtraFieldError', message: 'extra.entityId threw: no id', data: { field: 'entityId' } },
    })]);
  });

  test('no clientId: the result is returned, no event, exactly one structured warning', async () => {
    const handler = withEventTracking(async (_event: unknown) => 'result', 'user', 'user_created');
    await expect(handler({ headers: {} })).resolves.toBe('result');
    expect(tracking.events).toEqual([]);
    expect(tracking.records()).toEqual([expect.objectContaining({
      level: 'WARN', marker: 'kx-events.no-client-id', entityType: 'user', eventType: 'user_created',
    })]);
  });

  test('an invalid event is not published; it is logged whole as unpublished and the result is unchanged', async () => {
    const handler = withEventTracking(async (_event: unknown) => 'result', 'user', 'x'.repeat(49));
    await expect(handler(request)).resolves.toBe('result');
    expect(tracking.events).toEqual([]);
    const [record] = tracking.records('kx-events.unpublished');
    expect(record).toMatchObject({ level: 'ERROR', reason: 'invalid', problems: 'eventType: must be 1..48 characters, got 49' });
    expect(record.event).toMatchObject({ clientId: 'acme', eventType: 'x'.repeat(49) });
  });

  test('keeps `this` and every argument, and the handler name', async () => {
    class Service {
      prefix = 'hello';
      async greet(event: { clientId: string }, _context: unknown, extra: string) { return `${this.prefix} ${event.clientId} ${extra}`; }
    }
    const service = new Service();
    const greet = withEventTracking(service.greet, 'greeting', 'greeted');
    await expect(greet.call(service, { clientId: 'acme' }, context, '!')).resolves.toBe('hello acme !');
    expect(greet.name).toBe('greet');
  });

  test('previousEventId from the request is carried; explicit extra wins over extraction', async () => {
    const previous = '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b';
    await withEventTracking(async (_event: unknown) => 'ok', 'user', 'user_seen')({ clientId: 'acme', previousEventId: previous });
    await withEventTracking(async (_event: unknown) => 'ok', 'user', 'user_seen', { clientId: 'explicit' })({ clientId: 'acme' });
    expect(tracking.events.map((e) => [e.clientId, e.previousEventId])).toEqual([['acme', previous], ['explicit', undefined]]);
  });
});
