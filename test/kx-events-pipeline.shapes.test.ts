import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { pipelineScenarios, pipelineStack, testApp, type PipelineUnderTest } from './kx-events-pipeline.harness';
import { KxEventsPipeline } from '../src';

/** Each shape is synthesized once for the whole file, when a test first asks for it. */
function once(build: () => PipelineUnderTest): () => PipelineUnderTest {
  let built: PipelineUnderTest | undefined;
  return () => built ??= build();
}
const defaults = once(() => pipelineStack());
const aurora = once(() => pipelineStack(pipelineScenarios.auroraWithProxy));
const existingInstance = once(() => pipelineStack(pipelineScenarios.existingInstanceWithProxy));
const existingCluster = once(() => pipelineStack(pipelineScenarios.existingClusterIsolated));
const noNat = once(() => pipelineStack(pipelineScenarios.noNat));

const ENDPOINT_SERVICES = ['secretsmanager', 'sqs'];

/** The environment variables of the function whose description matches. */
function environmentOf({ template }: PipelineUnderTest, description: string): Record<string, unknown> {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp(description) } }));
  return fn.Properties.Environment.Variables;
}

describe('the roles\' secrets', () => {
  test('writer and reader: generated, encrypted with the pipeline\'s key, attached to the database, with the admin secret as their master', () => {
    const { stack, pipeline, template } = defaults();
    for (const username of ['kx_events_writer', 'kx_events_reader']) {
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        KmsKeyId: stack.resolve(pipeline.encryptionKey.keyArn),
        GenerateSecretString: {
          SecretStringTemplate: { 'Fn::Join': ['', [`{"username":"${username}","masterarn":"`, stack.resolve(pipeline.databaseSecret.secretArn), '"}']] },
        },
      });
    }
    template.resourcePropertiesCountIs('AWS::SecretsManager::SecretTargetAttachment',
      { TargetId: stack.resolve(pipeline.databaseInstance!.instanceIdentifier), TargetType: 'AWS::RDS::DBInstance' }, 3);
  });

  test('each is rotated by AWS\'s multi-user PostgreSQL rotation, with the admin secret, after the migration', () => {
    const { stack, pipeline, template } = defaults();
    const multiUser = template.findResources('AWS::Serverless::Application', {
      Properties: { Parameters: { masterSecretArn: stack.resolve(pipeline.databaseSecret.secretArn) } },
    });
    expect(Object.keys(multiUser)).toHaveLength(2);
    for (const application of Object.values(multiUser)) {
      expect(application.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^PipelineSchema/)]));
    }
    for (const secret of [pipeline.writerSecret, pipeline.readerSecret]) {
      template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { SecretId: stack.resolve(secret.secretArn), RotationRules: { ScheduleExpression: 'rate(30 days)' } });
    }
  });

  test('the migration gets all three secrets and the database\'s name; the consumer only the writer\'s', () => {
    const { stack, pipeline } = defaults();
    expect(environmentOf(defaults(), 'events schema')).toMatchObject({
      DB_SECRET_ARN: stack.resolve(pipeline.databaseSecret.secretArn),
      DB_WRITER_SECRET_ARN: stack.resolve(pipeline.writerSecret.secretArn),
      DB_READER_SECRET_ARN: stack.resolve(pipeline.readerSecret.secretArn),
      DB_NAME: 'events',
    });
    const consumer = environmentOf(defaults(), 'stores tracked events');
    expect(consumer.DB_SECRET_ARN).toEqual(stack.resolve(pipeline.writerSecret.secretArn));
    expect(Object.keys(consumer).filter(name => name.endsWith('SECRET_ARN'))).toEqual(['DB_SECRET_ARN']);
  });

  test('grantReadEvents grants reading the reader\'s secret, and decrypting it', () => {
    const stack = new Stack(testApp(), 'Events');
    const pipeline = new KxEventsPipeline(stack, 'Pipeline');
    const analyst = new iam.Role(stack, 'Analyst', { assumedBy: new iam.AccountRootPrincipal() });
    pipeline.grantReadEvents(analyst);
    const template = Template.fromStack(stack);
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [stack.resolve(analyst.roleName)] } }));
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: stack.resolve(pipeline.readerSecret.secretArn) }),
    ]);
    // The key is the pipeline's, in the same stack: the grant to decrypt is in its key policy, through Secrets Manager only.
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: 'kms:Decrypt',
          Principal: { AWS: stack.resolve(analyst.roleArn) },
          Condition: { StringEquals: { 'kms:ViaService': Match.anyValue() } },
        })]),
      },
    });
  });
});

