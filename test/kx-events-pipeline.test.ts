import * as path from 'path';
import { CfnResource, Duration, FileSystem, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ownVpc, parameter, pipelineStack, testApp } from './kx-events-pipeline.harness';
import type { BatchCounts } from '../lambda/lib/telemetry';
import { KxEventsPipeline, KxEventsPipelineProps } from '../src';
import { CONSUMER_METRICS } from '../src/private/consumer-metrics';

const GIB = 1024 ** 3;

/** The statements of every IAM policy attached to a role, flattened. */
function statementsOfRole(template: Template, stack: Stack, role: iam.IRole): any[] {
  const roleRef = stack.resolve(role.roleName);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter(policy => JSON.stringify(policy.Properties.Roles).includes(JSON.stringify(roleRef)))
    .flatMap(policy => policy.Properties.PolicyDocument.Statement);
}

function actionsOf(statement: any): string[] {
  return [statement.Action].flat();
}

describe('KxEventsPipeline defaults', () => {
  const { stack, pipeline, template } = pipelineStack();

  test('a new VPC: 2 AZs, public, private-with-egress and isolated subnets, one NAT gateway, flow logs', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 6);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
    expect(pipeline.vpc.publicSubnets).toHaveLength(2);
    expect(pipeline.vpc.privateSubnets).toHaveLength(2);
    expect(pipeline.vpc.isolatedSubnets).toHaveLength(2);
  });

  test('a customer-managed key with rotation', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('the queue: encrypted by the key, 5 minutes visibility, 4 days retention, 256 KiB, redrive after 3 receives', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: stack.resolve(pipeline.encryptionKey.keyArn),
      VisibilityTimeout: 300,
      MessageRetentionPeriod: 4 * 24 * 3600,
      MaximumMessageSize: 262_144,
      RedrivePolicy: { deadLetterTargetArn: stack.resolve(pipeline.deadLetterQueue.queueArn), maxReceiveCount: 3 },
    });
  });

  test('the dead-letter queue: encrypted by the key, 14 days retention, room for an event and its reason', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: stack.resolve(pipeline.encryptionKey.keyArn),
      MessageRetentionPeriod: 14 * 24 * 3600,
      MaximumMessageSize: 1_048_576,
      RedrivePolicy: Match.absent(),
    });
  });

  test('both queues deny requests without TLS', () => {
    for (const queue of [pipeline.queue, pipeline.deadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [stack.resolve(queue.queueUrl)],
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          })]),
        },
      });
    }
  });

  test('PostgreSQL 16 (RDS picks the minor) on t4g.micro, 20..100 GiB, single AZ, 7 days of backups, protected, encrypted by the key, not public', () => {
    template.hasResource('AWS::RDS::DBInstance', {
      Properties: {
        Engine: 'postgres',
        EngineVersion: '16',
        DBInstanceClass: 'db.t4g.micro',
        AllocatedStorage: '20',
        MaxAllocatedStorage: 100,
        MultiAZ: false,
        BackupRetentionPeriod: 7,
        DeletionProtection: true,
        PubliclyAccessible: false,
        StorageEncrypted: true,
        KmsKeyId: stack.resolve(pipeline.encryptionKey.keyArn),
        DBName: 'events',
        Port: '5432',
        EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
      },
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
    });
  });

  test('the database is in the isolated subnets', () => {
    template.hasResourceProperties('AWS::RDS::DBSubnetGroup', {
      SubnetIds: pipeline.vpc.isolatedSubnets.map(subnet => stack.resolve(subnet.subnetId)),
    });
  });

  test('a parameter group that requires TLS', () => {
    template.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Family: 'postgres16',
      Parameters: { 'rds.force_ssl': '1' },
    });
  });

  test('the exported logs have log groups of their own, kept one month, created before the database', () => {
    const instance = template.findResources('AWS::RDS::DBInstance');
    const [instanceId] = Object.keys(instance);
    const identifier = instance[instanceId].Properties.DBInstanceIdentifier;
    // RDS: 1..63 letters, digits or hyphens, starting with a letter; unique per stack and construct path.
    expect(identifier).toMatch(/^kx-[a-z0-9]{1,60}$/);
    for (const name of ['postgresql', 'upgrade']) {
      const groups = template.findResources('AWS::Logs::LogGroup', {
        Properties: { LogGroupName: `/aws/rds/instance/${identifier}/${name}`, RetentionInDays: 30 },
      });
      expect(Object.keys(groups)).toHaveLength(1);
      expect(instance[instanceId].DependsOn).toContain(Object.keys(groups)[0]);
    }
  });

  test('the credentials secret is encrypted by the key and rotated every 30 days by a function in the private subnets', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      KmsKeyId: stack.resolve(pipeline.encryptionKey.keyArn),
    });
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: stack.resolve(pipeline.databaseSecret.secretArn),
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    template.hasResourceProperties('AWS::Serverless::Application', {
      Parameters: Match.objectLike({
        vpcSubnetIds: stack.resolve(pipeline.vpc.privateSubnets.map(subnet => subnet.subnetId).join(',')),
        kmsKeyArn: stack.resolve(pipeline.encryptionKey.keyArn),
      }),
    });
  });

  test('the rotation starts after the migration, so it never changes the password under it', () => {
    const [rotation] = Object.values(template.findResources('AWS::Serverless::Application'));
    expect(rotation.DependsOn).toContain(Object.keys(template.findResources('Custom::KxEventsSchema'))[0]);
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationLambdaARN: { 'Fn::GetAtt': [Object.keys(template.findResources('AWS::Serverless::Application'))[0], 'Outputs.RotationLambdaARN'] },
    });
  });

  test('the consumer: the bundled asset on Node.js 24, arm64, 30 s, 512 MB, in the private subnets', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: Match.absent(),
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 30,
      MemorySize: 512,
      Description: Match.stringLikeRegexp('stores tracked events'),
      VpcConfig: {
        SubnetIds: pipeline.vpc.privateSubnets.map(subnet => stack.resolve(subnet.subnetId)),
        SecurityGroupIds: [stack.resolve(pipeline.functionSecurityGroup.securityGroupId)],
      },
      Environment: {
        Variables: {
          DB_SECRET_ARN: stack.resolve(pipeline.writerSecret.secretArn),
          DB_HOST: stack.resolve(pipeline.databaseInstance!.dbInstanceEndpointAddress),
          DB_PORT: stack.resolve(pipeline.databaseInstance!.dbInstanceEndpointPort),
          DB_NAME: 'events',
          DEAD_LETTER_QUEUE_URL: stack.resolve(pipeline.deadLetterQueue.queueUrl),
          MAX_RECEIVE_COUNT: '3',
          NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
          AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
        },
      },
      LoggingConfig: { LogGroup: Match.anyValue() },
    });
  });

  test('the consumer\'s logs are kept one month', () => {
    const consumer = template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('stores tracked events') } });
    const logGroupRef = Object.values(consumer)[0].Properties.LoggingConfig.LogGroup;
    const logGroup = template.toJSON().Resources[logGroupRef.Ref];
    expect(logGroup.Properties.RetentionInDays).toBe(30);
  });

  test('the event source: batches of 10, no window, 5 at once, partial batch failures, after the schema and the permissions', () => {
    template.hasResource('AWS::Lambda::EventSourceMapping', {
      Properties: {
        EventSourceArn: stack.resolve(pipeline.queue.queueArn),
        FunctionName: stack.resolve(pipeline.consumer.functionName),
        BatchSize: 10,
        MaximumBatchingWindowInSeconds: Match.absent(),
        ScalingConfig: { MaximumConcurrency: 5 },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      },
    });
    const [mapping] = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
    expect(mapping.DependsOn).toEqual(expect.arrayContaining([
      Object.keys(template.findResources('Custom::KxEventsSchema'))[0],
      stack.resolve(pipeline.consumer.role!.roleName).Ref,
      ...Object.keys(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [stack.resolve(pipeline.consumer.role!.roleName)] } })),
    ]));
  });

  test('the schema migration: a Provider framework custom resource that runs again when the bundle or the database changes', () => {
    const schema = Object.values(template.findResources('Custom::KxEventsSchema'));
    expect(schema).toHaveLength(1);
    expect(schema[0].Properties.MigrationBundleHash).toMatch(/^[0-9a-f]{64}$/);
    expect(schema[0].Properties.DatabaseEndpoint).toEqual(stack.resolve(pipeline.databaseInstance!.dbInstanceEndpointAddress));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('creates and upgrades the events schema'),
      Runtime: 'nodejs24.x',
      // Longer than the migration's statement timeout (10 minutes), so a slow migration fails as itself.
      Timeout: 900,
      Environment: {
        Variables: Match.objectLike({
          DB_SECRET_ARN: stack.resolve(pipeline.databaseSecret.secretArn),
          NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
        }),
      },
      VpcConfig: { SecurityGroupIds: [stack.resolve(pipeline.functionSecurityGroup.securityGroupId)], SubnetIds: Match.anyValue() },
    });
  });

  test('the functions\' security group sends only HTTPS out, and PostgreSQL to the database', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupId: Match.absent(),
      GroupDescription: Match.stringLikeRegexp('consumer and migration'),
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: Match.anyValue() }],
      SecurityGroupIngress: Match.absent(),
    });
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress', {
      Properties: { GroupId: stack.resolve(pipeline.functionSecurityGroup.securityGroupId) },
    }));
    expect(egress.map(rule => rule.Properties)).toEqual([expect.objectContaining({
      IpProtocol: 'tcp',
      FromPort: 5432,
      ToPort: 5432,
      DestinationSecurityGroupId: stack.resolve(pipeline.databaseInstance!.connections.securityGroups[0].securityGroupId),
    })]);
  });

  test('the database\'s security group admits PostgreSQL from the functions and the rotation only, and sends nothing', () => {
    const databaseGroup = pipeline.databaseInstance!.connections.securityGroups[0];
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('database'),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })],
      SecurityGroupIngress: Match.absent(),
    });
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map(rule => rule.Properties);
    expect(ingress).toHaveLength(2);
    const port = stack.resolve(pipeline.databaseInstance!.dbInstanceEndpointPort);
    const rotationGroup = Object.entries(template.findResources('AWS::EC2::SecurityGroup', {
      Properties: { GroupDescription: Match.stringLikeRegexp('rotation') },
    }))[0][0];
    expect(ingress).toEqual(expect.arrayContaining([
      expect.objectContaining({
        GroupId: stack.resolve(databaseGroup.securityGroupId),
        IpProtocol: 'tcp',
        FromPort: 5432,
        ToPort: 5432,
        SourceSecurityGroupId: stack.resolve(pipeline.functionSecurityGroup.securityGroupId),
      }),
      expect.objectContaining({
        GroupId: stack.resolve(databaseGroup.securityGroupId),
        IpProtocol: 'tcp',
        FromPort: port,
        ToPort: port,
        SourceSecurityGroupId: { 'Fn::GetAtt': [rotationGroup, 'GroupId'] },
      }),
    ]));
    expect(port).toEqual({ 'Fn::GetAtt': [Object.keys(template.findResources('AWS::RDS::DBInstance'))[0], 'Endpoint.Port'] });
  });

  test('the rotation\'s security group sends only HTTPS out, and PostgreSQL to the database', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('rotation'),
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: Match.anyValue() }],
    });
    // The rotation's rule is on the database's port (5432, set on the instance), as addRotationSingleUser makes it.
    const rotationGroup = Object.keys(template.findResources('AWS::EC2::SecurityGroup', {
      Properties: { GroupDescription: Match.stringLikeRegexp('rotation') },
    }))[0];
    const port = stack.resolve(pipeline.databaseInstance!.dbInstanceEndpointPort);
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress', {
      Properties: { GroupId: { 'Fn::GetAtt': [rotationGroup, 'GroupId'] } },
    }));
    expect(egress.map(rule => rule.Properties)).toEqual([expect.objectContaining({
      IpProtocol: 'tcp',
      FromPort: port,
      ToPort: port,
      DestinationSecurityGroupId: stack.resolve(pipeline.databaseInstance!.connections.securityGroups[0].securityGroupId),
    })]);
  });

  test('outputs: the queue URL, the dead-letter queue URL, the database endpoint, the admin and reader secret ARNs', () => {
    const outputs = Object.values(template.findOutputs('*')).map(output => output.Value);
    expect(outputs).toEqual([
      stack.resolve(pipeline.queue.queueUrl),
      stack.resolve(pipeline.deadLetterQueue.queueUrl),
      stack.resolve(pipeline.databaseInstance!.dbInstanceEndpointAddress),
      stack.resolve(pipeline.databaseSecret.secretArn),
      stack.resolve(pipeline.readerSecret.secretArn),
    ]);
  });

  test('no function is a NodejsFunction: every handler is a pre-bundled asset', () => {
    // The code of each is the bundle in assets/, byte for byte: its asset hash is that directory's fingerprint.
    for (const [description, bundle] of [['stores tracked events', 'consumer'], ['events schema', 'migrate']]) {
      const fingerprint = FileSystem.fingerprint(path.join(__dirname, '..', 'assets', 'lambda', `${bundle}.lambda`));
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp(description),
        Handler: 'index.handler',
        Code: { S3Bucket: Match.anyValue(), S3Key: `${fingerprint}.zip` },
      });
    }
  });

  test('every public member is set', () => {
    expect(pipeline.alarms).toHaveLength(12);
    expect(pipeline.eventSourceMapping.eventSourceMappingId).toBeDefined();
    expect(pipeline.migrationFunction.functionArn).toBeDefined();
    expect(pipeline.databaseSecret.secretArn).toBeDefined();
    // Each member is the resource it names in the template, not merely some value.
    const resourceOf = (ref: unknown) => {
      const resolved = stack.resolve(ref) as { 'Ref'?: string; 'Fn::GetAtt'?: [string, string] };
      return template.toJSON().Resources[resolved.Ref ?? resolved['Fn::GetAtt']![0]];
    };
    expect(resourceOf(pipeline.eventSourceMapping.eventSourceMappingId).Type).toBe('AWS::Lambda::EventSourceMapping');
    expect(resourceOf(pipeline.migrationFunction.functionArn).Properties.Description).toBe('kx-events: creates and upgrades the events schema');
    expect(resourceOf(pipeline.consumer.functionArn).Properties.Description).toBe('kx-events: stores tracked events from the queue in PostgreSQL');
    expect(resourceOf(pipeline.databaseSecret.secretArn).Type).toBe('AWS::SecretsManager::SecretTargetAttachment');
    expect(resourceOf(pipeline.databaseInstance!.instanceIdentifier).Type).toBe('AWS::RDS::DBInstance');
    expect(resourceOf(pipeline.functionSecurityGroup.securityGroupId).Properties.GroupDescription).toMatch(/^kx-events consumer and migration/);
    expect(pipeline.alarms.map(a => resourceOf(a.alarmArn).Type)).toEqual(Array(12).fill('AWS::CloudWatch::Alarm'));
    expect(resourceOf(pipeline.maintenanceFunction.functionArn).Properties.Description).toMatch(/^kx-events: makes the events table's partitions ahead/);
    expect(resourceOf(pipeline.dashboard!.dashboardName).Type).toBe('AWS::CloudWatch::Dashboard');
  });
});

