/**
 * Testing support, at `kx-events-decorators/testing`: capture the events that handlers publish,
 * without any queue.
 */
import { TrackedEvent } from './contract';
import { addEventSink } from './publishing';

export interface EventCapture {
  /** The events published since the capture started, in order. Only valid events: an invalid one is logged as unpublished, as in production. */
  readonly events: TrackedEvent[];
  /** Stops capturing: publishing goes to the queue again. */
  stop(): void;
}

/**
 * Routes every publish (decorator, wrapper, middleware, publishEvent, publishEvents) into the
 * returned capture until `stop()` is called. EVENTS_QUEUE_URL is not needed. When captures are
 * nested, the newest one receives the events.
 */
export function captureEvents(): EventCapture {
  const events: TrackedEvent[] = [];
  const stop = addEventSink((event) => events.push(event));
  return { events, stop };
}
