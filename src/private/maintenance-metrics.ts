/**
 * The maintenance's metric: how many whole days after today the events table's partitions
 * cover, written by the maintenance function as one Embedded Metric Format record a run
 * (lambda/lib/telemetry.ts), and read by the construct's alarm. Below 1, tomorrow's events
 * have no partition. Plain constants only: the maintenance bundle imports this file.
 */
export const PARTITION_DAYS_AHEAD_METRIC = 'PartitionDaysAhead';