describe('KxEventsPipeline partition maintenance', () => {
  test('runs every hour as the admin, with the migration\'s environment, and keeps events forever by default', () => {
    const { template, pipeline, stack } = pipelineStack();
    const fn = template.toJSON().Resources[(stack.resolve(pipeline.maintenanceFunction.functionArn) as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0]];
    expect(fn.Properties.Environment.Variables).toEqual({
      AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
      DB_NAME: 'events',
      DB_SECRET_ARN: stack.resolve(pipeline.databaseSecret.secretArn),
      NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'PartitionDaysAhead', Namespace: 'KxEvents', ComparisonOperator: 'LessThanThreshold', Threshold: 1, TreatMissingData: 'breaching',
    });
  });

  test('retention becomes RETENTION_DAYS', () => {
    const { template } = pipelineStack({ retention: Duration.days(90) });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ RETENTION_DAYS: '90' }) } });
  });
});

describe('KxEventsPipeline alarms', () => {
  test('twelve alarms, without actions by default', () => {
    const { template } = pipelineStack();
    template.resourceCountIs('AWS::CloudWatch::Alarm', 12);
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
      expect(alarm.Properties.OKActions).toBeUndefined();
      expect(alarm.Properties.InsufficientDataActions).toBeUndefined();
    }
  });

  const { stack, pipeline, template } = pipelineStack(s => ({ alarmTopic: new sns.Topic(s, 'Alarms') }));
  const topic = { Ref: Object.keys(template.findResources('AWS::SNS::Topic'))[0] };

  test.each([
    ['the dead-letter queue has a message', { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, Dimensions: [{ Name: 'QueueName', Value: stack.resolve(pipeline.deadLetterQueue.queueName) }] }],
    ['the oldest event is older than maxReceiveCount × visibilityTimeout', { Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', ComparisonOperator: 'GreaterThanThreshold', Threshold: 900, Dimensions: [{ Name: 'QueueName', Value: stack.resolve(pipeline.queue.queueName) }] }],
    ['the consumer reports failed events in 3 consecutive minutes', {
      Namespace: 'KxEvents',
      MetricName: 'failed',
      Statistic: 'Sum',
      Period: 60,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
      Dimensions: [{ Name: 'FunctionName', Value: stack.resolve(pipeline.consumer.functionName) }],
    }],
    ['the consumer dead-letters invalid events', {
      Namespace: 'KxEvents',
      MetricName: 'invalid',
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      Dimensions: [{ Name: 'FunctionName', Value: stack.resolve(pipeline.consumer.functionName) }],
    }],
    ['the event source mapping fails to get events processed for 15 minutes', {
      Namespace: 'AWS/Lambda',
      MetricName: 'FailedInvokeEventCount',
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
      Dimensions: [{ Name: 'EventSourceMappingUUID', Value: stack.resolve(pipeline.eventSourceMapping.eventSourceMappingId) }],
    }],
    ['the consumer fails', { Namespace: 'AWS/Lambda', MetricName: 'Errors', ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1 }],
    ['the consumer is throttled', { Namespace: 'AWS/Lambda', MetricName: 'Throttles', ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1 }],
    ['the database CPU is high', { Namespace: 'AWS/RDS', MetricName: 'CPUUtilization', ComparisonOperator: 'GreaterThanThreshold', Threshold: 80 }],
    ['the database storage runs out', { Namespace: 'AWS/RDS', MetricName: 'FreeStorageSpace', ComparisonOperator: 'LessThanThreshold', Threshold: 2 * GIB }],
    ['the database has too many connections', { Namespace: 'AWS/RDS', MetricName: 'DatabaseConnections', ComparisonOperator: 'GreaterThanThreshold', Threshold: 10 }],
  ])('alarm when %s, to the alarm topic on alarm and on recovery', (_name, expected) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...expected,
      AlarmActions: [topic],
      OKActions: [topic],
    });
  });

  test('thresholds follow the props', () => {
    const custom = pipelineStack({
      visibilityTimeout: Duration.minutes(10),
      maxReceiveCount: 5,
      maxConcurrency: 20,
      allocatedStorageGiB: 50,
    }).template;
    custom.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 3000 });
    custom.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DatabaseConnections', Threshold: 40 });
    custom.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'FreeStorageSpace', Threshold: 5 * GIB });
  });

  test('a threshold setting given as an unresolved token: the default threshold, with a warning, never a meaningless number', () => {
    const { template: t, annotations } = pipelineStack((own) => ({
      visibilityTimeout: Duration.seconds(parameter(own, 'Visibility').valueAsNumber),
      maxReceiveCount: parameter(own, 'Receives').valueAsNumber,
      maxConcurrency: parameter(own, 'Concurrency').valueAsNumber,
      allocatedStorageGiB: parameter(own, 'Storage').valueAsNumber,
    }));
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 900 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DatabaseConnections', Threshold: 10 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'FreeStorageSpace', Threshold: 2 * GIB });
    for (const prop of ['visibilityTimeout', 'maxReceiveCount', 'maxConcurrency', 'allocatedStorageGiB']) {
      annotations.hasWarning('/Events/Pipeline', Match.stringLikeRegexp(`^${prop} is an unresolved token: the alarm thresholds computed from it use its default`));
    }
    // The tokens still reach what they configure.
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: { Ref: 'Concurrency' } } });
  });
});

