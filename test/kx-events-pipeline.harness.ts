import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { App, AppProps, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { KxEventsPipeline, KxEventsPipelineProps } from '../src';

/**
 * An App that writes its cloud assembly into this test file's own folder, removed when the file is done.
 * An App given no outdir makes a cdk.out folder in the temp folder, even if it never synthesizes, and
 * leaves it there (about 150 folders and 70 MB a test run).
 */
export function testApp(props: Omit<AppProps, 'outdir'> = {}): App {
  outdir ??= mkdtempSync(path.join(tmpdir(), 'kx-cdk-out-'));
  return new App({ ...props, outdir });
}
let outdir: string | undefined;
afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

/** The one harness of the construct's tests: a pipeline in a stack of its own. */
export interface PipelineUnderTest {
  readonly stack: Stack;
  readonly pipeline: KxEventsPipeline;
  readonly template: Template;
  readonly annotations: Annotations;
}

/**
 * Builds a stack with a KxEventsPipeline. `before` adds what the props refer to (a VPC, a key, a topic)
 * to the same stack; `after` may call the pipeline's methods before the template is taken.
 */
export function pipelineStack(
  props: KxEventsPipelineProps | ((stack: Stack) => KxEventsPipelineProps) = {},
  after?: (pipeline: KxEventsPipeline, stack: Stack) => void,
): PipelineUnderTest {
  const stack = new Stack(testApp(), 'Events');
  const pipeline = new KxEventsPipeline(stack, 'Pipeline', typeof props === 'function' ? props(stack) : props);
  after?.(pipeline, stack);
  return { stack, pipeline, template: Template.fromStack(stack), annotations: Annotations.fromStack(stack) };
}

/**
 * A VPC of the user's own, as the pipeline wants it: public, private-with-egress and isolated subnets,
 * with flow logs of its own (cdk-nag's VPC7 is about the user's VPC, not the pipeline).
 */
export function ownVpc(stack: Stack, props: ec2.VpcProps = {}): ec2.Vpc {
  return new ec2.Vpc(stack, 'Own', {
    subnetConfiguration: [
      { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'App', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      { name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
    flowLogs: { Rejected: { trafficType: ec2.FlowLogTrafficType.REJECT } },
    ...props,
  });
}

/**
 * The pipelines that the whole-template tests (snapshots, cdk-nag, CloudFormation validation) build,
 * each as the props for a stack. A test file may add props of its own to one.
 */
export const pipelineScenarios = {
  defaults: (): KxEventsPipelineProps => ({}),
  ownVpcAndKey: (stack: Stack): KxEventsPipelineProps => ({
    vpc: ownVpc(stack),
    encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }),
  }),
  highThroughput: (): KxEventsPipelineProps => ({ batchSize: 1000, maxBatchingWindow: Duration.seconds(10), maxConcurrency: 20 }),
};

/** A stack parameter: a value known only at deploy time, as an unresolved token in the props. */
export function parameter(stack: Stack, name: string, type: 'Number' | 'String' = 'Number'): CfnParameter {
  return new CfnParameter(stack, name, { type });
}
