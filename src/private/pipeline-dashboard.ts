import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { KxEventsPipeline } from '../kx-events-pipeline';
import type { PipelineDatabase } from './database';

const ONE_MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);
const WIDTH = 8;
const HEIGHT = 6;

/**
 * The pipeline on one screen: the queues, the consumer, the database, and the state of every alarm. Each
 * graph is one of the pipeline's own metrics, at the resolution its alarm reads it (the consumer's counts
 * per minute).
 */
export function createPipelineDashboard(pipeline: KxEventsPipeline, database: PipelineDatabase): cloudwatch.Dashboard {
  const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
    new cloudwatch.GraphWidget({ title, left, right, width: WIDTH, height: HEIGHT });
  const perMinute = { period: ONE_MINUTE };

  return new cloudwatch.Dashboard(pipeline, 'Dashboard', {
    defaultInterval: Duration.hours(3),
    widgets: [
      [
        new cloudwatch.AlarmStatusWidget({ title: 'kx-events alarms', alarms: [...pipeline.alarms], width: 3 * WIDTH, height: 4 }),
      ],
      [
        graph('Events queue: depth (left), age of the oldest event in seconds (right)',
          [pipeline.metricQueueDepth(perMinute)], [pipeline.metricOldestMessageAge(perMinute)]),
        graph('Dead-letter queue: depth', [pipeline.metricDeadLetterQueueDepth(perMinute)]),
        graph('Event source mapping: events per minute', [
          pipeline.metricEventSourceMapping('PolledEventCount', perMinute),
          pipeline.metricEventSourceMapping('DeletedEventCount', perMinute),
          pipeline.metricEventSourceMapping('FailedInvokeEventCount', perMinute),
        ]),
      ],
      [
        graph('Consumer: events per minute', [
          pipeline.metricInsertedEvents(perMinute),
          pipeline.metricDuplicateEvents(perMinute),
          pipeline.metricDeferredEvents(perMinute),
          pipeline.metricUnlinkedEvents(perMinute),
          pipeline.metricInvalidEvents(perMinute),
          pipeline.metricFailedEvents(perMinute),
        ]),
        graph('Consumer: duration in milliseconds', [
          pipeline.metricConsumerDuration({ ...perMinute, statistic: cloudwatch.Stats.AVERAGE }),
          pipeline.metricConsumerDuration({ ...perMinute, statistic: cloudwatch.Stats.percentile(99) }),
          pipeline.metricConsumerDuration({ ...perMinute, statistic: cloudwatch.Stats.MAXIMUM }),
        ]),
        graph('Consumer: errors and throttles', [pipeline.metricConsumerErrors(perMinute), pipeline.metricConsumerThrottles(perMinute)]),
      ],
      [
        graph('Database: CPU %', [database.metric('CPUUtilization', { period: FIVE_MINUTES })]),
        graph('Database: connections', [database.metric('DatabaseConnections', { period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM })]),
        ...database.instance ? [graph('Database: free storage in bytes', [database.metric('FreeStorageSpace', { period: FIVE_MINUTES, statistic: cloudwatch.Stats.MINIMUM })])] : [],
      ],
    ],
  });
}
