/**
 * Synthesizes the pipeline's templates for the template scanners (checkov, cfn-lint) of
 * `npx projen check:templates`: the default shape, and one that takes the other branches
 * (its own VPC and key, multi-AZ, no Enhanced Monitoring, no dashboard, large batches).
 * Usage: synth-templates.ts OUTDIR
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { KxEventsPipeline } from '../src';

const outdir = process.argv[2];
if (!outdir) throw new Error('usage: synth-templates.ts OUTDIR');
const app = new App({ outdir });

new KxEventsPipeline(new Stack(app, 'Defaults'), 'Events');

const other = new Stack(app, 'OwnVpcMultiAz');
// The user's own key and VPC, whose flow logs the user encrypts as the pipeline does its own.
const key = new kms.Key(other, 'Key', { enableKeyRotation: true });
const flowLogs = new logs.LogGroup(other, 'FlowLogs', { encryptionKey: key, retention: logs.RetentionDays.ONE_MONTH });
new KxEventsPipeline(other, 'Events', {
  vpc: new ec2.Vpc(other, 'Vpc', {
    subnetConfiguration: [
      { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'App', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      { name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
    flowLogs: { Rejected: { trafficType: ec2.FlowLogTrafficType.REJECT, destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) } },
  }),
  encryptionKey: key,
  multiAz: true,
  monitoringInterval: Duration.seconds(0),
  createDashboard: false,
  batchSize: 1000,
  maxBatchingWindow: Duration.seconds(10),
  maxConcurrency: 20,
  maxReceiveCount: 5,
});

app.synth();
