import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { App, AppProps, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { EventsDatabase, KxEventsPipeline, KxEventsPipelineProps } from '../src';

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
  /** Aurora Serverless v2 with a reader, behind an RDS Proxy. */
  auroraWithProxy: (): KxEventsPipelineProps => ({
    database: EventsDatabase.auroraServerlessV2({ minCapacity: 0.5, maxCapacity: 4, readers: 1 }),
    createProxy: true,
  }),
  /** A new VPC without NAT: isolated subnets and interface endpoints. */
  noNat: (): KxEventsPipelineProps => ({ natGateways: 0, createVpcEndpoints: true }),
  /** The user's instance, imported with its engine, behind an RDS Proxy, in the user's VPC. */
  existingInstanceWithProxy: (stack: Stack): KxEventsPipelineProps => {
    const vpc = ownVpc(stack);
    const instance = rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Platform', {
      instanceIdentifier: 'platform-db',
      instanceEndpointAddress: 'platform-db.abc123.eu-west-1.rds.amazonaws.com',
      port: 5432,
      securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'PlatformSg', 'sg-0123456789abcdef0')],
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
    });
    return { vpc, database: EventsDatabase.fromInstance(instance, platformAdminSecret(stack)), createProxy: true };
  },
  /** The user's Aurora cluster, in the user's VPC of isolated subnets only, with the pipeline's endpoints. */
  existingClusterIsolated: (stack: Stack): KxEventsPipelineProps => {
    const vpc = isolatedVpc(stack);
    const cluster = rds.DatabaseCluster.fromDatabaseClusterAttributes(stack, 'Platform', {
      clusterIdentifier: 'platform-cluster',
      clusterEndpointAddress: 'platform-cluster.cluster-abc123.eu-west-1.rds.amazonaws.com',
      port: 5432,
      securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'PlatformSg', 'sg-0123456789abcdef0')],
    });
    return {
      vpc,
      database: EventsDatabase.fromCluster(cluster, platformAdminSecret(stack)),
      databaseName: 'kx_events',
      functionSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      createVpcEndpoints: true,
    };
  },
};

/** A VPC of the user's own with isolated subnets only: no NAT, no internet gateway. */
export function isolatedVpc(stack: Stack): ec2.Vpc {
  return ownVpc(stack, { subnetConfiguration: [{ name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
}

/** The admin secret of a database of the user's own, encrypted with a key of the user's. */
export function platformAdminSecret(stack: Stack): secretsmanager.ISecret {
  return secretsmanager.Secret.fromSecretAttributes(stack, 'PlatformAdmin', {
    secretCompleteArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:platform-admin-AbCdEf',
    encryptionKey: kms.Key.fromKeyArn(stack, 'PlatformKey', 'arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-0000-1111-2222-333344445555'),
  });
}

/** A stack parameter: a value known only at deploy time, as an unresolved token in the props. */
export function parameter(stack: Stack, name: string, type: 'Number' | 'String' = 'Number'): CfnParameter {
  return new CfnParameter(stack, name, { type });
}