describe('KxEventsPipeline props', () => {
  test('vpc: the given VPC is used, and none is created', () => {
    let own!: ec2.Vpc;
    const { stack, template } = pipelineStack(s => ({ vpc: own = ownVpc(s, { maxAzs: 3 }) }));
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', own.availabilityZones.length); // the VPC's own, not the pipeline's 1
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
    template.hasResourceProperties('AWS::RDS::DBSubnetGroup', { SubnetIds: own.isolatedSubnets.map(s => stack.resolve(s.subnetId)) });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('stores tracked events'),
      VpcConfig: Match.objectLike({ SubnetIds: own.privateSubnets.map(s => stack.resolve(s.subnetId)) }),
    });
  });

  test('vpc without isolated subnets: the database goes in the private subnets, with a warning', () => {
    const { stack, template, annotations } = pipelineStack(s => ({ vpc: new ec2.Vpc(s, 'Own', { maxAzs: 2 }) }));
    const own = stack.node.findChild('Own') as ec2.Vpc;
    template.hasResourceProperties('AWS::RDS::DBSubnetGroup', { SubnetIds: own.privateSubnets.map(s => stack.resolve(s.subnetId)) });
    annotations.hasWarning('/Events/Pipeline', Match.stringLikeRegexp('no isolated subnets'));
  });

  test('natGateways: the new VPC has that many', () => {
    pipelineStack({ natGateways: 2 }).template.resourceCountIs('AWS::EC2::NatGateway', 2);
  });

  test('natGateways with vpc: ignored, with a warning', () => {
    const { annotations } = pipelineStack(s => ({ vpc: new ec2.Vpc(s, 'Own'), natGateways: 2 }));
    annotations.hasWarning('/Events/Pipeline', Match.stringLikeRegexp('natGateways is ignored'));
  });

  test.each<[string, KxEventsPipelineProps, Record<string, unknown>]>([
    ['databaseInstanceType', { databaseInstanceType: ec2.InstanceType.of(ec2.InstanceClass.R7G, ec2.InstanceSize.LARGE) }, { DBInstanceClass: 'db.r7g.large' }],
    ['allocatedStorageGiB', { allocatedStorageGiB: 50 }, { AllocatedStorage: '50' }],
    ['maxAllocatedStorageGiB', { maxAllocatedStorageGiB: 500 }, { MaxAllocatedStorage: 500 }],
    ['multiAz', { multiAz: true }, { MultiAZ: true }],
    ['backupRetention', { backupRetention: Duration.days(35) }, { BackupRetentionPeriod: 35 }],
    ['deletionProtection', { deletionProtection: false }, { DeletionProtection: false }],
    ['databaseName', { databaseName: 'tracking' }, { DBName: 'tracking' }],
  ])('%s sets the database', (_prop, props, expected) => {
    pipelineStack(props).template.hasResourceProperties('AWS::RDS::DBInstance', expected);
  });

  test('removalPolicy: applies to the database, and its exported logs follow', () => {
    const destroyed = pipelineStack({ removalPolicy: RemovalPolicy.DESTROY }).template;
    destroyed.hasResource('AWS::RDS::DBInstance', { DeletionPolicy: 'Delete' });
    destroyed.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete', Properties: { LogGroupName: Match.stringLikeRegexp('/aws/rds/instance/') } });
    const retained = pipelineStack({ removalPolicy: RemovalPolicy.RETAIN }).template;
    retained.hasResource('AWS::RDS::DBInstance', { DeletionPolicy: 'Retain' });
    retained.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain', Properties: { LogGroupName: Match.stringLikeRegexp('/aws/rds/instance/') } });
  });

  test('rotationInterval sets the rotation schedule', () => {
    pipelineStack({ rotationInterval: Duration.days(7) }).template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(7 days)' },
    });
  });

  test('batchSize, maxBatchingWindow and maxConcurrency set the event source', () => {
    pipelineStack({ batchSize: 1000, maxBatchingWindow: Duration.seconds(20), maxConcurrency: 20 }).template
      .hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        BatchSize: 1000,
        MaximumBatchingWindowInSeconds: 20,
        ScalingConfig: { MaximumConcurrency: 20 },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
  });

  test('visibilityTimeout and retentionPeriod set the queue', () => {
    pipelineStack({ visibilityTimeout: Duration.minutes(15), retentionPeriod: Duration.days(1) }).template
      .hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 900, MessageRetentionPeriod: 86_400, RedrivePolicy: Match.anyValue() });
  });

  test('maxReceiveCount sets the redrive policy and the consumer\'s MAX_RECEIVE_COUNT', () => {
    const { template } = pipelineStack({ maxReceiveCount: 7 });
    template.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: Match.objectLike({ maxReceiveCount: 7 }) });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MAX_RECEIVE_COUNT: '7' }) },
    });
  });

  test('maxReceiveCount below 5 (the default 3 included): a warning that names the risk; 5 or more: none', () => {
    for (const props of [{}, { maxReceiveCount: 4 }]) {
      pipelineStack(props).annotations.hasWarning('/Events/Pipeline',
        Match.stringLikeRegexp('^maxReceiveCount is [34], below the 5 that AWS recommends.*dead-letter queue without a reason.*last receive'));
    }
    pipelineStack({ maxReceiveCount: 5 }).annotations.hasNoWarning('/Events/Pipeline', Match.stringLikeRegexp('maxReceiveCount'));
  });

  test('monitoringInterval: Enhanced Monitoring every 60 s by default, with its role; 0 turns it off', () => {
    const { template } = pipelineStack();
    template.hasResourceProperties('AWS::RDS::DBInstance', { MonitoringInterval: 60, MonitoringRoleArn: Match.anyValue() });
    pipelineStack({ monitoringInterval: Duration.seconds(15) }).template.hasResourceProperties('AWS::RDS::DBInstance', { MonitoringInterval: 15 });
    const off = pipelineStack({ monitoringInterval: Duration.seconds(0) }).template;
    off.hasResourceProperties('AWS::RDS::DBInstance', { MonitoringInterval: Match.absent(), MonitoringRoleArn: Match.absent() });
  });

  test('deadLetterRetentionPeriod sets the dead-letter queue', () => {
    pipelineStack({ deadLetterRetentionPeriod: Duration.days(10) }).template
      .hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 864_000, RedrivePolicy: Match.absent() });
  });

  test('deadLetterRetentionPeriod shorter than retentionPeriod: a warning', () => {
    pipelineStack({ deadLetterRetentionPeriod: Duration.days(2) }).annotations
      .hasWarning('/Events/Pipeline', Match.stringLikeRegexp('deadLetterRetentionPeriod is shorter than retentionPeriod'));
  });

  test('deadLetterRetentionPeriod or retentionPeriod as an unresolved token: no comparison, so no warning', () => {
    const { annotations } = pipelineStack((stack) => ({
      retentionPeriod: Duration.seconds(parameter(stack, 'Retention').valueAsNumber),
      deadLetterRetentionPeriod: Duration.seconds(parameter(stack, 'DeadLetterRetention').valueAsNumber),
    }));
    annotations.hasNoWarning('/Events/Pipeline', Match.stringLikeRegexp('deadLetterRetentionPeriod is shorter'));
  });

  test('consumerTimeout, consumerMemorySize and runtime set the consumer', () => {
    pipelineStack({
      consumerTimeout: Duration.seconds(60),
      visibilityTimeout: Duration.minutes(6),
      consumerMemorySize: 1024,
      runtime: lambda.Runtime.NODEJS_22_X,
    }).template
      .hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('stores tracked events'),
        Timeout: 60,
        MemorySize: 1024,
        Runtime: 'nodejs22.x',
      });
  });

  test('runtime sets the migration function too', () => {
    pipelineStack({ runtime: lambda.Runtime.NODEJS_22_X }).template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('events schema'),
      Runtime: 'nodejs22.x',
    });
  });

  test('logRetention sets every log group the pipeline creates', () => {
    const groups = Object.values(pipelineStack({ logRetention: logs.RetentionDays.ONE_YEAR }).template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThanOrEqual(6);
    for (const group of groups) {
      expect(group.Properties.RetentionInDays).toBe(365);
    }
  });

  test('encryptionKey: the given key encrypts the queues, the database and the secret, and none is created', () => {
    const { stack, template } = pipelineStack(s => ({ encryptionKey: new kms.Key(s, 'Own', { enableKeyRotation: true }) }));
    template.resourceCountIs('AWS::KMS::Key', 1);
    const key = stack.resolve((stack.node.findChild('Own') as kms.Key).keyArn);
    template.allResourcesProperties('AWS::SQS::Queue', { KmsMasterKeyId: key });
    template.hasResourceProperties('AWS::RDS::DBInstance', { KmsKeyId: key });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: key });
  });
});

