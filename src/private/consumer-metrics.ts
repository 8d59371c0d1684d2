/**
 * The consumer's metrics: the counts of each batch, which the consumer writes as one Embedded Metric
 * Format record a batch (lambda/lib/telemetry.ts), and which the construct's `metric*` methods, alarms
 * and dashboard read. One definition for both sides, so the alarm and the log line cannot drift apart.
 * Plain constants only: the consumer's bundle imports this file.
 */

/** The CloudWatch namespace of the consumer's metrics. */
export const CONSUMER_METRICS_NAMESPACE = 'KxEvents';

/** The one dimension of the consumer's metrics, whose value is the function's name (`AWS_LAMBDA_FUNCTION_NAME`). */
export const CONSUMER_METRICS_DIMENSION = 'FunctionName';

/** Each metric of a batch's record, with its unit: the names are the keys of the consumer's batch summary. */
export const CONSUMER_METRICS = {
  received: 'Count',
  inserted: 'Count',
  duplicates: 'Count',
  invalid: 'Count',
  deferred: 'Count',
  failed: 'Count',
  unlinked: 'Count',
  withUnknownFields: 'Count',
  fanOutFailed: 'Count',
  fanOutTooLarge: 'Count',
  dbMs: 'Milliseconds',
} as const;

/** The name of one of the consumer's metrics. */
export type ConsumerMetricName = keyof typeof CONSUMER_METRICS;
