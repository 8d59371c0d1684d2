import { LogRecorder, recordLogs } from './log-records';
import { publishEvent, publishEvents } from '../src/publishing';
import { captureEvents } from '../src/testing';
import { createTrackedEvent } from '../src/tracked-event';

let logs: LogRecorder;
beforeEach(() => {
  delete process.env.EVENTS_QUEUE_URL;
  logs = recordLogs();
});
afterEach(() => logs.restore());

const event = (eventType: string) => createTrackedEvent('thing', eventType, { clientId: 'acme' })!;

describe('captureEvents', () => {
  test('records published events without a queue (no EVENTS_QUEUE_URL), in order', async () => {
    const capture = captureEvents();
    await expect(publishEvent(event('one'))).resolves.toBe(true);
    await expect(publishEvents([event('two'), event('three')])).resolves.toEqual({ published: 2, unpublished: 0 });
    capture.stop();
    expect(capture.events.map((e) => e.eventType)).toEqual(['one', 'two', 'three']);
    expect(logs.records()).toEqual([]);
  });

  test('records only valid events; an invalid one is logged as unpublished, as in production', async () => {
    const capture = captureEvents();
    await expect(publishEvents([event('ok'), { ...event('bad'), pointsAwarded: 1.5 }])).resolves.toEqual({ published: 1, unpublished: 1 });
    capture.stop();
    expect(capture.events.map((e) => e.eventType)).toEqual(['ok']);
    expect(logs.records('kx-events.unpublished')).toEqual([expect.objectContaining({ reason: 'invalid', event: expect.objectContaining({ eventType: 'bad' }) })]);
  });

  test('after stop(), publishing goes back to the queue (here: none configured, so a one-time warning)', async () => {
    const capture = captureEvents();
    capture.stop();
    await expect(publishEvent(event('after'))).resolves.toBe(false);
    expect(capture.events).toEqual([]);
    expect(logs.records().map((r) => r.marker)).toEqual(['kx-events.no-queue-url']);
  });

  test('nested captures: the newest receives, and the outer one resumes when it stops', async () => {
    const outer = captureEvents();
    const inner = captureEvents();
    await publishEvent(event('inner'));
    inner.stop();
    await publishEvent(event('outer'));
    outer.stop();
    expect(inner.events.map((e) => e.eventType)).toEqual(['inner']);
    expect(outer.events.map((e) => e.eventType)).toEqual(['outer']);
  });
});
