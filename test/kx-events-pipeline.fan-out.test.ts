/**
 * The fan-out's template, for both shapes of its bus (one the pipeline creates, one that is given):
 * one synthesis each, under cdk-nag's AwsSolutions and the CloudFormation validator.
 */
import { readFileSync } from 'fs';
import { CloudFormationValidatePlugin, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { testApp } from './kx-events-pipeline.harness';
import { EventFanOut, KxEventsPipeline, KxEventsPipelineProps } from '../src';
import { InvalidPipelinePropsError } from '../src/private/validate-pipeline-settings';

const validator = new CloudFormationValidatePlugin();

/** One synthesis, which throws on any unacknowledged AwsSolutions finding; the template and the validator's findings. */
function synthesized(props: (stack: Stack) => KxEventsPipelineProps, after?: (pipeline: KxEventsPipeline, stack: Stack) => void) {
  const app = testApp({ context: { '@aws-cdk/core:strictCfnValidateErrors': true } });
  const stack = new Stack(app, 'Events');
  const pipeline = new KxEventsPipeline(stack, 'Pipeline', props(stack));
  after?.(pipeline, stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const templatePath = app.synth().getStackByName(stack.stackName).templateFullPath;
  const stackTemplates = [{ stackConstructPath: stack.node.path, templatePath }];
  const report = validator.validate({ templatePaths: [templatePath], stackTemplates } as never);
  return { stack, pipeline, template: Template.fromJSON(JSON.parse(readFileSync(templatePath, 'utf8'))), findings: report.violations };
}

/** The consumer's environment variables in the template. */
function consumerEnvironment(template: Template): Record<string, unknown> {
  const [consumer] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('stores tracked events') } }));
  return consumer.Properties.Environment.Variables;
}

/** The consumer role's policy statements that allow events:PutEvents. */
function putEventsStatements(template: Template): Array<Record<string, unknown>> {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement)
    .filter((s: { Action: string | string[] }) => [s.Action].flat().some((a) => a.startsWith('events:')));
}

describe('fan-out to a bus the pipeline creates', () => {
  const { stack, pipeline, template, findings } = synthesized(() => ({ fanOutEnabled: true, eventSource: 'shop.events' }));

  test('nag and the validator are clean', () => {
    expect(findings).toEqual([]);
  });

  test('one new bus; the consumer puts to it by ARN, with the source, and may do nothing else on EventBridge', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    const busArn = stack.resolve(pipeline.eventBus!.eventBusArn);
    expect(consumerEnvironment(template)).toMatchObject({ EVENT_BUS_NAME: busArn, EVENT_SOURCE: 'shop.events' });
    expect(putEventsStatements(template)).toEqual([{ Action: 'events:PutEvents', Effect: 'Allow', Resource: busArn }]);
  });

  test('an alarm on the consumer\'s failed puts, in the pipeline\'s alarms', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'KxEvents',
      MetricName: 'fanOutFailed',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(pipeline.alarms.map((a) => a.node.id)).toContain('FanOutFailedAlarm');
  });
});

describe('fan-out to a given bus, with the documented example rule', () => {
  const { stack, template, findings } = synthesized((s) => ({ eventBus: new events.EventBus(s, 'Shop') }), (pipeline, s) => {
    // The README's example rule: a subscriber's queue gets the signups of two clients.
    const signups = new sqs.Queue(s, 'Signups', { enforceSSL: true });
    Validations.of(signups).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'The example subscriber\'s queue: whether it has a dead-letter queue is the subscriber\'s choice.' });
    new events.Rule(s, 'SignupsRule', {
      eventBus: pipeline.eventBus,
      eventPattern: EventFanOut.eventPattern({ entityTypes: ['user'], eventTypes: ['user_created'], clientIds: ['acme', 'globex'] }),
      targets: [new targets.SqsQueue(signups)],
    });
  });

  test('nag and the validator are clean', () => {
    expect(findings).toEqual([]);
  });

  test('no bus of the pipeline\'s own; the consumer puts to the given one only', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    const busArn = stack.resolve((stack.node.findChild('Shop') as events.EventBus).eventBusArn);
    expect(consumerEnvironment(template)).toMatchObject({ EVENT_BUS_NAME: busArn, EVENT_SOURCE: 'kx-events' });
    expect(putEventsStatements(template)).toEqual([{ Action: 'events:PutEvents', Effect: 'Allow', Resource: busArn }]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'fanOutFailed' });
  });

  test('the example rule matches the source, and the entity types, event types and clients in the detail', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['kx-events'], detail: { entityType: ['user'], eventType: ['user_created'], clientId: ['acme', 'globex'] } },
    });
  });
});

describe('fan-out settings and the pattern helper', () => {
  test('no fan-out by default: no bus, no EventBridge permission, no alarm', () => {
    const stack = new Stack(testApp(), 'Events');
    const pipeline = new KxEventsPipeline(stack, 'Pipeline');
    expect(pipeline.eventBus).toBeUndefined();
    const template = Template.fromStack(stack);
    expect(consumerEnvironment(template).EVENT_BUS_NAME).toBeUndefined();
    expect(putEventsStatements(template)).toEqual([]);
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'fanOutFailed' }, 0);
  });

  test('fails, naming the props, when a bus is given with fan-out off, or the source is AWS\'s', () => {
    const build = () => {
      const stack = new Stack(testApp(), 'Events');
      return new KxEventsPipeline(stack, 'Pipeline', { fanOutEnabled: false, eventBus: new events.EventBus(stack, 'Bus'), eventSource: 'aws.events' });
    };
    expect(build).toThrow(InvalidPipelinePropsError);
    expect(build).toThrow(/fanOutEnabled: must be true or unset when eventBus is given .*got false with an eventBus/);
    expect(build).toThrow(/eventSource: must be 1\.\.256 characters, not starting with "aws\.".*got "aws\.events"/);
  });

  test('eventPattern: the source alone by default; a clear error for an empty list or a value out of range', () => {
    expect(EventFanOut.eventPattern()).toEqual({ source: ['kx-events'] });
    expect(EventFanOut.eventPattern({ source: 'shop.events', clientIds: ['acme'] })).toEqual({ source: ['shop.events'], detail: { clientId: ['acme'] } });
    expect(() => EventFanOut.eventPattern({ entityTypes: [], eventTypes: ['x'.repeat(49)] }))
      .toThrow('EventFanOut.eventPattern: entityTypes: must hold at least one value (leave it out to match any), got []; eventTypes: each must be 1..48 characters, got "' + 'x'.repeat(49) + '"');
  });
});
