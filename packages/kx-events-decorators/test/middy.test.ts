import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { trackEachTest } from './tracking-harness';
import { eventTracking } from '../src/middy';

const tracking = trackEachTest();

const context = { awsRequestId: 'r-1' } as Context;
const request = { headers: { 'x-client-id': 'acme' }, body: '{}' };

describe('eventTracking (Middy middleware)', () => {
  test('publishes after the handler succeeds, with extra functions of (result, event), and returns the result unchanged', async () => {
    const result = { statusCode: 201, body: '{"userId":"u-1"}' };
    const handler = middy(async () => result).use(eventTracking('user', 'user_created', {
      entityId: (response: typeof result) => JSON.parse(response.body).userId,
      metadata: (_response: typeof result, event: typeof request) => ({ body: event.body }),
    }));
    expect(await handler(request, context)).toBe(result);
    expect(tracking.events).toEqual([expect.objectContaining({
      clientId: 'acme', entityType: 'user', eventType: 'user_created', entityId: 'u-1', metadata: { body: '{}' },
    })]);
  });

  test("the Lambda context reaches extraction: a clientId from the context's client context", async () => {
    const handler = middy(async () => 'done').use(eventTracking('user', 'user_created'));
    await handler({}, { ...context, clientContext: { custom: { clientId: 'mobile' } } } as unknown as Context);
    expect(tracking.events).toEqual([expect.objectContaining({ clientId: 'mobile' })]);
  });

  test('a statusCode of 400 or more publishes nothing', async () => {
    const handler = middy(async () => ({ statusCode: 422, body: 'invalid' })).use(eventTracking('user', 'user_created'));
    await handler(request, context);
    expect(tracking.events).toEqual([]);
  });

  test('a handler error propagates unchanged and publishes nothing', async () => {
    const error = new Error('boom');
    const handler = middy(async () => { throw error; }).use(eventTracking('user', 'user_created'));
    await expect(handler(request, context)).rejects.toBe(error);
    expect(tracking.events).toEqual([]);
  });

  test('no clientId: the result is returned and one warning is logged', async () => {
    const handler = middy(async () => 'done').use(eventTracking('user', 'user_created'));
    await expect(handler({ headers: {} }, context)).resolves.toBe('done');
    expect(tracking.events).toEqual([]);
    expect(tracking.records().map((r) => r.marker)).toEqual(['kx-events.no-client-id']);
  });
});
