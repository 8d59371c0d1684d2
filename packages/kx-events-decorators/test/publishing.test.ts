import * as net from 'net';
import { SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { LogRecorder, recordLogs } from './log-records';
import { DEFAULT_PUBLISH_TIMEOUT_MS, publishEvent, publishEvents, publishTimeoutMs } from '../src/publishing';
import { createTrackedEvent } from '../src/tracked-event';

let logs: LogRecorder;
beforeEach(() => { logs = recordLogs(); });
afterEach(() => {
  logs.restore();
  delete process.env.EVENTS_QUEUE_URL;
  delete process.env.EVENTS_PUBLISH_TIMEOUT_MS;
});

const event = (eventType = 'thing_done') => createTrackedEvent('thing', eventType, { clientId: 'acme' })!;

/** A local port with nothing listening: a send fails at once, for real. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function clientFor(port: number): SQSClient {
  return new SQSClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
}

describe('publishEvent without EVENTS_QUEUE_URL', () => {
  test('is a no-op that resolves false, after exactly one warning for the container', async () => {
    await expect(publishEvent(event())).resolves.toBe(false);
    await expect(publishEvents([event(), event()])).resolves.toEqual({ published: 0, unpublished: 0 });
    expect(logs.records()).toEqual([expect.objectContaining({ level: 'WARN', marker: 'kx-events.no-queue-url' })]);
  });
});

describe('publishing failures', () => {
  test('a send that fails is logged once, whole, under kx-events.unpublished, and publishEvent resolves false', async () => {
    const port = await closedPort();
    const tracked = event();
    await expect(publishEvent(tracked, { queueUrl: `http://127.0.0.1:${port}/000000000000/q`, sqsClient: clientFor(port) })).resolves.toBe(false);
    const records = logs.records('kx-events.unpublished');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 'ERROR', reason: 'failed', event: tracked });
    expect(records[0].error).toEqual(expect.objectContaining({ name: expect.any(String), message: expect.any(String) }));
  });

  test('publishEvents logs each event of a failed chunk once, and counts them', async () => {
    const port = await closedPort();
    const events = Array.from({ length: 12 }, (_, i) => event(`e${i}`));
    const summary = await publishEvents(events, { queueUrl: `http://127.0.0.1:${port}/000000000000/q`, sqsClient: clientFor(port) });
    expect(summary).toEqual({ published: 0, unpublished: 12 });
    expect(logs.records('kx-events.unpublished').map((r) => (r.event as { eventType: string }).eventType).sort())
      .toEqual(events.map((e) => e.eventType).sort());
  });

  test('a retry whose pause outlasts the deadline is not sent: the entry is logged as a timeout, once', async () => {
    // The fault, injected: the queue fails one entry on its side, so it is due to be sent again after a pause.
    const client = clientFor(await closedPort());
    const sends: string[][] = [];
    client.middlewareStack.add(() => async (args) => {
      const entries = (args.input as SendMessageBatchCommandInput).Entries!;
      sends.push(entries.map((entry) => JSON.parse(entry.MessageBody!).eventType));
      const [failing, ...passing] = entries;
      const output = {
        $metadata: {},
        Successful: passing.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })),
        Failed: [{ Id: failing.Id, Code: 'InternalError', Message: 'injected', SenderFault: false }],
      };
      return { output } as never;
    }, { step: 'initialize', name: 'failFirstEntry' });
    const events = [event('first'), event('second')];
    jest.useFakeTimers();
    try {
      // The deadline (1 ms) passes during the pause before the retry (25 ms).
      const summary = publishEvents(events, { queueUrl: 'http://127.0.0.1:9/0/q', sqsClient: client, timeoutMs: 1 });
      await jest.runAllTimersAsync();
      expect(await summary).toEqual({ published: 1, unpublished: 1 });
    } finally {
      jest.useRealTimers();
    }
    expect(sends).toEqual([['first', 'second']]);
    expect(logs.records('kx-events.unpublished')).toEqual([
      expect.objectContaining({ reason: 'timeout', event: events[0], error: expect.objectContaining({ name: 'PublishDeadlineError' }) }),
    ]);
  });

  test('an invalid event is not sent: it is logged with its problems', async () => {
    process.env.EVENTS_QUEUE_URL = 'http://127.0.0.1:9/000000000000/never-used';
    const invalid = { ...event(), clientId: '' };
    await expect(publishEvent(invalid)).resolves.toBe(false);
    expect(logs.records('kx-events.unpublished')).toEqual([
      expect.objectContaining({ reason: 'invalid', problems: 'clientId: must be 1..128 characters, got 0', event: invalid }),
    ]);
  });

  test('an unserializable value in an invalid event still leaves a record with the rest of the event', async () => {
    const invalid = { ...event(), metadata: { big: BigInt(7) } };
    await expect(publishEvent(invalid, { queueUrl: 'http://127.0.0.1:9/0/q' })).resolves.toBe(false);
    expect(logs.records('kx-events.unpublished')[0]).toMatchObject({ reason: 'invalid', event: { clientId: 'acme', metadata: { big: '7' } } });
  });
});

test('an event that throws when it is read is not thrown: one unpublished record says why', async () => {
  const hostile = { ...event(), get userId(): string { throw new Error('no access'); } };
  await expect(publishEvent(hostile, { queueUrl: 'http://127.0.0.1:9/0/q' })).resolves.toBe(false);
  expect(logs.records('kx-events.unpublished')).toEqual([
    expect.objectContaining({ level: 'ERROR', reason: 'invalid', unserializable: { name: 'Error', message: 'no access' } }),
  ]);
});

describe('the publish deadline setting', () => {
  test(`defaults to ${DEFAULT_PUBLISH_TIMEOUT_MS} ms`, () => {
    expect(DEFAULT_PUBLISH_TIMEOUT_MS).toBe(1000);
    delete process.env.EVENTS_PUBLISH_TIMEOUT_MS;
    expect(publishTimeoutMs({})).toBe(DEFAULT_PUBLISH_TIMEOUT_MS);
    process.env.EVENTS_PUBLISH_TIMEOUT_MS = '';
    expect(publishTimeoutMs({})).toBe(DEFAULT_PUBLISH_TIMEOUT_MS);
    expect(logs.records()).toEqual([]);
  });

  test('a valid setting is used: timeoutMs, else EVENTS_PUBLISH_TIMEOUT_MS', () => {
    process.env.EVENTS_PUBLISH_TIMEOUT_MS = '250';
    expect(publishTimeoutMs({})).toBe(250);
    expect(publishTimeoutMs({ timeoutMs: 40 })).toBe(40);
    expect(logs.records()).toEqual([]);
  });

  test.each([
    ['EVENTS_PUBLISH_TIMEOUT_MS', 'soon'],
    ['EVENTS_PUBLISH_TIMEOUT_MS', '-5'],
    ['timeoutMs', 0],
    ['timeoutMs', 3_000_000_000], // beyond a timer's range: it would fire after 1 ms
  ])('an invalid %s (%p) is warned about once, and the default is used', async (setting, given) => {
    // The fault, injected: a queue that never answers, so each publish ends at its deadline, which its record tells.
    const client = clientFor(await closedPort());
    client.middlewareStack.add(() => () => new Promise<never>(() => undefined), { step: 'initialize', name: 'neverAnswer' });
    const options = { queueUrl: 'http://127.0.0.1:9/0/q', sqsClient: client, ...(setting === 'timeoutMs' ? { timeoutMs: given as number } : {}) };
    if (setting === 'EVENTS_PUBLISH_TIMEOUT_MS') process.env.EVENTS_PUBLISH_TIMEOUT_MS = String(given);
    jest.useFakeTimers();
    try {
      for (const _ of [1, 2]) {
        const published = publishEvent(event(), options);
        await jest.advanceTimersByTimeAsync(DEFAULT_PUBLISH_TIMEOUT_MS);
        await expect(published).resolves.toBe(false);
      }
    } finally {
      jest.useRealTimers();
    }
    expect(logs.records('kx-events.invalid-setting')).toEqual([expect.objectContaining({ setting, given })]);
    // The deadline those publishes had: the default.
    const deadline = { name: 'PublishDeadlineError', message: expect.any(String), data: { timeoutMs: DEFAULT_PUBLISH_TIMEOUT_MS } };
    expect(logs.records('kx-events.unpublished').map((r) => [r.reason, r.error])).toEqual([['timeout', deadline], ['timeout', deadline]]);
    expect(publishTimeoutMs(setting === 'timeoutMs' ? { timeoutMs: given as number } : {})).toBe(DEFAULT_PUBLISH_TIMEOUT_MS);
    expect(logs.records('kx-events.invalid-setting')).toHaveLength(1);
  });
});
