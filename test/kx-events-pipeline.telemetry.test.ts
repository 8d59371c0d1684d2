/**
 * The alarm and the consumer's log line cannot drift apart: the metric the construct's failed-events alarm
 * watches, read from the synthesized template, is what the bundled consumer writes in its Embedded Metric
 * Format record, on the local pipeline (moto's SQS, the event-source runner, PostgreSQL 16), with the
 * database stopped.
 */
import { CfnResource } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { pipelineStack } from './kx-events-pipeline.harness';
import { startLocalPipeline } from '../local/pipeline';
import { startPostgres } from '../local/postgres';
import { batchSummary } from '../local/runner';
import { createTrackedEvent, publishEvents } from '../packages/kx-events-decorators/src';

jest.setTimeout(90_000);

/** The name the local runner gives the consumer, as Lambda does, in AWS_LAMBDA_FUNCTION_NAME (local/runner.ts). */
const LOCAL_FUNCTION_NAME = 'kx-events-consumer';

interface EmfRecord {
  readonly received: number;
  readonly _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
  readonly [field: string]: unknown;
}

/** The failed-events alarm as the template has it, and the logical ID of the consumer function. */
function failedEventsAlarm() {
  const { stack, pipeline, template } = pipelineStack();
  const alarm = pipeline.node.findChild('FailedEventsAlarm') as cloudwatch.Alarm;
  const logicalId = stack.getLogicalId(alarm.node.defaultChild as CfnResource);
  return {
    alarm: template.toJSON().Resources[logicalId].Properties,
    consumerLogicalId: stack.getLogicalId(pipeline.consumer.node.defaultChild as CfnResource),
  };
}

test('with the database stopped, the first batch\'s EMF record carries the failed count the alarm watches, by name and dimension', async () => {
  const { alarm, consumerLogicalId } = failedEventsAlarm();
  // The alarm's one dimension is the consumer's name: CloudFormation resolves the Ref to the name that
  // Lambda gives the function as AWS_LAMBDA_FUNCTION_NAME.
  expect(alarm.Dimensions).toEqual([{ Name: expect.any(String), Value: { Ref: consumerLogicalId } }]);
  const [{ Name: dimension }] = alarm.Dimensions as Array<{ Name: string }>;

  const postgres = await startPostgres();
  const p = await startLocalPipeline({ databaseUrl: postgres.url, queue: { visibilityTimeoutSeconds: 60 } });
  try {
    await postgres.stop();
    const records: EmfRecord[] = [];
    const runner = p.runner();
    runner.on('log', ({ line }) => {
      if (batchSummary(line)) records.push(JSON.parse(line) as EmfRecord);
    });
    const events = Array.from({ length: 3 }, () => createTrackedEvent('user', 'user_created', { clientId: 'client-telemetry' })!);
    expect(await publishEvents(events, { queueUrl: p.queues.queueUrl })).toMatchObject({ published: 3 });
    runner.start();
    while (records.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await runner.stop();

    const [record] = records;
    expect(record.received).toBeGreaterThan(0);
    expect(record[alarm.MetricName]).toBe(record.received);
    expect(record[dimension]).toBe(LOCAL_FUNCTION_NAME);
    const [directive] = record._aws.CloudWatchMetrics;
    expect(directive.Namespace).toBe(alarm.Namespace);
    expect(directive.Dimensions).toContainEqual([dimension]);
    expect(directive.Metrics.map((m) => m.Name)).toContain(alarm.MetricName);
  } finally {
    await p.stop();
    await postgres.destroy();
  }
});