describe('KxEventsPipeline grants', () => {
  const { stack, pipeline, template } = pipelineStack();
  const consumerStatements = statementsOfRole(template, stack, pipeline.consumer.role!);
  const queueArn = stack.resolve(pipeline.queue.queueArn);
  const deadLetterArn = stack.resolve(pipeline.deadLetterQueue.queueArn);
  const keyArn = stack.resolve(pipeline.encryptionKey.keyArn);

  test('the consumer consumes the queue', () => {
    expect(consumerStatements).toContainEqual(expect.objectContaining({
      Action: expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']),
      Resource: queueArn,
    }));
  });

  test('the consumer sends to the dead-letter queue, and to no other queue', () => {
    const sends = consumerStatements.filter(s => actionsOf(s).includes('sqs:SendMessage'));
    expect(sends.map(s => s.Resource)).toEqual([deadLetterArn]);
  });

  test('the consumer reads the writer\'s secret, and no other (never the admin\'s)', () => {
    const reads = consumerStatements.filter(s => actionsOf(s).includes('secretsmanager:GetSecretValue'));
    expect(reads.map(s => s.Resource)).toEqual([stack.resolve(pipeline.writerSecret.secretArn)]);
  });

  test('the consumer decrypts with the key, and with no other key', () => {
    const kmsStatements = consumerStatements.filter(s => actionsOf(s).some(a => a.startsWith('kms:')));
    expect(kmsStatements.length).toBeGreaterThan(0);
    for (const statement of kmsStatements) {
      expect(statement.Resource).toEqual(keyArn);
    }
    expect(kmsStatements.flatMap(actionsOf)).toContain('kms:Decrypt');
  });

  test('the consumer has nothing else: no wildcard resource', () => {
    for (const statement of consumerStatements) {
      expect(statement.Resource).not.toEqual('*');
    }
    const services = new Set(consumerStatements.flatMap(actionsOf).map(a => a.split(':')[0]));
    expect([...services].sort()).toEqual(['kms', 'secretsmanager', 'sqs']);
  });

  test('grantPublish: send to the queue, with the key', () => {
    const { stack: s, pipeline: p, template: t } = pipelineStack({}, (pl, st) => {
      pl.grantPublish(new iam.Role(st, 'Publisher', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
    });
    const publisher = s.node.findChild('Publisher') as iam.Role;
    const statements = statementsOfRole(t, s, publisher);
    expect(statements).toContainEqual(expect.objectContaining({ Action: expect.arrayContaining(['sqs:SendMessage']), Resource: s.resolve(p.queue.queueArn) }));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: expect.arrayContaining(['kms:GenerateDataKey*', 'kms:Encrypt']),
      Resource: s.resolve(p.encryptionKey.keyArn),
    }));
    expect(statements.filter(st => actionsOf(st).some(a => a.startsWith('sqs:'))).map(st => st.Resource)).toEqual([s.resolve(p.queue.queueArn)]);
  });

  test('addProducer: grants publishing and sets EVENTS_QUEUE_URL', () => {
    let producer!: lambda.Function;
    const { stack: s, pipeline: p, template: t } = pipelineStack({}, (pl, st) => {
      producer = new lambda.Function(st, 'Producer', {
        runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}'),
      });
      pl.addProducer(producer);
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Code: { ZipFile: Match.anyValue() },
      Environment: { Variables: { EVENTS_QUEUE_URL: s.resolve(p.queue.queueUrl) } },
    });
    expect(statementsOfRole(t, s, producer.role!)).toContainEqual(expect.objectContaining({
      Action: expect.arrayContaining(['sqs:SendMessage']), Resource: s.resolve(p.queue.queueArn),
    }));
  });
});

