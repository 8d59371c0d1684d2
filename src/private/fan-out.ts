import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { notifyOnAlarmAndRecovery } from './pipeline-alarms';
import type { PipelineSettings } from './pipeline-settings';
import type { KxEventsPipeline } from '../kx-events-pipeline';

export interface FanOutOptions {
  readonly settings: PipelineSettings;
  /** The consumer, which puts the stored events to the bus. */
  readonly consumer: lambda.Function;
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/** How many consecutive minutes with events EventBridge did not take make the fan-out alarm fire. */
export const FAN_OUT_FAILED_MINUTES = 3;

/**
 * The fan-out, when `fanOutEnabled`: the bus (the one given, or a new one), the consumer's environment
 * and its one permission on that bus, events:PutEvents, and the alarm on its failed puts, added to the
 * pipeline's `alarms`. Returns the bus, or undefined without fan-out.
 */
export function createFanOut(pipeline: KxEventsPipeline, options: FanOutOptions): events.IEventBus | undefined {
  const { settings, consumer } = options;
  if (!settings.fanOutEnabled) return undefined;
  const eventBus = settings.eventBus ?? new events.EventBus(pipeline, 'EventBus', {
    description: 'kx-events: every stored event, with detail-type entityType.eventType and the stored event as detail',
  });
  consumer.addEnvironment('EVENT_BUS_NAME', eventBus.eventBusArn);
  consumer.addEnvironment('EVENT_SOURCE', settings.eventSource);
  eventBus.grantPutEventsTo(consumer);

  // A failed put is retried with its message, so one minute of them is a blip (throttling, a failover);
  // FAN_OUT_FAILED_MINUTES in a row is a bus that refuses (a policy, a deleted bus), and the messages
  // will reach the dead-letter queue.
  const alarm = new cloudwatch.Alarm(pipeline, 'FanOutFailedAlarm', {
    alarmDescription: `kx-events: EventBridge did not take stored events in each of ${FAN_OUT_FAILED_MINUTES} consecutive minutes. `
      + 'They are stored; their messages are retried, then dead-lettered with the reason: see the consumer\'s WARN lines.',
    metric: pipeline.metricFanOutFailedEvents({ period: Duration.minutes(1) }),
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    threshold: 1,
    evaluationPeriods: FAN_OUT_FAILED_MINUTES,
    datapointsToAlarm: FAN_OUT_FAILED_MINUTES,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  notifyOnAlarmAndRecovery(alarm, options.alarmAction);
  pipeline.alarms.push(alarm);
  return eventBus;
}
