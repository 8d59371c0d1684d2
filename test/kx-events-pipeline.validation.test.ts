import { Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { isolatedVpc, ownVpc, parameter, pipelineScenarios, pipelineStack, testApp } from './kx-events-pipeline.harness';
import { EventsDatabase, KxEventsPipeline, KxEventsPipelineProps } from '../src';

/** The construct's error for these props, or undefined when it accepts them. */
function errorFor(props: KxEventsPipelineProps): Error | undefined {
  try {
    new KxEventsPipeline(new Stack(testApp(), 'Events'), 'Pipeline', props);
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

describe('KxEventsPipeline fails when', () => {
  test.each<[string, KxEventsPipelineProps, string]>([
    ['batchSize is below 1', { batchSize: 0 }, 'batchSize: must be an integer from 1 to 10000, got 0'],
    ['batchSize is above 10000', { batchSize: 10_001, maxBatchingWindow: Duration.seconds(1) }, 'batchSize: must be an integer from 1 to 10000, got 10001'],
    ['batchSize is not an integer', { batchSize: 2.5 }, 'batchSize: must be an integer from 1 to 10000, got 2.5'],
    ['batchSize is above 10 without maxBatchingWindow', { batchSize: 11 },
      'batchSize: must be at most 10 without maxBatchingWindow (up to 10000 with one), got 11 and no maxBatchingWindow'],
    ['maxBatchingWindow is below 1 second with batchSize above 10', { batchSize: 11, maxBatchingWindow: Duration.seconds(0) },
      'maxBatchingWindow: must be at least 1 second when batchSize is above 10, got 0 seconds with batchSize 11'],
    ['maxBatchingWindow is above 300 seconds', { maxBatchingWindow: Duration.seconds(301) }, 'maxBatchingWindow: must be at most 300 seconds, got 301 seconds'],
    ['maxBatchingWindow is not whole seconds', { maxBatchingWindow: Duration.millis(1500) }, 'maxBatchingWindow: must be a whole number of seconds, got 1 second 500 millis'],
    ['visibilityTimeout is not whole seconds', { visibilityTimeout: Duration.millis(300_500) }, 'visibilityTimeout: must be a whole number of seconds, got 5 minutes 500 millis'],
    ['consumerTimeout is not whole seconds', { consumerTimeout: Duration.millis(10_500) }, 'consumerTimeout: must be a whole number of seconds, got 10 seconds 500 millis'],
    ['maxConcurrency is below 2', { maxConcurrency: 1 }, 'maxConcurrency: must be an integer from 2 to 1000, got 1'],
    ['maxConcurrency is above 1000', { maxConcurrency: 1001 }, 'maxConcurrency: must be an integer from 2 to 1000, got 1001'],
    ['maxReceiveCount is below 1', { maxReceiveCount: 0 }, 'maxReceiveCount: must be an integer from 1 to 1000, got 0'],
    ['monitoringInterval is not one of RDS\'s', { monitoringInterval: Duration.seconds(20) },
      'monitoringInterval: must be one of 0, 1, 5, 10, 15, 30, 60 seconds (0 turns Enhanced Monitoring off), got 20 seconds'],
    ['maxReceiveCount is above SQS\'s 1000', { maxReceiveCount: 1001 }, 'maxReceiveCount: must be an integer from 1 to 1000, got 1001'],
    ['backupRetention is above 35 days', { backupRetention: Duration.days(36) }, 'backupRetention: must be a whole number of days from 0 to 35, got 36 days'],
    ['backupRetention is not whole days', { backupRetention: Duration.hours(36) }, 'backupRetention: must be a whole number of days from 0 to 35, got 1 day 12 hours'],
    ['visibilityTimeout is below 6 × consumerTimeout', { consumerTimeout: Duration.minutes(1) },
      'visibilityTimeout: must be at least 6 × consumerTimeout (6 minutes), got 5 minutes'],
    ['visibilityTimeout is above SQS\'s 12 hours', { visibilityTimeout: Duration.hours(13) }, 'visibilityTimeout: must be from 0 seconds to 12 hours, got 13 hours'],
    ['consumerTimeout is above Lambda\'s 15 minutes', { consumerTimeout: Duration.minutes(16), visibilityTimeout: Duration.hours(2) },
      'consumerTimeout: must be from 1 second to 15 minutes, got 16 minutes'],
    ['rotationInterval is below Secrets Manager\'s 4 hours', { rotationInterval: Duration.hours(2) }, 'rotationInterval: must be from 4 hours to 1000 days, got 2 hours'],
    ['rotationInterval is above Secrets Manager\'s 1000 days', { rotationInterval: Duration.days(1001) }, 'rotationInterval: must be from 4 hours to 1000 days, got 1001 days'],
    ['retentionPeriod is below 60 seconds', { retentionPeriod: Duration.seconds(59) }, 'retentionPeriod: must be from 1 minute to 14 days, got 59 seconds'],
    ['retentionPeriod is above 14 days', { retentionPeriod: Duration.days(15) }, 'retentionPeriod: must be from 1 minute to 14 days, got 15 days'],
    ['deadLetterRetentionPeriod is above 14 days', { deadLetterRetentionPeriod: Duration.days(15) }, 'deadLetterRetentionPeriod: must be from 1 minute to 14 days, got 15 days'],
    ['retention is not whole days', { retention: Duration.hours(36) }, 'retention: must be a whole number of days, 1 or more (the events table has a partition a day), got 1 day 12 hours'],
    ['retentionPeriod is not whole seconds', { retentionPeriod: Duration.millis(86_400_500) }, 'retentionPeriod: must be a whole number of seconds, got 1 day 500 millis'],
    ['deadLetterRetentionPeriod is not whole seconds', { deadLetterRetentionPeriod: Duration.millis(86_400_500) },
      'deadLetterRetentionPeriod: must be a whole number of seconds, got 1 day 500 millis'],
    ['allocatedStorageGiB is below RDS\'s 20 GiB for gp3', { allocatedStorageGiB: 10 }, 'allocatedStorageGiB: must be an integer from 20 to 65536, got 10'],
    ['maxAllocatedStorageGiB is above RDS\'s 64 TiB', { maxAllocatedStorageGiB: 65_537 }, 'maxAllocatedStorageGiB: must be an integer from 20 to 65536, got 65537'],
    ['allocatedStorageGiB is above maxAllocatedStorageGiB', { allocatedStorageGiB: 200 }, 'allocatedStorageGiB: must be at most maxAllocatedStorageGiB (100), got 200'],
    ['natGateways is 0 for a new VPC without endpoints', { natGateways: 0 },
      'natGateways: must be at least 1 without createVpcEndpoints: the functions reach SQS and Secrets Manager through NAT or through the endpoints, got 0 and no createVpcEndpoints'],
    ['natGateways is negative', { natGateways: -1 }, 'natGateways: must be an integer of 0 or more, got -1'],
    ['engineVersion is below 16', { engineVersion: '15.4' },
      'engineVersion: must be PostgreSQL 16 or later, as a major version (\'16\', \'17\') or a full one (\'16.6\'), got "15.4"'],
    ['engineVersion is not a version', { engineVersion: 'latest' },
      'engineVersion: must be PostgreSQL 16 or later, as a major version (\'16\', \'17\') or a full one (\'16.6\'), got "latest"'],
    ['an instance prop is given with the Aurora shape', { database: EventsDatabase.auroraServerlessV2(), multiAz: true },
      'multiAz: must be given only with EventsDatabase.instance() (the default), got true with EventsDatabase.auroraServerlessV2()'],
    ['Aurora\'s minCapacity is not a step of 0.5', { database: EventsDatabase.auroraServerlessV2({ minCapacity: 0.25 }) },
      'database (minCapacity): must be from 0 to 256 ACUs, in steps of 0.5, got 0.25'],
    ['Aurora\'s maxCapacity is above 256', { database: EventsDatabase.auroraServerlessV2({ maxCapacity: 300 }) },
      'database (maxCapacity): must be from 1 to 256 ACUs, in steps of 0.5, got 300'],
    ['Aurora\'s minCapacity is above its maxCapacity', { database: EventsDatabase.auroraServerlessV2({ minCapacity: 8, maxCapacity: 4 }) },
      'database (minCapacity): must be at most maxCapacity (4), got 8'],
    ['Aurora has more than 15 readers', { database: EventsDatabase.auroraServerlessV2({ readers: 16 }) },
      'database (readers): must be an integer from 0 to 15, got 16'],
    ['Aurora without backups', { database: EventsDatabase.auroraServerlessV2(), backupRetention: Duration.days(0) },
      'backupRetention: must be from 1 to 35 days with Aurora, which always keeps backups, got 0 days'],
    ['consumerMemorySize is out of Lambda\'s range', { consumerMemorySize: 64 }, 'consumerMemorySize: must be an integer from 128 to 10240, got 64'],
    ['databaseName is not a PostgreSQL name', { databaseName: '1events' }, 'databaseName: must be a letter followed by up to 62 letters, digits or underscores, got "1events"'],
    ['runtime is older than the bundles\' target', { runtime: lambda.Runtime.NODEJS_20_X }, 'runtime: must be Node.js 22 or later (the bundles target Node.js 22), got nodejs20.x'],
    ['runtime is not Node.js', { runtime: lambda.Runtime.PYTHON_3_13 }, 'runtime: must be Node.js 22 or later (the bundles target Node.js 22), got python3.13'],
  ])('%s', (_rule, props, message) => {
    const error = errorFor(props);
    expect(error?.name).toBe('InvalidPipelinePropsError');
    expect(error?.message.split('\n')).toContain(`  - ${message}`);
    expect(error?.message.match(/^ {2}- /gm)).toHaveLength(1);
  });

  test('one error lists every problem, naming the construct', () => {
    const error = errorFor({ batchSize: 0, maxConcurrency: 1, maxReceiveCount: 0, retentionPeriod: Duration.days(30) });
    expect(error?.message).toBe([
      'KxEventsPipeline Events/Pipeline has 4 invalid props:',
      '  - batchSize: must be an integer from 1 to 10000, got 0',
      '  - maxConcurrency: must be an integer from 2 to 1000, got 1',
      '  - maxReceiveCount: must be an integer from 1 to 1000, got 0',
      '  - retentionPeriod: must be from 1 minute to 14 days, got 30 days',
    ].join('\n'));
    expect((error as any).problems).toContainEqual({ prop: 'batchSize', allowed: 'an integer from 1 to 10000', given: '0' });
  });

  test('a wrong combination of shape and network: one error with every problem', () => {
    const error = errorFor({
      database: EventsDatabase.auroraServerlessV2(),
      databaseInstanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.SMALL),
      natGateways: 0,
      engineVersion: '15',
    });
    expect(error?.message).toBe([
      'KxEventsPipeline Events/Pipeline has 3 invalid props:',
      '  - natGateways: must be at least 1 without createVpcEndpoints: the functions reach SQS and Secrets Manager through NAT or through the endpoints, got 0 and no createVpcEndpoints',
      '  - databaseInstanceType: must be given only with EventsDatabase.instance() (the default), got t4g.small with EventsDatabase.auroraServerlessV2()',
      '  - engineVersion: must be PostgreSQL 16 or later, as a major version (\'16\', \'17\') or a full one (\'16.6\'), got "15"',
    ].join('\n'));
  });

  test('a database of your own: without its secret, with new-database props, or behind a proxy without its engine', () => {
    const stack = new Stack(testApp(), 'Events');
    const instance = rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Platform', {
      instanceIdentifier: 'platform-db', instanceEndpointAddress: 'platform-db.example', port: 5432, securityGroups: [],
    });
    const noSecret = undefined as unknown as secretsmanager.ISecret; // as JavaScript or Python may pass it
    expect(() => new KxEventsPipeline(stack, 'Pipeline', {
      vpc: ownVpc(stack),
      database: EventsDatabase.fromInstance(instance, noSecret),
      deletionProtection: false,
      createProxy: true,
    })).toThrow([
      'KxEventsPipeline Events/Pipeline has 3 invalid props:',
      '  - deletionProtection: must be given only for a database the pipeline creates (EventsDatabase.instance() or auroraServerlessV2()), got false with EventsDatabase.fromInstance()',
      '  - database: must be EventsDatabase.fromInstance() with the admin secret of the database (a user that may create databases and roles), got no secret',
      '  - createProxy: must be true only for a database whose engine is known: import it with its engine (fromDatabaseInstanceAttributes / fromDatabaseClusterAttributes({ engine })), '
        + 'got true with EventsDatabase.fromInstance() of Events/Platform, whose engine is unknown',
    ].join('\n'));
  });

  test('a vpc without egress, and no functionSubnets', () => {
    const stack = new Stack(testApp(), 'Events');
    expect(() => new KxEventsPipeline(stack, 'Pipeline', { vpc: isolatedVpc(stack), createVpcEndpoints: true }))
      .toThrow('functionSubnets: must be given when the vpc has no private subnets with egress (for example { subnetType: PRIVATE_ISOLATED }, with createVpcEndpoints), got none, and the vpc has no such subnets');
  });

  test('nothing is built before the props are checked', () => {
    const stack = new Stack(testApp(), 'Events');
    expect(() => new KxEventsPipeline(stack, 'Pipeline', { batchSize: 0 })).toThrow();
    expect(stack.node.findAll().filter(c => c.node.path.startsWith('Events/Pipeline/'))).toEqual([]);
  });
});