describe('KxEventsPipeline metrics', () => {
  const { stack, pipeline } = pipelineStack();
  test.each([
    ['metricQueueDepth', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', stack.resolve(pipeline.queue.queueName)],
    ['metricOldestMessageAge', 'AWS/SQS', 'ApproximateAgeOfOldestMessage', 'Maximum', stack.resolve(pipeline.queue.queueName)],
    ['metricDeadLetterQueueDepth', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', stack.resolve(pipeline.deadLetterQueue.queueName)],
    ['metricConsumerErrors', 'AWS/Lambda', 'Errors', 'Sum', stack.resolve(pipeline.consumer.functionName)],
    ['metricConsumerThrottles', 'AWS/Lambda', 'Throttles', 'Sum', stack.resolve(pipeline.consumer.functionName)],
    ['metricConsumerDuration', 'AWS/Lambda', 'Duration', 'Average', stack.resolve(pipeline.consumer.functionName)],
    // The consumer's own counts, as its batch summary (an EMF record) names them.
    ['metricInsertedEvents', 'KxEvents', 'inserted', 'Sum', stack.resolve(pipeline.consumer.functionName)],
    ['metricDuplicateEvents', 'KxEvents', 'duplicates', 'Sum', stack.resolve(pipeline.consumer.functionName)],
    ['metricInvalidEvents', 'KxEvents', 'invalid', 'Sum', stack.resolve(pipeline.consumer.functionName)],
    ['metricDeferredEvents', 'KxEvents', 'deferred', 'Sum', stack.resolve(pipeline.consumer.functionName)],
    ['metricFailedEvents', 'KxEvents', 'failed', 'Sum', stack.resolve(pipeline.consumer.functionName)],
    ['metricUnlinkedEvents', 'KxEvents', 'unlinked', 'Sum', stack.resolve(pipeline.consumer.functionName)],
  ] as const)('%s', (method, namespace, metricName, statistic, dimension) => {
    const metric = pipeline[method]();
    expect(metric.namespace).toBe(namespace);
    expect(metric.metricName).toBe(metricName);
    expect(metric.statistic).toBe(statistic);
    expect(metric.period.toMinutes()).toBe(5);
    expect(Object.values(metric.dimensions ?? {}).map(v => stack.resolve(v))).toEqual([dimension]);
    expect(pipeline[method]({ period: Duration.minutes(1) }).period.toMinutes()).toBe(1);
  });
});

describe('KxEventsPipeline consumer metrics', () => {
  const { stack, pipeline } = pipelineStack();

  test('the consumer\'s counts are dimensioned by FunctionName, the name Lambda gives the consumer as AWS_LAMBDA_FUNCTION_NAME', () => {
    expect(pipeline.metricFailedEvents().dimensions).toEqual({ FunctionName: pipeline.consumer.functionName });
    expect(stack.resolve(pipeline.consumer.functionName)).toEqual({ Ref: stack.getLogicalId(pipeline.consumer.node.defaultChild as CfnResource) });
  });

  test('the names are the keys of the consumer\'s batch summary, each with its unit', () => {
    const counts: Record<keyof BatchCounts, 0> = {
      received: 0,
      inserted: 0,
      duplicates: 0,
      invalid: 0,
      deferred: 0,
      failed: 0,
      unlinked: 0,
      withUnknownFields: 0,
      fanOutFailed: 0,
      fanOutTooLarge: 0,
      dbMs: 0,
    };
    expect(Object.keys(CONSUMER_METRICS).sort()).toEqual(Object.keys(counts).sort());
    expect(CONSUMER_METRICS.dbMs).toBe('Milliseconds');
  });

  test('metricEventSourceMapping: the mapping\'s event counts, by its UUID', () => {
    const metric = pipeline.metricEventSourceMapping('PolledEventCount', { period: Duration.minutes(1) });
    expect(metric.namespace).toBe('AWS/Lambda');
    expect(metric.metricName).toBe('PolledEventCount');
    expect(metric.statistic).toBe('Sum');
    expect(metric.period.toMinutes()).toBe(1);
    expect(stack.resolve(metric.dimensions)).toEqual({ EventSourceMappingUUID: stack.resolve(pipeline.eventSourceMapping.eventSourceMappingId) });
  });

  test('the event source mapping publishes its event counts (metricsConfig)', () => {
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', { MetricsConfig: { Metrics: ['EventCount'] } });
  });
});

describe('KxEventsPipeline dashboard', () => {
  const { stack, pipeline, template } = pipelineStack();
  const body = () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    // The body is a Fn::Join of text and references: references become their logical IDs.
    const parts = (dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[]).map(part =>
      typeof part === 'string' ? part : JSON.stringify(JSON.stringify(part)).slice(1, -1));
    return JSON.parse(parts.join('')) as { widgets: Array<{ type: string; properties: { title?: string; metrics?: unknown[][]; alarms?: unknown[] } }> };
  };
  const graphs = () => body().widgets.filter(w => w.type === 'metric');
  const metricsOf = (title: RegExp) => graphs().find(w => title.test(w.properties.title ?? ''))!.properties.metrics!.map(m => m.slice(0, 2).join(' '));

  test('on by default, one, a public member', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(stack.resolve(pipeline.dashboard!.dashboardName)).toEqual({ Ref: Object.keys(template.findResources('AWS::CloudWatch::Dashboard'))[0] });
  });

  test('createDashboard: false creates none', () => {
    const off = pipelineStack({ createDashboard: false });
    off.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(off.pipeline.dashboard).toBeUndefined();
  });

  test.each<[string, RegExp, string[]]>([
    ['queue depth and age', /^Events queue/, ['AWS/SQS ApproximateNumberOfMessagesVisible', 'AWS/SQS ApproximateAgeOfOldestMessage']],
    ['the dead-letter queue', /^Dead-letter queue/, ['AWS/SQS ApproximateNumberOfMessagesVisible']],
    ['the consumer\'s counts', /^Consumer: events per minute/, ['inserted', 'duplicates', 'deferred', 'unlinked', 'invalid', 'failed'].map(name => `KxEvents ${name}`)],
    ['the consumer\'s duration', /^Consumer: duration/, ['AWS/Lambda Duration', 'AWS/Lambda Duration', 'AWS/Lambda Duration']],
    ['errors and throttles', /^Consumer: errors/, ['AWS/Lambda Errors', 'AWS/Lambda Throttles']],
    ['the event source mapping', /^Event source mapping/, ['AWS/Lambda PolledEventCount', 'AWS/Lambda DeletedEventCount', 'AWS/Lambda FailedInvokeEventCount']],
    ['database CPU', /^Database: CPU/, ['AWS/RDS CPUUtilization']],
    ['database connections', /^Database: connections/, ['AWS/RDS DatabaseConnections']],
    ['database free storage', /^Database: free storage/, ['AWS/RDS FreeStorageSpace']],
  ])('a graph of %s', (_name, title, metrics) => {
    expect(metricsOf(title)).toEqual(metrics);
  });

  test('the consumer\'s counts are graphed per minute, and every alarm\'s state is shown', () => {
    const counts = graphs().find(w => /^Consumer: events per minute/.test(w.properties.title!))!.properties.metrics!;
    for (const metric of counts) expect(metric[metric.length - 1]).toMatchObject({ period: 60, stat: 'Sum' });
    const status = body().widgets.find(w => w.type === 'alarm')!;
    expect(status.properties.alarms).toHaveLength(pipeline.alarms.length);
  });
});