describe('Aurora Serverless v2', () => {
  test('a cluster of PostgreSQL 16, with the capacity and the readers asked for, and the instance\'s defaults', () => {
    const { stack, pipeline, template } = aurora();
    template.hasResource('AWS::RDS::DBCluster', {
      Properties: {
        Engine: 'aurora-postgresql',
        EngineVersion: '16',
        ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
        StorageEncrypted: true,
        KmsKeyId: stack.resolve(pipeline.encryptionKey.keyArn),
        BackupRetentionPeriod: 7,
        DeletionProtection: true,
        EnableCloudwatchLogsExports: ['postgresql'],
        DatabaseName: 'events',
      },
      DeletionPolicy: 'Snapshot',
    });
    template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', { Family: 'aurora-postgresql16', Parameters: { 'rds.force_ssl': '1' } });
    template.resourcePropertiesCountIs('AWS::RDS::DBInstance', { DBInstanceClass: 'db.serverless', PubliclyAccessible: false, CACertificateIdentifier: 'rds-ca-rsa2048-g1' }, 2);
    template.resourceCountIs('AWS::RDS::DBInstance', 2);
    expect(pipeline.databaseCluster).toBeDefined();
    expect(pipeline.databaseInstance).toBeUndefined();
  });

  test('its log group is the pipeline\'s, created before the cluster exports into it', () => {
    const { template } = aurora();
    const [clusterId] = Object.keys(template.findResources('AWS::RDS::DBCluster'));
    const [cluster] = Object.values(template.findResources('AWS::RDS::DBCluster'));
    const groups = template.findResources('AWS::Logs::LogGroup', { Properties: { LogGroupName: Match.stringLikeRegexp('^/aws/rds/cluster/kx-.*/postgresql$') } });
    expect(Object.keys(groups)).toHaveLength(1);
    expect(cluster.DependsOn).toEqual(expect.arrayContaining(Object.keys(groups)));
    expect(clusterId).toMatch(/^PipelineDatabase/);
  });
});

describe('RDS Proxy', () => {
  test('TLS required, the writer\'s secret registered with it, the consumer connects through it', () => {
    const { stack, pipeline, template } = aurora();
    template.hasResourceProperties('AWS::RDS::DBProxy', {
      EngineFamily: 'POSTGRESQL',
      RequireTLS: true,
      Auth: [Match.objectLike({ SecretArn: stack.resolve(pipeline.writerSecret.secretArn) })],
    });
    expect(environmentOf(aurora(), 'stores tracked events')).toMatchObject({
      DB_SECRET_ARN: stack.resolve(pipeline.writerSecret.secretArn),
      DB_HOST: stack.resolve(pipeline.proxy!.endpoint),
      DB_PORT: '5432',
    });
    // The migration connects to the database itself, as the admin.
    expect(environmentOf(aurora(), 'events schema').DB_HOST).toBeUndefined();
  });

  test('an alarm on sessions pinned to their connections', () => {
    const { stack, pipeline, template } = aurora();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/RDS',
      MetricName: 'DatabaseConnectionsCurrentlySessionPinned',
      Dimensions: [{ Name: 'ProxyName', Value: stack.resolve(pipeline.proxy!.dbProxyName) }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
    expect(pipeline.alarms.map(alarm => alarm.node.id)).toContain('ProxyPinnedSessionsAlarm');
  });

  test('no proxy by default, and no pinned-sessions alarm', () => {
    const { pipeline, template } = defaults();
    template.resourceCountIs('AWS::RDS::DBProxy', 0);
    expect(pipeline.proxy).toBeUndefined();
    expect(pipeline.alarms.map(alarm => alarm.node.id)).not.toContain('ProxyPinnedSessionsAlarm');
  });
});

describe('a database of your own', () => {
  test('an instance: nothing of it is created or rotated by the pipeline; its security group opens to the functions', () => {
    const { stack, pipeline, template } = existingInstance();
    template.resourceCountIs('AWS::RDS::DBInstance', 0);
    template.resourceCountIs('AWS::RDS::DBCluster', 0);
    // The roles' two multi-user rotations only: the admin secret is the user's to rotate.
    template.resourceCountIs('AWS::Serverless::Application', 2);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: 'sg-0123456789abcdef0',
      IpProtocol: 'tcp',
      FromPort: 5432,
      ToPort: 5432,
      SourceSecurityGroupId: stack.resolve(pipeline.functionSecurityGroup.securityGroupId),
    });
    template.hasResourceProperties('AWS::SecretsManager::SecretTargetAttachment', { TargetId: 'platform-db', TargetType: 'AWS::RDS::DBInstance' });
    expect(environmentOf(existingInstance(), 'events schema')).toMatchObject({
      DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:platform-admin-AbCdEf',
      DB_NAME: 'events',
    });
    template.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', { DBInstanceIdentifiers: ['platform-db'] });
  });

  test('a cluster: its writer endpoint, the named database, the secrets attached to the cluster', () => {
    const { template } = existingCluster();
    template.resourceCountIs('AWS::RDS::DBCluster', 0);
    template.hasResourceProperties('AWS::SecretsManager::SecretTargetAttachment', { TargetId: 'platform-cluster', TargetType: 'AWS::RDS::DBCluster' });
    expect(environmentOf(existingCluster(), 'stores tracked events')).toMatchObject({
      DB_HOST: 'platform-cluster.cluster-abc123.eu-west-1.rds.amazonaws.com',
      DB_PORT: '5432',
      DB_NAME: 'kx_events',
    });
  });
});

