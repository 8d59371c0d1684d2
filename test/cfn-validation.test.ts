import { CloudFormationValidatePlugin, PolicyViolation, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { pipelineScenarios, testApp } from './kx-events-pipeline.harness';
import { KxEventsPipeline, KxEventsPipelineProps } from '../src';

/**
 * The findings of the CloudFormation validator that aws-cdk-lib bundles (@aws/cloudformation-validate),
 * warnings included, on the synthesized template. The app also runs it at synth, in strict mode, in which
 * a warning fails synthesis too.
 */
function cloudFormationFindings(build: (stack: Stack) => void, strict = true): PolicyViolation[] {
  const app = testApp({ context: { '@aws-cdk/core:strictCfnValidateErrors': strict } });
  const stack = new Stack(app, 'Events');
  build(stack);
  const template = app.synth().getStackByName(stack.stackName).templateFullPath;
  const report = validator.validate({
    templatePaths: [template],
    stackTemplates: [{ stackConstructPath: stack.node.path, templatePath: template }],
  } as never);
  return report.violations;
}

/** One engine for the whole file: starting it takes seconds. */
const validator = new CloudFormationValidatePlugin();

describe('CloudFormation validation', () => {
  test.each<[string, (stack: Stack) => KxEventsPipelineProps]>([
    ['the default stack', pipelineScenarios.defaults],
    ['its own VPC and key', pipelineScenarios.ownVpcAndKey],
    ['high throughput on Node.js 22', () => ({ ...pipelineScenarios.highThroughput(), runtime: lambda.Runtime.NODEJS_22_X })],
    ['Aurora Serverless v2 behind an RDS Proxy', pipelineScenarios.auroraWithProxy],
    ['a new VPC without NAT', pipelineScenarios.noNat],
    ['an existing instance behind an RDS Proxy', pipelineScenarios.existingInstanceWithProxy],
    ['an existing cluster in an isolated VPC', pipelineScenarios.existingClusterIsolated],
  ])('%s has no finding, warnings included', (_name, props) => {
    expect(cloudFormationFindings(stack => new KxEventsPipeline(stack, 'Pipeline', props(stack)))).toEqual([]);
  });

  test('with an alarm topic and a watched producer (its metric filter and alarm), no finding either', () => {
    expect(cloudFormationFindings(stack => {
      const pipeline = new KxEventsPipeline(stack, 'Pipeline', { alarmTopic: new sns.Topic(stack, 'Alarms') });
      pipeline.addProducer(new lambda.Function(stack, 'Signup', {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => {}'),
        logGroup: new logs.LogGroup(stack, 'SignupLogs'),
      }));
    })).toEqual([]);
  });

  test('the validator is live: a deprecated runtime is a finding', () => {
    // A function beside the pipeline: the pipeline itself refuses runtimes older than Node.js 22.
    const withOldFunction = (stack: Stack) => {
      new KxEventsPipeline(stack, 'Pipeline');
      new lambda.Function(stack, 'Old', { runtime: lambda.Runtime.NODEJS_18_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}') });
    };
    // Outside strict mode, synthesis prints the warning (to console.error) and goes on.
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(cloudFormationFindings(withOldFunction, false)).toEqual([
        expect.objectContaining({ ruleName: 'W2531', severity: 'warning', description: expect.stringContaining('nodejs18.x') }),
      ]);
      expect(printed).toHaveBeenCalledWith(expect.stringContaining('nodejs18.x'));
    } finally {
      printed.mockRestore();
    }
    expect(() => cloudFormationFindings(withOldFunction)).toThrow(/nodejs18\.x/);
  });
});