describe('KxEventsPipeline producers', () => {
  const producer = (stack: Stack, id: string, props: Partial<lambda.FunctionProps> = {}) => new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}'), ...props,
  });

  test('addProducer with a logGroup: a metric filter on the kx-events.unpublished marker, and an alarm on it, to the alarm topic', () => {
    let group!: logs.LogGroup;
    const { stack, pipeline, template } = pipelineStack(s => ({ alarmTopic: new sns.Topic(s, 'Alarms') }), (p, s) => {
      group = new logs.LogGroup(s, 'SignupLogs');
      p.addProducer(producer(s, 'Signup', { logGroup: group }));
    });
    const metricName = stack.resolve(`unpublished:${group.logGroupName}`);
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: stack.resolve(group.logGroupName),
      FilterPattern: '"kx-events.unpublished"',
      MetricTransformations: [{ MetricNamespace: 'KxEvents', MetricName: metricName, MetricValue: '1', Unit: 'Count' }],
    });
    const topic = { Ref: Object.keys(template.findResources('AWS::SNS::Topic'))[0] };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'KxEvents',
      MetricName: metricName,
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
    });
    expect(pipeline.alarms).toHaveLength(13);
  });

  test('the filter matches the line the runtime package writes, and no other of its lines', () => {
    const { template } = pipelineStack({}, (p, s) => p.addProducer(producer(s, 'Signup', { logGroup: new logs.LogGroup(s, 'SignupLogs') })));
    const [filter] = Object.values(template.findResources('AWS::Logs::MetricFilter'));
    // A quoted term: the line must contain it, as the marker's JSON value does.
    const term = JSON.parse(filter.Properties.FilterPattern) as string;
    expect(JSON.stringify({ level: 'ERROR', marker: 'kx-events.unpublished', event: {} })).toContain(term);
    expect(JSON.stringify({ level: 'WARN', marker: 'kx-events.no-client-id' })).not.toContain(term);
  });

  test('a producer in a stack of its own gets its filter and alarm in that stack, with no reference back to it from the pipeline\'s', () => {
    const app = testApp();
    const pipelineStackOfItsOwn = new Stack(app, 'Events');
    const pipeline = new KxEventsPipeline(pipelineStackOfItsOwn, 'Pipeline');
    const service = new Stack(app, 'Service');
    pipeline.addProducer(producer(service, 'Signup', { logGroup: new logs.LogGroup(service, 'SignupLogs') }));
    const serviceTemplate = Template.fromStack(service);
    serviceTemplate.resourceCountIs('AWS::Logs::MetricFilter', 1);
    serviceTemplate.resourceCountIs('AWS::CloudWatch::Alarm', 1);
    Template.fromStack(pipelineStackOfItsOwn).resourceCountIs('AWS::Logs::MetricFilter', 0);
    expect(pipelineStackOfItsOwn.dependencies).toEqual([]);
  });

  test('a producer with the deprecated logRetention: its log group, which the retention resource creates, is watched', () => {
    const { template } = pipelineStack({}, (p, s) => p.addProducer(producer(s, 'Signup', { logRetention: logs.RetentionDays.ONE_WEEK })));
    template.resourceCountIs('AWS::Logs::MetricFilter', 1);
  });

  test('a producer without a logGroup: no filter, no alarm, no log-retention resource, and a warning that says what to do', () => {
    const { pipeline, template, annotations } = pipelineStack({}, (p, s) => p.addProducer(producer(s, 'Signup')));
    template.resourceCountIs('AWS::Logs::MetricFilter', 0);
    template.resourceCountIs('Custom::LogRetention', 0);
    expect(pipeline.alarms).toHaveLength(12);
    annotations.hasWarning('/Events/Signup', Match.stringLikeRegexp('no logGroup of its own, so its unpublished events are not watched: give it a logs.LogGroup'));
  });
});

