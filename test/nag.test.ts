import { Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { pipelineScenarios, testApp } from './kx-events-pipeline.harness';
import { KxEventsPipeline, KxEventsPipelineProps } from '../src';

const LAMBDA_BASIC_EXECUTION = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';

/** Synthesizes a stack under the AwsSolutions pack: throws "Validation failed" on any unacknowledged finding. */
function synthWithAwsSolutions(build: (stack: Stack) => void): void {
  const app = testApp();
  build(new Stack(app, 'Events'));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
}

/** The rules acknowledged anywhere in the pipeline, each with its reason. */
function acknowledgements(pipeline: KxEventsPipeline): Array<[rule: string, reason: string]> {
  return pipeline.node.findAll()
    .flatMap(c => c.node.metadata.filter(m => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
    .flatMap(m => Object.entries(m.data as Record<string, string>));
}

describe('cdk-nag AwsSolutions', () => {
  test.each<[string, (stack: Stack) => KxEventsPipelineProps]>([
    ['the default stack', pipelineScenarios.defaults],
    ['multi-AZ, with its own VPC and key', stack => ({ ...pipelineScenarios.ownVpcAndKey(stack), multiAz: true })],
    ['high throughput', pipelineScenarios.highThroughput],
    ['Aurora Serverless v2 behind an RDS Proxy', pipelineScenarios.auroraWithProxy],
    ['a new VPC without NAT', pipelineScenarios.noNat],
    ['an existing instance behind an RDS Proxy', pipelineScenarios.existingInstanceWithProxy],
    ['an existing cluster in an isolated VPC', pipelineScenarios.existingClusterIsolated],
  ])('%s passes with no unacknowledged finding', (_name, props) => {
    expect(() => synthWithAwsSolutions(stack => new KxEventsPipeline(stack, 'Pipeline', props(stack)))).not.toThrow();
  });

  test('with an alarm topic and a watched producer (its metric filter and alarm) passes', () => {
    expect(() => synthWithAwsSolutions(stack => {
      const pipeline = new KxEventsPipeline(stack, 'Pipeline', {
        alarmTopic: new sns.Topic(stack, 'Alarms', { enforceSSL: true, masterKey: new kms.Key(stack, 'AlarmsKey', { enableKeyRotation: true }) }),
      });
      const producer = new lambda.Function(stack, 'Signup', {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => {}'),
        logGroup: new logs.LogGroup(stack, 'SignupLogs'),
      });
      // The user's function, not the pipeline's: its own role's finding is the user's to acknowledge.
      Validations.of(producer).acknowledge({ id: LAMBDA_BASIC_EXECUTION, reason: 'A test producer: its own managed logging policy.' });
      pipeline.addProducer(producer);
    })).not.toThrow();
  });

  test('a finding outside the construct still fails synthesis (the check is live)', () => {
    expect(() => synthWithAwsSolutions(stack => {
      new KxEventsPipeline(stack, 'Pipeline');
      new sqs.Queue(stack, 'Unencrypted', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    })).toThrow(/AwsSolutions-SQS/);
  });

  test('multiAz: true removes the multi-AZ acknowledgement', () => {
    const app = testApp();
    const stack = new Stack(app, 'Events');
    const pipeline = new KxEventsPipeline(stack, 'Pipeline', { multiAz: true });
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations).toEqual([]);
    const acknowledged = acknowledgements(pipeline).map(([rule]) => rule);
    expect(acknowledged.some(id => id.endsWith('AwsSolutions-RDS3'))).toBe(false);
    expect(acknowledged.some(id => id.endsWith('AwsSolutions-RDS11'))).toBe(true);
  });

  test('every acknowledgement gives its reason', () => {
    const app = testApp();
    const pipeline = new KxEventsPipeline(new Stack(app, 'Events'), 'Pipeline');
    const reasons = acknowledgements(pipeline).map(([, reason]) => reason);
    expect(reasons.length).toBeGreaterThanOrEqual(10);
    for (const reason of reasons) {
      expect(reason.length).toBeGreaterThan(30);
    }
  });
});
