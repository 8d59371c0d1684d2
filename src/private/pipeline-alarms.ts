import { Annotations, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { KxEventsPipeline } from '../kx-events-pipeline';
import type { PipelineDatabase } from './database';
import { pipelineSettings, type PipelineSettings } from './pipeline-settings';
import { known } from './validate-pipeline-settings';

export interface PipelineAlarmsOptions {
  readonly settings: PipelineSettings;
  readonly database: PipelineDatabase;
  /** The RDS Proxy of the consumer, when there is one. */
  readonly proxy?: rds.IDatabaseProxy;
  /** What every alarm does on alarm and on recovery: notify the alarm topic. */
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

const GIB = 1024 ** 3;
const ONE_MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

/** How many consecutive minutes with failed events make the consumer-failures alarm fire. */
export const FAILED_EVENTS_MINUTES = 3;

/**
 * The pipeline's alarms, built on its metrics. Each one notifies `alarmTopic`, when given, on alarm and on recovery.
 * The README's Operations table lists them, with what to do: keep it in step.
 */
export function createPipelineAlarms(pipeline: KxEventsPipeline, options: PipelineAlarmsOptions): cloudwatch.Alarm[] {
  const { database, proxy } = options;
  const settings = thresholdSettings(pipeline, options.settings);
  const alarm = (id: string, props: cloudwatch.AlarmProps) => new cloudwatch.Alarm(pipeline, id, props);

  const alarms = [
    alarm('DeadLetterQueueNotEmptyAlarm', {
      alarmDescription: 'kx-events: the dead-letter queue holds events (invalid, or failed maxReceiveCount times). Inspect, fix, redrive.',
      metric: pipeline.metricDeadLetterQueueDepth({ period: ONE_MINUTE }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: 0,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    // A received message moves to the dead-letter queue after maxReceiveCount visibility timeouts at most,
    // so a message older than that has not been received at all: the consumer is not keeping up.
    alarm('OldestMessageAgeAlarm', {
      alarmDescription: 'kx-events: an event has waited longer than maxReceiveCount × visibilityTimeout. The consumer is not keeping up, or not running.',
      metric: pipeline.metricOldestMessageAge({ period: ONE_MINUTE }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: settings.visibilityTimeout.toSeconds() * settings.maxReceiveCount,
      evaluationPeriods: 5,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    // The consumer never throws for a batch it could not store: it reports the batch's messages as failures,
    // so a database that refuses every batch raises no ConsumerErrors. A failure or two is a blip that the
    // retry absorbs (a rotation, a failover); failures in each of FAILED_EVENTS_MINUTES minutes are not.
    alarm('FailedEventsAlarm', {
      alarmDescription: `kx-events: the consumer reported failed events (left for redelivery) in each of ${FAILED_EVENTS_MINUTES} consecutive minutes. `
        + 'The database or Secrets Manager is refusing or unreachable: see the consumer\'s ERROR lines.',
      metric: pipeline.metricFailedEvents({ period: ONE_MINUTE }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      threshold: 1,
      evaluationPeriods: FAILED_EVENTS_MINUTES,
      datapointsToAlarm: FAILED_EVENTS_MINUTES,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    // Every invalid event is a producer's bug, and it goes to the dead-letter queue at once: say so each time,
    // even while the dead-letter queue alarm is already firing for earlier messages.
    alarm('InvalidEventsAlarm', {
      alarmDescription: 'kx-events: the consumer moved invalid events to the dead-letter queue (not an event, or refused by the database). '
        + 'Their reason is in the kx-events.reason attribute: fix the producer, then redrive.',
      metric: pipeline.metricInvalidEvents(), // Sum over 5 minutes
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    // The event source mapping's own count sees what the consumer cannot log: invocations that never ran or
    // never answered (permissions, a missing function, throttling, crashes, timeouts), and partial failures.
    alarm('MappingFailedInvokesAlarm', {
      alarmDescription: 'kx-events: the event source mapping failed to get events processed in each of 3 consecutive 5-minute periods '
        + '(the consumer could not be invoked, crashed, timed out, or reported failures).',
      metric: pipeline.metricEventSourceMapping('FailedInvokeEventCount'), // Sum over 5 minutes
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    alarm('ConsumerErrorsAlarm', {
      alarmDescription: 'kx-events: consumer invocations failed (crash or timeout); their events are retried, then dead-lettered.',
      metric: pipeline.metricConsumerErrors(), // Sum over 5 minutes
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    alarm('ConsumerThrottlesAlarm', {
      alarmDescription: 'kx-events: consumer invocations were throttled (account or function concurrency).',
      metric: pipeline.metricConsumerThrottles(), // Sum over 5 minutes
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    alarm('DatabaseCpuAlarm', {
      alarmDescription: 'kx-events: database CPU above 80% for 15 minutes.',
      metric: database.metric('CPUUtilization', { period: FIVE_MINUTES, statistic: cloudwatch.Stats.AVERAGE }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: 80,
      evaluationPeriods: 3,
    }),
    // Storage autoscaling grows the volume when less than 10% is free; staying below that means
    // autoscaling has reached maxAllocatedStorageGiB, or cannot keep up.
    // (A new instance's: Aurora's storage grows by itself, and the size of a database of your own is not known.)
    ...database.created instanceof rds.DatabaseInstance ? [alarm('DatabaseFreeStorageAlarm', {
      alarmDescription: 'kx-events: database free storage below 10% of allocatedStorageGiB for 15 minutes.',
      metric: database.metric('FreeStorageSpace', { period: FIVE_MINUTES, statistic: cloudwatch.Stats.MINIMUM }),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      threshold: Math.round(settings.allocatedStorageGiB * GIB * 0.1),
      evaluationPeriods: 3,
    })] : [],
    // Each consumer holds one connection and at most maxConcurrency run at once; retired containers may
    // hold theirs a while longer. Twice that, sustained, is a leak or a client that is not the pipeline.
    alarm('DatabaseConnectionsAlarm', {
      alarmDescription: 'kx-events: database connections above 2 × maxConcurrency for 15 minutes.',
      metric: database.metric('DatabaseConnections', { period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: settings.maxConcurrency * 2,
      evaluationPeriods: 3,
    }),
  ];
  // The consumer's statements never pin its session (README, Security): a pinned session means something
  // else does, and the proxy then holds one database connection per client, not per transaction.
  if (proxy) {
    alarms.push(alarm('ProxyPinnedSessionsAlarm', {
      alarmDescription: 'kx-events: the RDS Proxy has sessions pinned to their database connections for 15 minutes. '
        + 'Some client runs statements that pin (SET, temporary tables, prepared statements, ...): see the proxy\'s logs.',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/RDS',
        metricName: 'DatabaseConnectionsCurrentlySessionPinned',
        dimensionsMap: { ProxyName: proxy.dbProxyName },
        statistic: cloudwatch.Stats.MAXIMUM,
        period: FIVE_MINUTES,
      }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: 0,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
  }

  for (const each of alarms) notifyOnAlarmAndRecovery(each, options.alarmAction);
  return alarms;
}

/** Makes the alarm run the action, when there is one, when it goes into alarm and when it recovers. */
export function notifyOnAlarmAndRecovery(alarm: cloudwatch.Alarm, action: cloudwatch.IAlarmAction | undefined): void {
  if (!action) return;
  alarm.addAlarmAction(action);
  alarm.addOkAction(action);
}

/** The settings that alarm thresholds are computed from. */
const THRESHOLD_SETTINGS = ['visibilityTimeout', 'maxReceiveCount', 'maxConcurrency', 'allocatedStorageGiB'] as const;

/**
 * The settings, where each one a threshold is computed from is known at synth. A threshold is a
 * number in the template, so it cannot follow an unresolved token (the arithmetic would turn the
 * token into a meaningless number): such a setting is replaced by its default here, with a warning.
 */
function thresholdSettings(pipeline: KxEventsPipeline, settings: PipelineSettings): PipelineSettings {
  const unknown = THRESHOLD_SETTINGS.filter((name) => !known(settings[name]));
  if (unknown.length === 0) return settings;
  const defaults = pipelineSettings({});
  for (const name of unknown) {
    Annotations.of(pipeline).addWarningV2(`kx-events:alarmThresholdFromDefault:${name}`,
      `${name} is an unresolved token: the alarm thresholds computed from it use its default instead. Give it as a number known at synth to have them follow it.`);
  }
  return { ...settings, ...Object.fromEntries(unknown.map((name) => [name, defaults[name]])) };
}