describe('KxEventsPipeline encryption of logs and environments', () => {
  const { stack, pipeline, template } = pipelineStack();
  const key = stack.resolve(pipeline.encryptionKey.keyArn);

  test('every log group the pipeline creates is encrypted with the key', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(7);
    for (const group of groups) expect(group.Properties.KmsKeyId).toEqual(key);
  });

  test('the key lets CloudWatch Logs use it, for this account\'s log groups only', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Allow',
          Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
          Action: Match.arrayWith(['kms:Encrypt*', 'kms:Decrypt*', 'kms:GenerateDataKey*']),
          Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } },
        })]),
      },
    });
  });

  test('every function of the pipeline has its environment encrypted with the key', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: Match.anyValue() } }))
      .filter(fn => !JSON.stringify(fn).includes('RestrictDefaultSG'));
    expect(functions).toHaveLength(4); // the consumer, the migration, the maintenance and the custom-resource framework's
    for (const fn of functions) expect(fn.Properties.KmsKeyArn).toEqual(key);
  });

  test('an imported key: its policy cannot be changed, so a warning says what it must allow', () => {
    const { annotations } = pipelineStack(s => ({ encryptionKey: kms.Key.fromKeyArn(s, 'Imported', 'arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000') }));
    annotations.hasWarning('/Events/Pipeline', Match.stringLikeRegexp('encryptionKey is an imported key.*logs.<region>.amazonaws.com'));
  });
});

