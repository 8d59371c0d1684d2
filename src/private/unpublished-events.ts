import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { CONSUMER_METRICS_NAMESPACE } from './consumer-metrics';
import { notifyOnAlarmAndRecovery } from './pipeline-alarms';

/** The marker of the line a producer logs for each event it could not send (kx-events-decorators' log.ts). */
export const UNPUBLISHED_MARKER = 'kx-events.unpublished';

/**
 * Counts a producer's unpublished-event lines, with a metric filter in its log group, and alarms on the
 * first. Returns the alarm, or undefined when the function's log group is not one the template knows:
 * Lambda creates the default group only on the first invocation, and a metric filter cannot be created
 * before its group exists. Asking such a function for its `logGroup` would add a log-retention custom
 * resource to the user's stack, so it is not asked.
 */
export function watchUnpublishedEvents(fn: lambda.Function, action?: cloudwatch.IAlarmAction): cloudwatch.Alarm | undefined {
  if (!hasLogGroupOfItsOwn(fn)) return undefined;
  const logGroup = fn.logGroup;
  const filter = new logs.MetricFilter(fn, 'KxEventsUnpublishedFilter', {
    logGroup,
    // A term, not a JSON field: it matches the record however the function's log format wraps it.
    filterPattern: logs.FilterPattern.allTerms(UNPUBLISHED_MARKER),
    metricNamespace: CONSUMER_METRICS_NAMESPACE,
    metricName: `unpublished:${logGroup.logGroupName}`,
    metricValue: '1',
    unit: cloudwatch.Unit.COUNT,
  });
  const alarm = new cloudwatch.Alarm(fn, 'KxEventsUnpublishedAlarm', {
    alarmDescription: `kx-events: a producer logged events it could not send to the queue (marker ${UNPUBLISHED_MARKER}). `
      + 'Find the lines in the log group of this metric\'s name and publish their events again.',
    metric: filter.metric({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) }),
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    threshold: 1,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  notifyOnAlarmAndRecovery(alarm, action);
  return alarm;
}

/** Whether the function's log group is in the template: its `logGroup` prop, or the group its `logRetention` creates. */
function hasLogGroupOfItsOwn(fn: lambda.Function): boolean {
  const loggingConfig = (fn.node.defaultChild as lambda.CfnFunction).loggingConfig as lambda.CfnFunction.LoggingConfigProperty | undefined;
  return loggingConfig?.logGroup !== undefined || fn.node.tryFindChild('LogRetention') !== undefined;
}