describe('KxEventsPipeline accepts', () => {
  test.each<[string, KxEventsPipelineProps]>([
    ['the bounds of every range', {
      batchSize: 10_000,
      maxBatchingWindow: Duration.seconds(300),
      maxConcurrency: 1000,
      maxReceiveCount: 1,
      backupRetention: Duration.days(0),
      retentionPeriod: Duration.seconds(60),
      deadLetterRetentionPeriod: Duration.days(14),
      allocatedStorageGiB: 100,
      maxAllocatedStorageGiB: 100,
      consumerMemorySize: 10_240,
      runtime: lambda.Runtime.NODEJS_22_X,
      rotationInterval: Duration.hours(4),
      consumerTimeout: Duration.minutes(15),
      visibilityTimeout: Duration.hours(12),
    }],
    ['the other bounds', {
      batchSize: 1,
      maxConcurrency: 2,
      backupRetention: Duration.days(35),
      retentionPeriod: Duration.days(14),
      consumerMemorySize: 128,
      rotationInterval: Duration.days(1000),
      allocatedStorageGiB: 20,
      maxAllocatedStorageGiB: 65_536,
      consumerTimeout: Duration.seconds(1),
    }],
    ['visibilityTimeout at exactly 6 × consumerTimeout', { consumerTimeout: Duration.seconds(50) }],
    ['batchSize 10 without a window', { batchSize: 10 }],
    ['batchSize above 10 with a window of exactly 1 second', { batchSize: 11, maxBatchingWindow: Duration.seconds(1) }],
  ])('%s', (_case, props) => {
    expect(errorFor(props)).toBeUndefined();
  });

  test('functions in isolated subnets without createVpcEndpoints: a warning (the vpc may have endpoints of its own)', () => {
    const { annotations } = pipelineStack(stack => ({
      ...pipelineScenarios.existingClusterIsolated(stack),
      createVpcEndpoints: false,
    }));
    annotations.hasWarning('/Events/Pipeline', Match.stringLikeRegexp('functionSubnets are isolated and createVpcEndpoints is false'));
  });

  test('natGateways 0 with a vpc of its own: ignored (with a warning), not an error', () => {
    const { annotations } = pipelineStack(stack => ({ vpc: ownVpc(stack), natGateways: 0 }));
    annotations.hasWarning('/Events/Pipeline', Match.stringLikeRegexp('natGateways is ignored'));
  });

  test('unresolved tokens, which are only known at deploy time', () => {
    const { template } = pipelineStack((stack) => ({
      batchSize: parameter(stack, 'BatchSize').valueAsNumber,
      maxConcurrency: parameter(stack, 'Concurrency').valueAsNumber,
      databaseName: parameter(stack, 'DatabaseName', 'String').valueAsString,
    }));
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: { Ref: 'BatchSize' }, ScalingConfig: { MaximumConcurrency: { Ref: 'Concurrency' } } });
    template.hasResourceProperties('AWS::RDS::DBInstance', { DBName: { Ref: 'DatabaseName' } });
  });
});
