/**
 * The deadline proof: against an endpoint that accepts connections and never answers, a decorated
 * handler returns its own result once the deadline passes, nothing is thrown, and the event is
 * in the log record. Everything else is real: the package's own SQS client (created lazily, pointed
 * at the endpoint by AWS_ENDPOINT_URL), the SDK, and a TCP socket.
 */
import * as net from 'net';
import { createTrackedEvent, EventTracking, publishEvent, type TrackedEvent } from '../../packages/kx-events-decorators/src';
import { RESULT_MARGIN_MS } from '../../packages/kx-events-decorators/src/event-tracking';
import { recordLogs, type LogRecorder } from '../../packages/kx-events-decorators/test/log-records';

const DEADLINE_MS = 400;
/** Without the deadline, a send to the silent endpoint never ends: any bound proves it. This one is loose, for loaded machines. */
const SLACK_MS = 1_000;

let server: net.Server;
const sockets = new Set<net.Socket>();
let requestsSeen = 0;
let logs: LogRecorder;
const saved = { ...process.env };

beforeAll(async () => {
  server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => { requestsSeen++; }); // read the request, answer nothing
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${port}`;
  process.env.EVENTS_QUEUE_URL = `http://127.0.0.1:${port}/000000000000/silent`;
  process.env.EVENTS_PUBLISH_TIMEOUT_MS = String(DEADLINE_MS);
});

afterAll(async () => {
  process.env = saved;
  sockets.forEach((socket) => socket.destroy());
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => { logs = recordLogs(); });
afterEach(() => logs.restore());

class Signup {
  @EventTracking('user', 'user_signed_up', { source: 'api', metadata: { plan: 'pro' } })
  async signUp(_event: unknown, _context: unknown) {
    return { statusCode: 201, body: '{"ok":true}' };
  }
}

describe('a silent queue endpoint', () => {
  test.each([1, 2])('invocation %i: returns its own result once the deadline passes, throws nothing, logs the whole event', async (invocation) => {
    const seenBefore = requestsSeen;
    const started = process.hrtime.bigint();
    const result = await new Signup().signUp({ headers: { 'X-Client-Id': `acme-${invocation}` } }, {});
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;

    expect(result).toEqual({ statusCode: 201, body: '{"ok":true}' });
    expect(elapsedMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
    // It did wait for the queue: the request reached the silent server, and the deadline, not an error, ended it.
    expect(requestsSeen).toBeGreaterThan(seenBefore);
    expect(elapsedMs).toBeGreaterThanOrEqual(DEADLINE_MS - 5);

    const records = logs.records('kx-events.unpublished');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      level: 'ERROR',
      reason: 'timeout',
      error: { name: 'PublishDeadlineError', data: { timeoutMs: DEADLINE_MS } },
    });
    const event = records[0].event as TrackedEvent;
    expect(event).toEqual({
      eventId: expect.any(String),
      clientId: `acme-${invocation}`,
      entityType: 'user',
      eventType: 'user_signed_up',
      occurredAt: expect.any(String),
      source: 'api',
      metadata: { plan: 'pro' },
    });
  });

  // The deadline is cut to the invocation's remaining time less the margin, so the result is returned in time.
  test.each([
    ['less than the deadline', DEADLINE_MS, DEADLINE_MS - RESULT_MARGIN_MS],
    ['less than the margin', RESULT_MARGIN_MS / 2, 1],
    ['more than the deadline', 60_000, DEADLINE_MS],
  ])('an invocation with %s left (%i ms): the publish gives up after %i ms', async (_, remainingMs, timeoutMs) => {
    const context = { getRemainingTimeInMillis: () => remainingMs };
    const result = await new Signup().signUp({ headers: { 'X-Client-Id': 'acme' } }, context);

    expect(result).toEqual({ statusCode: 201, body: '{"ok":true}' });
    expect(logs.records('kx-events.unpublished')).toEqual([expect.objectContaining({
      reason: 'timeout', error: { name: 'PublishDeadlineError', data: { timeoutMs }, message: expect.any(String) },
    })]);
  });

  test('a timeoutMs option overrides EVENTS_PUBLISH_TIMEOUT_MS, and bounds the wait the same way', async () => {
    const timeoutMs = DEADLINE_MS / 2;
    const tracked = createTrackedEvent('user', 'user_signed_up', { clientId: 'acme' })!;
    const started = process.hrtime.bigint();
    await expect(publishEvent(tracked, { timeoutMs })).resolves.toBe(false);
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;

    expect(elapsedMs).toBeLessThan(timeoutMs + SLACK_MS);
    expect(elapsedMs).toBeGreaterThanOrEqual(timeoutMs - 5);
    expect(logs.records('kx-events.unpublished')).toEqual([expect.objectContaining({
      reason: 'timeout', error: expect.objectContaining({ data: { timeoutMs } }), event: tracked,
    })]);
  });
});
