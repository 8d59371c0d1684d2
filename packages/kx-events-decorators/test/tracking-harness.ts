/** For each test: capture the events that handlers publish, and record the package's log lines. */
import { LogRecord, LogRecorder, recordLogs } from './log-records';
import { TrackedEvent } from '../src/contract';
import { captureEvents, EventCapture } from '../src/testing';

export interface TrackingHarness {
  /** The current test's captured events. */
  readonly events: TrackedEvent[];
  /** The current test's log records, optionally only those with `marker`. */
  records(marker?: string): LogRecord[];
}

/** Call at the top of a test file: registers the beforeEach/afterEach that set it up and tear it down. */
export function trackEachTest(): TrackingHarness {
  let capture: EventCapture;
  let logs: LogRecorder;
  beforeEach(() => {
    capture = captureEvents();
    logs = recordLogs();
  });
  afterEach(() => {
    capture.stop();
    logs.restore();
  });
  return {
    get events() { return capture.events; },
    records: (marker) => logs.records(marker),
  };
}