describe('KxEventsPipeline checkov acknowledgements', () => {
  type Resources = Record<string, { Metadata?: { checkov?: { skip: Array<{ id: string; comment: string }> } } }>;
  const skipsOf = (template: Template) => Object.values(template.toJSON().Resources as Resources)
    .flatMap(resource => resource.Metadata?.checkov?.skip ?? []);

  test('each skip names a check and gives its reason', () => {
    const skips = skipsOf(pipelineStack().template);
    expect(skips.length).toBeGreaterThanOrEqual(12);
    for (const skip of skips) {
      expect(skip.id).toMatch(/^CKV_AWS_\d+$/);
      expect(skip.comment.length).toBeGreaterThan(40);
    }
  });

  test('what a prop fixes is not acknowledged: multi-AZ, and Enhanced Monitoring unless it is turned off', () => {
    const ids = (props: KxEventsPipelineProps) => skipsOf(pipelineStack(props).template).map(skip => skip.id);
    expect(ids({})).toContain('CKV_AWS_157');
    expect(ids({ multiAz: true })).not.toContain('CKV_AWS_157');
    expect(ids({})).not.toContain('CKV_AWS_118');
    expect(ids({ monitoringInterval: Duration.seconds(0) })).toContain('CKV_AWS_118');
  });
});