describe('network', () => {
  test.each([
    ['a new VPC without NAT', noNat],
    ['a VPC of isolated subnets only', existingCluster],
  ])('%s: interface endpoints for Secrets Manager and SQS, admitting the functions and the rotation', (_name, shape) => {
    const { stack, pipeline, template } = shape();
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint'));
    expect(endpoints.map(e => stack.resolve(e.Properties.ServiceName)['Fn::Join'][1].at(-1))).toEqual(ENDPOINT_SERVICES.map(service => `.${service}`));
    for (const endpoint of endpoints) expect(endpoint.Properties).toMatchObject({ VpcEndpointType: 'Interface', PrivateDnsEnabled: true });
    const [endpointGroup] = Object.keys(template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('interface endpoints') } }));
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { GroupId: { 'Fn::GetAtt': [endpointGroup, 'GroupId'] } } }));
    expect(ingress.map(rule => [rule.Properties.FromPort, rule.Properties.SourceSecurityGroupId])).toEqual([
      [443, stack.resolve(pipeline.functionSecurityGroup.securityGroupId)],
      [443, { 'Fn::GetAtt': [expect.stringMatching(/^PipelineRotationSecurityGroup/), 'GroupId'] }],
    ]);
    // Every function in the VPC is in the isolated subnets, which the endpoints serve.
    const isolated = pipeline.vpc.isolatedSubnets.map(subnet => stack.resolve(subnet.subnetId));
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      for (const subnet of fn.Properties.VpcConfig?.SubnetIds ?? []) expect(isolated).toContainEqual(subnet);
    }
  });

  test('a new VPC without NAT has no public subnet and no internet gateway', () => {
    const { pipeline, template } = noNat();
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    expect(pipeline.vpc.publicSubnets).toEqual([]);
  });

  test('no endpoints by default: the functions go through the NAT gateway', () => {
    const { template } = defaults();
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
  });
});

describe('KxEventsPipeline.fromPipelineAttributes', () => {
  test('a producer in another app: granted sending with the key, given EVENTS_QUEUE_URL, watched', () => {
    const stack = new Stack(testApp(), 'Producers', { env: { account: '123456789012', region: 'eu-west-1' } });
    const queueArn = 'arn:aws:sqs:eu-west-1:123456789012:events-queue';
    const encryptionKeyArn = 'arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-0000-1111-2222-333344445555';
    const pipeline = KxEventsPipeline.fromPipelineAttributes(stack, 'Events', { queueArn, encryptionKeyArn });
    const producer = new lambda.Function(stack, 'Signup', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {}'),
      logGroup: new logs.LogGroup(stack, 'SignupLogs'),
    });
    pipeline.addProducer(producer);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { EVENTS_QUEUE_URL: stack.resolve(pipeline.queue.queueUrl) } },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['sqs:SendMessage']), Resource: queueArn }),
          Match.objectLike({ Action: Match.arrayWith(['kms:GenerateDataKey*']), Resource: encryptionKeyArn }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: Match.stringLikeRegexp('kx-events.unpublished') });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 1);
    expect(JSON.stringify(stack.resolve(pipeline.queue.queueUrl))).toContain('/123456789012/events-queue');
  });
});
