import { LogRecorder, recordLogs } from './log-records';
import { validateTrackedEvent } from '../src/contract';
import { CLIENT_ID_HEADERS, clientIdLookedIn, extractClientId } from '../src/extraction';
import { createTrackedEvent } from '../src/tracked-event';

let logs: LogRecorder;
beforeEach(() => { logs = recordLogs(); });
afterEach(() => logs.restore());

describe('createTrackedEvent(entityType, eventType, event, context, extra)', () => {
  test('builds a valid event from the request, the context and extra', () => {
    const event = { headers: { 'X-Client-Id': 'acme', 'X-Previous-Event-Id': '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b' } };
    const tracked = createTrackedEvent('payment', 'payment_completed', event, { awsRequestId: 'r' }, {
      userId: 'user_123',
      entityId: 'payment_456',
      pointsAwarded: 50,
      metadata: { amount: 99.99, currency: 'USD' },
    });
    expect(tracked).toEqual({
      eventId: expect.any(String),
      clientId: 'acme',
      previousEventId: '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b',
      entityType: 'payment',
      eventType: 'payment_completed',
      occurredAt: expect.any(String),
      userId: 'user_123',
      entityId: 'payment_456',
      pointsAwarded: 50,
      metadata: { amount: 99.99, currency: 'USD' },
    });
    expect(validateTrackedEvent(tracked)).toEqual([]);
    expect(logs.records()).toEqual([]);
  });

  test('occurredAt is now, in ISO 8601 UTC', () => {
    const before = Date.now();
    const tracked = createTrackedEvent('a', 'b', { clientId: 'acme' })!;
    expect(tracked.occurredAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Date.parse(tracked.occurredAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(tracked.occurredAt)).toBeLessThanOrEqual(Date.now());
  });

  test('extra wins over extraction; undefined extra fields do not erase; entityType and eventType come from the arguments', () => {
    const request = { clientId: 'extracted', headers: { 'X-Previous-Event-Id': '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b' } };
    const tracked = createTrackedEvent('user', 'user_created', request, undefined, {
      clientId: 'explicit', userId: undefined, previousEventId: undefined, eventType: 'ignored', eventId: '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d',
    })!;
    expect(tracked).toMatchObject({ clientId: 'explicit', eventType: 'user_created', eventId: '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d' });
    expect(tracked).not.toHaveProperty('userId');
    // An extracted value survives an undefined in extra.
    expect(tracked.previousEventId).toBe('6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b');
  });

  test('returns null and logs one warning when there is no clientId', () => {
    expect(createTrackedEvent('user', 'user_created', { headers: {}, body: 'x' }, {})).toBeNull();
    expect(logs.records()).toEqual([expect.objectContaining({ level: 'WARN', marker: 'kx-events.no-client-id', entityType: 'user', eventType: 'user_created' })]);
    // It names every source extraction reads, the Lambda context's client context (the last) included.
    expect(logs.records()[0].lookedIn).toBe(
      'headers X-Client-Id, Client-Id; body.clientId; requestContext.authorizer[.lambda|.jwt.claims].clientId; event.clientId; context.clientContext.custom.clientId');
  });

  test('the warning is built from what extraction reads: each header it matches is named', () => {
    createTrackedEvent('user', 'user_created', {});
    const lookedIn = logs.records('kx-events.no-client-id')[0].lookedIn;
    expect(lookedIn).toBe(clientIdLookedIn('request'));
    expect(CLIENT_ID_HEADERS.length).toBeGreaterThan(0);
    for (const header of CLIENT_ID_HEADERS) {
      expect(extractClientId({ headers: { [header]: 'acme' } })).toBe('acme');
      expect(lookedIn).toContain(header);
    }
  });
});
