import { Annotations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { acknowledgeProducerFindings } from './acknowledged-findings';
import { watchUnpublishedEvents } from './unpublished-events';

/**
 * Makes a function a producer of the queue: grants it sending, sets its `EVENTS_QUEUE_URL`, and watches
 * its log group for unpublished events. Returns the alarm on them, or undefined (with a warning) when
 * the function's log group is not one the template knows.
 */
export function addProducer(queue: sqs.IQueue, fn: lambda.Function, alarmAction?: cloudwatch.IAlarmAction): cloudwatch.Alarm | undefined {
  queue.grantSendMessages(fn);
  acknowledgeProducerFindings(fn);
  fn.addEnvironment('EVENTS_QUEUE_URL', queue.queueUrl);
  const alarm = watchUnpublishedEvents(fn, alarmAction);
  if (!alarm) {
    Annotations.of(fn).addWarningV2('kx-events:producerLogGroupUnknown',
      `${fn.node.path} has no logGroup of its own, so its unpublished events are not watched: give it a logs.LogGroup (the logGroup prop) before addProducer, to get a metric filter on the kx-events.unpublished marker and an alarm.`);
  }
  return alarm;
}
