/**
 * What the handlers write to their log: one JSON object a line, with stable keys, through the
 * runtime package's log writer (the same lines as the producer's).
 * The batch summary is also an Embedded Metric Format record, so one line per batch
 * is both the summary and CloudWatch's metrics of the same counts.
 */
import { CONSUMER_METRICS, CONSUMER_METRICS_DIMENSION, CONSUMER_METRICS_NAMESPACE } from '../../src/private/consumer-metrics';
import { PARTITION_DAYS_AHEAD_METRIC } from '../../src/private/maintenance-metrics';
import { writeRecord, type LogLevel } from 'kx-events-decorators/log';

export { describeError } from 'kx-events-decorators/log';

/** The counts of one batch. received = inserted + duplicates + invalid + deferred + failed. */
export interface BatchCounts {
  /** Messages in the batch. */
  readonly received: number;
  /** Events stored by this batch (including `unlinked`). */
  readonly inserted: number;
  /** Messages whose event was already stored, or came twice in the batch. */
  readonly duplicates: number;
  /** Messages moved to the dead-letter queue: not an event, or rejected by the database. */
  readonly invalid: number;
  /** Messages left for redelivery because the event they follow is not stored yet. */
  readonly deferred: number;
  /** Messages left for redelivery after a failure (database unavailable, dead-letter queue unreachable). */
  readonly failed: number;
  /** Events stored without their link on their last receive (the claimed id is kept). */
  readonly unlinked: number;
  /** Messages whose event has fields this consumer's contract does not know (a newer producer's): kept in its metadata. */
  readonly withUnknownFields: number;
  /** Stored events of the batch that EventBridge did not take: their messages are retried, or on their last receive dead-lettered with the reason. */
  readonly fanOutFailed: number;
  /** Stored events of the batch too large for an EventBridge entry: never fanned out (each is logged with its eventId). */
  readonly fanOutTooLarge: number;
  /** Time spent in database statements, in milliseconds (a COPY's includes the parsing and validating it overlaps). */
  readonly dbMs: number;
}

/**
 * Every count is a metric, under the name and unit the construct's alarms read (src/private/consumer-metrics.ts):
 * this fails to compile if a count of BatchCounts has no metric.
 */
const METRIC_UNITS: Readonly<Record<keyof BatchCounts, string>> = CONSUMER_METRICS;

/** Writes one log line: `timestamp`, `level`, `message`, then `fields`. Callers pass names, counts and error codes, never payloads or secrets. */
export function log(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
  writeRecord(level, { message, ...fields });
}

/** The EMF directive and dimension of every batch line: the same for the container's life, so built once. */
const FUNCTION_NAME = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'local';
const CLOUDWATCH_METRICS = [{
  Namespace: CONSUMER_METRICS_NAMESPACE,
  Dimensions: [[CONSUMER_METRICS_DIMENSION]],
  Metrics: Object.entries(METRIC_UNITS).map(([name, unit]) => ({ Name: name, Unit: unit })),
}];

/** The batch's summary line, which is also its EMF metrics record. */
export function logBatch(counts: BatchCounts): void {
  log(counts.failed > 0 || counts.fanOutFailed > 0 ? 'WARN' : 'INFO', 'batch', {
    ...counts,
    [CONSUMER_METRICS_DIMENSION]: FUNCTION_NAME,
    _aws: { Timestamp: Date.now(), CloudWatchMetrics: CLOUDWATCH_METRICS },
  });
}


/** The maintenance's one line a run; PartitionDaysAhead is also its metric, under the function's name. */
export function logPartitions(result: { readonly created: number; readonly dropped: readonly string[]; readonly daysAhead: number }): void {
  log('INFO', 'partitions', {
    created: result.created,
    dropped: result.dropped,
    [PARTITION_DAYS_AHEAD_METRIC]: result.daysAhead,
    [CONSUMER_METRICS_DIMENSION]: FUNCTION_NAME,
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [{ Namespace: CONSUMER_METRICS_NAMESPACE, Dimensions: [[CONSUMER_METRICS_DIMENSION]], Metrics: [{ Name: PARTITION_DAYS_AHEAD_METRIC, Unit: 'Count' }] }],
    },
  });
}
