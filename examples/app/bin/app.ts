import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as sns from 'aws-cdk-lib/aws-sns';
// In your own app: import { EventsDatabase, KxEventsPipeline } from 'kx-events-cdk';
import { EventsDatabase, KxEventsPipeline } from '../../../src';

const app = new App();
const stack = new Stack(app, 'KxEventsExample', {
  description: 'kx-events example: a sign-up function that tracks events into PostgreSQL through SQS',
});

// An encrypted alarm topic: CloudWatch may publish to it only if the key lets it.
const alarmsKey = new kms.Key(stack, 'AlarmsKey', { enableKeyRotation: true });
alarmsKey.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
const alarmTopic = new sns.Topic(stack, 'Alarms', { masterKey: alarmsKey, enforceSSL: true });
const pipeline = new KxEventsPipeline(stack, 'Events', {
  alarmTopic,
  // The events in Aurora PostgreSQL Serverless v2, from 0.5 to 4 ACUs, with one reader to fail over to.
  database: EventsDatabase.auroraServerlessV2({ minCapacity: 0.5, maxCapacity: 4, readers: 1 }),
});

// The example's own function may be bundled by NodejsFunction (esbuild, at synth); the pipeline's
// functions are not: they ship pre-bundled inside kx-events-cdk.
const signup = new nodejs.NodejsFunction(stack, 'Signup', {
  entry: path.join(__dirname, '..', 'handlers', 'signup.ts'),
  runtime: lambda.Runtime.NODEJS_24_X,
  architecture: lambda.Architecture.ARM_64,
  bundling: {
    tsconfig: path.join(__dirname, '..', 'tsconfig.json'),
    // The AWS SDK v3 is in the Lambda runtime.
    externalModules: ['@aws-sdk/*'],
  },
});
pipeline.addProducer(signup);

app.synth();
