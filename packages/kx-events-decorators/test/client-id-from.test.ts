/**
 * Behind an authorizer, the caller must not choose the clientId: `clientIdFrom` (an option of every
 * front, and EVENTS_CLIENT_ID_FROM) makes the authorizer's value win, or ignores what the caller sends.
 */
import middy from '@middy/core';
import { trackEachTest } from './tracking-harness';
import { EventTracking } from '../src/decorator';
import { withEventTracking } from '../src/event-tracking';
import { clientIdLookedIn, extractClientId, extractPreviousEventId } from '../src/extraction';
import { eventTracking } from '../src/middy';
import { createTrackedEvent } from '../src/tracked-event';

const tracking = trackEachTest();
afterEach(() => { delete process.env.EVENTS_CLIENT_ID_FROM; });

const OURS = '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b';
const THEIRS = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';

/** A caller authenticated as tenant "acme" who sends another tenant's clientId, and links into its chain. */
const spoofed = (authorizer: Record<string, unknown> = { clientId: 'acme' }) => ({
  headers: { 'X-Client-Id': 'victim', 'X-Previous-Event-Id': THEIRS },
  body: JSON.stringify({ clientId: 'victim-too' }),
  requestContext: { authorizer },
});

describe('clientIdFrom', () => {
  test("'request' (the default) keeps the documented order: the header wins over the authorizer", () => {
    expect(extractClientId(spoofed())).toBe('victim');
    expect(extractClientId(spoofed(), undefined, { clientIdFrom: 'request' })).toBe('victim');
  });

  test("'authorizer-first': the authorizer's value wins whenever the request has one, in each of its places", () => {
    for (const authorizer of [{ clientId: 'acme' }, { lambda: { clientId: 'acme' } }, { jwt: { claims: { clientId: 'acme' } } }]) {
      expect(extractClientId(spoofed(authorizer), undefined, { clientIdFrom: 'authorizer-first' })).toBe('acme');
    }
    // Without an authorizer value, the documented order.
    expect(extractClientId(spoofed({}), undefined, { clientIdFrom: 'authorizer-first' })).toBe('victim');
    expect(extractPreviousEventId({ ...spoofed({ previousEventId: OURS }) }, { clientIdFrom: 'authorizer-first' })).toBe(OURS);
  });

  test("'trusted-only': headers and body are never read, for clientId and previousEventId", () => {
    const options = { clientIdFrom: 'trusted-only' } as const;
    expect(extractClientId(spoofed(), undefined, options)).toBe('acme');
    expect(extractClientId(spoofed({}), undefined, options)).toBeNull();
    expect(extractClientId({ ...spoofed({}), clientId: 'worker' }, undefined, options)).toBe('worker');
    expect(extractClientId(spoofed({}), { clientContext: { custom: { clientId: 'direct' } } }, options)).toBe('direct');
    expect(extractPreviousEventId(spoofed(), options)).toBeNull();
    expect(extractPreviousEventId(spoofed({ clientId: 'acme', previousEventId: OURS }), options)).toBe(OURS);
  });

  test('the no-client-id warning names the sources the mode reads, in its order', () => {
    expect(createTrackedEvent('user', 'user_created', spoofed({}), undefined, undefined, { clientIdFrom: 'trusted-only' })).toBeNull();
    expect(tracking.records('kx-events.no-client-id')[0].lookedIn).toBe(clientIdLookedIn('trusted-only'));
    expect(clientIdLookedIn('trusted-only')).toBe(
      'requestContext.authorizer[.lambda|.jwt.claims].clientId; event.clientId; context.clientContext.custom.clientId');
  });

  test('EVENTS_CLIENT_ID_FROM sets the mode; the option wins over it', () => {
    process.env.EVENTS_CLIENT_ID_FROM = 'authorizer-first';
    expect(extractClientId(spoofed())).toBe('acme');
    expect(extractClientId(spoofed(), undefined, { clientIdFrom: 'request' })).toBe('victim');
  });

  test('an invalid setting is warned about once and read as the strictest mode, trusted-only', () => {
    process.env.EVENTS_CLIENT_ID_FROM = 'authorizer_only';
    expect(extractClientId(spoofed({}))).toBeNull();
    expect(extractClientId(spoofed())).toBe('acme');
    expect(tracking.records('kx-events.invalid-setting')).toEqual([expect.objectContaining({
      setting: 'EVENTS_CLIENT_ID_FROM',
      given: 'authorizer_only',
      message: 'EVENTS_CLIENT_ID_FROM must be one of request, authorizer-first, trusted-only: using trusted-only, the strictest',
    })]);
  });

  describe('every front takes it', () => {
    const handler = async (_event: unknown, _context: unknown) => ({ statusCode: 200 });
    const fronts: Array<[string, (options: { clientIdFrom: 'authorizer-first' | 'trusted-only' }) => (event: unknown) => Promise<unknown>]> = [
      ['withEventTracking', (options) => (event) => withEventTracking(handler, 'order', 'order_placed', undefined, options)(event, {})],
      ['@EventTracking', (options) => {
        class Orders {
          @EventTracking('order', 'order_placed', undefined, options)
          async place(_event: unknown, _context: unknown) { return { statusCode: 200 }; }
        }
        return (event) => new Orders().place(event, {});
      }],
      ['the Middy middleware', (options) => (event) => middy(handler).use(eventTracking('order', 'order_placed', undefined, options))(event, {} as never)],
    ];

    test.each(fronts)('%s: the authorizer wins, and a caller-sent previousEventId is ignored under trusted-only', async (_name, front) => {
      await front({ clientIdFrom: 'authorizer-first' })(spoofed());
      await front({ clientIdFrom: 'trusted-only' })(spoofed());
      expect(tracking.events.map((e) => [e.clientId, e.previousEventId])).toEqual([['acme', THEIRS], ['acme', undefined]]);
    });
  });
});
