import { Annotations, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { KxEventsPipeline } from '../kx-events-pipeline';
import { pipelineSettings, type PipelineSettings } from './pipeline-settings';
import { known } from './validate-pipeline-settings';

export interface PipelineAlarmsOptions {
  readonly settings: PipelineSettings;
  readonly alarmTopic?: sns.ITopic;
}

const GIB = 1024 ** 3;
const ONE_MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

/**
 * The pipeline's alarms, built on its metrics. Each one notifies `alarmTopic`, when given, on alarm and on recovery.
 */
export function createPipelineAlarms(pipeline: KxEventsPipeline, options: PipelineAlarmsOptions): cloudwatch.IAlarm[] {
  const { database } = pipeline;
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
      metric: database.metricCPUUtilization({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.AVERAGE }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: 80,
      evaluationPeriods: 3,
    }),
    // Storage autoscaling grows the volume when less than 10% is free; staying below that means
    // autoscaling has reached maxAllocatedStorageGiB, or cannot keep up.
    alarm('DatabaseFreeStorageAlarm', {
      alarmDescription: 'kx-events: database free storage below 10% of allocatedStorageGiB for 15 minutes.',
      metric: database.metricFreeStorageSpace({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.MINIMUM }),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      threshold: Math.round(settings.allocatedStorageGiB * GIB * 0.1),
      evaluationPeriods: 3,
    }),
    // Each consumer holds one connection and at most maxConcurrency run at once; retired containers may
    // hold theirs a while longer. Twice that, sustained, is a leak or a client that is not the pipeline.
    alarm('DatabaseConnectionsAlarm', {
      alarmDescription: 'kx-events: database connections above 2 × maxConcurrency for 15 minutes.',
      metric: database.metricDatabaseConnections({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: settings.maxConcurrency * 2,
      evaluationPeriods: 3,
    }),
  ];

  if (options.alarmTopic) {
    const action = new cloudwatchActions.SnsAction(options.alarmTopic);
    for (const each of alarms) {
      each.addAlarmAction(action);
      each.addOkAction(action);
    }
  }
  return alarms;
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
