import { Annotations, ArnFormat, CfnOutput, CustomResource, Duration, Names, RemovalPolicy, Stack, Tokenization } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgePipelineFindings, acknowledgeProducerFindings } from './private/acknowledged-findings';
import { ConsumerFunction } from './private/consumer-function';
import { CONSUMER_METRICS_DIMENSION, CONSUMER_METRICS_NAMESPACE, type ConsumerMetricName } from './private/consumer-metrics';
import { createFanOut } from './private/fan-out';
import { MAX_DEAD_LETTER_BYTES, MAX_EVENT_BYTES } from './private/message-size';
import { MigrateFunction } from './private/migrate-function';
import { createPipelineAlarms } from './private/pipeline-alarms';
import { createPipelineDashboard } from './private/pipeline-dashboard';
import { pipelineSettings } from './private/pipeline-settings';
import { watchUnpublishedEvents } from './private/unpublished-events';
import { known, validatePipelineSettings } from './private/validate-pipeline-settings';

/**
 * Properties of a KxEventsPipeline. Every property is optional.
 */
export interface KxEventsPipelineProps {
  /**
   * The VPC to deploy the database and the functions into.
   *
   * It needs private subnets with egress (the functions reach SQS, Secrets Manager and KMS through them)
   * and, preferably, isolated subnets for the database. A VPC without isolated subnets gets the database
   * in its private subnets, with a warning.
   *
   * @default - a new VPC: 2 AZs, public subnets, private subnets with egress, and isolated subnets for the database
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The number of NAT gateways of the new VPC, at least 1: the functions reach SQS, Secrets Manager and
   * KMS through NAT. Ignored, with a warning, when `vpc` is given.
   *
   * @default 1
   */
  readonly natGateways?: number;

  /**
   * How often RDS Enhanced Monitoring collects the database's operating-system metrics (into the
   * `RDSOSMetrics` log group): 1, 5, 10, 15, 30 or 60 seconds, or `Duration.seconds(0)` to turn it off.
   *
   * @default Duration.seconds(60)
   */
  readonly monitoringInterval?: Duration;

  /**
   * The database's instance type.
   *
   * @default - t4g.micro
   */
  readonly databaseInstanceType?: ec2.InstanceType;

  /**
   * The database's allocated storage, in GiB: 20 to 65,536 (gp3), and at most `maxAllocatedStorageGiB`.
   *
   * @default 20
   */
  readonly allocatedStorageGiB?: number;

  /**
   * The upper limit of storage autoscaling, in GiB: 20 to 65,536.
   *
   * @default 100
   */
  readonly maxAllocatedStorageGiB?: number;

  /**
   * Whether the database runs in two Availability Zones.
   *
   * @default false
   */
  readonly multiAz?: boolean;

  /**
   * How long automated database backups are kept: 0 to 35 days.
   *
   * @default Duration.days(7)
   */
  readonly backupRetention?: Duration;

  /**
   * Whether the database has deletion protection.
   *
   * @default true
   */
  readonly deletionProtection?: boolean;

  /**
   * What happens to the database when it leaves the stack.
   *
   * @default RemovalPolicy.SNAPSHOT
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * The name of the database that holds the `events` table.
   *
   * @default 'events'
   */
  readonly databaseName?: string;

  /**
   * How often the database credentials are rotated: 4 hours to 1,000 days.
   *
   * @default Duration.days(30)
   */
  readonly rotationInterval?: Duration;

  /**
   * The largest number of messages the consumer receives in one batch: 1 to 10,000, and above 10
   * only with a `maxBatchingWindow` of at least 1 second.
   *
   * @default 10
   */
  readonly batchSize?: number;

  /**
   * How long Lambda gathers messages before it invokes the consumer: whole seconds, at most 300.
   *
   * @default - none: the consumer is invoked as soon as messages are available
   */
  readonly maxBatchingWindow?: Duration;

  /**
   * The largest number of consumer invocations that run at once: 2 to 1,000.
   * It protects the database's connections: each consumer holds one.
   *
   * @default 5
   */
  readonly maxConcurrency?: number;

  /**
   * The events queue's visibility timeout: whole seconds, at least 6 × `consumerTimeout` and at most 12 hours.
   *
   * @default Duration.minutes(5)
   */
  readonly visibilityTimeout?: Duration;

  /**
   * How many times a message is received before it moves to the dead-letter queue: 1 to 1,000.
   * Below 5, synthesis warns: AWS's guidance for Lambda's SQS pollers is at least 5, because a poller
   * may receive a message and never invoke the function with it, which spends a receive.
   *
   * @default 3
   */
  readonly maxReceiveCount?: number;

  /**
   * How long the events queue keeps a message: whole seconds, 60 seconds to 14 days.
   *
   * @default Duration.days(4)
   */
  readonly retentionPeriod?: Duration;

  /**
   * How long the dead-letter queue keeps a message: whole seconds, 60 seconds to 14 days. A message that is redriven
   * keeps its original enqueue time, so keep this longer than `retentionPeriod`.
   *
   * @default Duration.days(14)
   */
  readonly deadLetterRetentionPeriod?: Duration;

  /**
   * The consumer function's timeout: whole seconds, 1 second to 15 minutes.
   *
   * @default Duration.seconds(30)
   */
  readonly consumerTimeout?: Duration;

  /**
   * The consumer function's memory, in MB: 128 to 10,240.
   *
   * @default 512
   */
  readonly consumerMemorySize?: number;

  /**
   * The Node.js runtime of the consumer and the migration functions. The bundles target Node.js 22,
   * so Node.js 22 or later.
   *
   * @default lambda.Runtime.NODEJS_24_X
   */
  readonly runtime?: lambda.Runtime;

  /**
   * How long the functions' logs and the database's exported logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The key that encrypts both queues, the database's storage and its secret.
   *
   * @default - a new customer-managed key with yearly rotation
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * The topic every alarm notifies, when it goes into alarm and when it recovers.
   *
   * @default - the alarms are created without actions
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Whether to create the pipeline's CloudWatch dashboard (`dashboard`): the queues, the consumer's
   * counts, duration, errors and throttles, the database, and the alarms, on one screen.
   *
   * @default true
   */
  readonly createDashboard?: boolean;

  /**
   * Whether the consumer puts every stored event to an EventBridge bus (`eventBus`), at least once, once
   * its batch is stored: source `eventSource`, detail-type `entityType.eventType`, and the TrackedEvent as
   * stored as detail. Subscribers deduplicate by `detail.eventId`; `EventFanOut.eventPattern` builds their rules' patterns.
   *
   * @default - false, unless `eventBus` is given
   */
  readonly fanOutEnabled?: boolean;

  /**
   * The bus the stored events fan out to. The consumer gets `events:PutEvents` on it, and nothing else.
   *
   * @default - a new bus, when `fanOutEnabled` is true
   */
  readonly eventBus?: events.IEventBus;

  /**
   * The source of the fanned-out events: 1 to 256 characters, not starting with `aws.`.
   *
   * @default 'kx-events'
   */
  readonly eventSource?: string;
}

/**
 * The kx-events pipeline: Lambda producers send tracked events to an encrypted SQS queue, and a consumer
 * function stores them in PostgreSQL 16 on RDS.
 *
 * It deploys the queue and its dead-letter queue, the database with rotated credentials, the consumer,
 * the schema migration (run on deploy, before the consumer receives anything), the security groups,
 * the alarms, and outputs for the queue URLs, the database endpoint and the secret.
 *
 * Good to know before deploying:
 * - The credential rotation is AWS's single-user PostgreSQL rotation application (Serverless Application
 *   Repository): the stack gets the `AWS::Serverless-2016-10-31` transform, which the CDK CLI deploys as is.
 * - The database's instance identifier is fixed, derived from the construct's path, so that its exported
 *   log groups (`/aws/rds/instance/<identifier>/postgresql|upgrade`) are this stack's, with `logRetention`.
 *   A change that would replace the instance fails instead of silently replacing the events database.
 * - An encrypted `alarmTopic` needs a key policy that lets `cloudwatch.amazonaws.com` use the key.
 *
 * @example
 * const pipeline = new KxEventsPipeline(this, 'Events', { alarmTopic });
 * pipeline.addProducer(signupFunction);
 */
export class KxEventsPipeline extends Construct {
  /** The VPC of the database and the functions. */
  public readonly vpc: ec2.IVpc;
  /** The key that encrypts the queues, the database's storage and its secret. */
  public readonly encryptionKey: kms.IKey;
  /** The events queue: producers send tracked events here. */
  public readonly queue: sqs.IQueue;
  /** The dead-letter queue: invalid events, and events that failed `maxReceiveCount` times. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** The PostgreSQL 16 database that holds the `events` table. */
  public readonly database: rds.IDatabaseInstance;
  /** The database credentials (host, port, username, password, dbname), rotated every `rotationInterval`. */
  public readonly databaseSecret: secretsmanager.ISecret;
  /** The consumer function: stores each batch of events in the database. */
  public readonly consumer: lambda.IFunction;
  /** The event source mapping from the events queue to the consumer. */
  public readonly eventSourceMapping: lambda.IEventSourceMapping;
  /** The function that creates and upgrades the schema, on deploy. */
  public readonly migrationFunction: lambda.IFunction;
  /** The security group of the consumer and the migration: out on 443 and to the database on 5432 only. */
  public readonly functionSecurityGroup: ec2.ISecurityGroup;
  /** Every alarm the pipeline creates, including those `addProducer` adds. */
  public readonly alarms: cloudwatch.IAlarm[];
  /** The pipeline's dashboard, to which more widgets may be added. Undefined when `createDashboard` is false. */
  public readonly dashboard?: cloudwatch.Dashboard;
  /** The bus the stored events fan out to. Undefined without fan-out (`fanOutEnabled`). */
  public readonly eventBus?: events.IEventBus;

  private readonly alarmAction?: cloudwatch.IAlarmAction;

  constructor(scope: Construct, id: string, props: KxEventsPipelineProps = {}) {
    super(scope, id);
    const settings = pipelineSettings(props);
    validatePipelineSettings(this.node.path, settings, props.vpc !== undefined);
    if (props.vpc && props.natGateways !== undefined) {
      Annotations.of(this).addWarningV2('kx-events:natGatewaysIgnored', 'natGateways is ignored because vpc is given: the NAT gateways are those of the given VPC.');
    }
    if (known(settings.deadLetterRetentionPeriod) && known(settings.retentionPeriod)
      && settings.deadLetterRetentionPeriod.toSeconds() < settings.retentionPeriod.toSeconds()) {
      Annotations.of(this).addWarningV2('kx-events:deadLetterRetentionShorter',
        'deadLetterRetentionPeriod is shorter than retentionPeriod: a redriven message keeps its original enqueue time and may expire in the dead-letter queue soon after it arrives.');
    }
    if (known(settings.maxReceiveCount) && settings.maxReceiveCount < RECOMMENDED_MIN_RECEIVE_COUNT) {
      Annotations.of(this).addWarningV2('kx-events:maxReceiveCountBelowGuidance',
        `maxReceiveCount is ${settings.maxReceiveCount}, below the ${RECOMMENDED_MIN_RECEIVE_COUNT} that AWS recommends for Lambda's SQS pollers, which may receive a message without invoking the consumer with it: `
        + 'such a receive is spent, so an event may reach the dead-letter queue without a reason attribute, never seen by the consumer, and a chain\'s successor may never get the last receive on which it is stored without its link.');
    }

    // --- Encryption: one key for the queues, the database, its secret, the log groups and the functions' environments
    this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'EncryptionKey', {
      description: 'kx-events: encrypts the events queues, the database storage and its credentials, the logs and the functions\' environments',
      enableKeyRotation: true,
    });
    const stack = Stack.of(this);
    const logsMayUseKey = this.encryptionKey.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'CloudWatchLogsOfThisAccount',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    })).statementAdded;
    if (!logsMayUseKey) {
      Annotations.of(this).addWarningV2('kx-events:encryptionKeyPolicyForLogs',
        'encryptionKey is an imported key, whose key policy the pipeline cannot change: it must let the service principal logs.<region>.amazonaws.com use the key for this account\'s log groups, or the encrypted log groups fail to deploy.');
    }
    /** A log group of the pipeline: kept for logRetention, encrypted with the key. */
    const logGroup = (logGroupId: string, logGroupProps: logs.LogGroupProps = {}) => new logs.LogGroup(this, logGroupId, {
      retention: settings.logRetention,
      encryptionKey: this.encryptionKey,
      ...logGroupProps,
    });

    // --- Network -----------------------------------------------------------------------------------
    this.vpc = props.vpc ?? new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: settings.natGateways,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'Functions', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
        { name: 'Database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      flowLogs: {
        FlowLog: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(logGroup('FlowLogGroup')),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });
    const functionSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    let databaseSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    if (this.vpc.isolatedSubnets.length === 0) {
      databaseSubnets = functionSubnets;
      Annotations.of(this).addWarningV2('kx-events:noIsolatedSubnets',
        'The VPC has no isolated subnets: the database is placed in its private subnets with egress. It stays unreachable from outside its security group.');
    }

    this.functionSecurityGroup = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc: this.vpc,
      description: 'kx-events consumer and migration: HTTPS to AWS APIs, PostgreSQL to the database',
      allowAllOutbound: false,
    });
    this.functionSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to SQS, Secrets Manager and KMS');
    const rotationSecurityGroup = new ec2.SecurityGroup(this, 'RotationSecurityGroup', {
      vpc: this.vpc,
      description: 'kx-events credential rotation: HTTPS to Secrets Manager, PostgreSQL to the database',
      allowAllOutbound: false,
    });
    rotationSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to Secrets Manager');
    const databaseSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
      vpc: this.vpc,
      description: 'kx-events database: PostgreSQL from the consumer, the migration and the rotation only',
      allowAllOutbound: false,
    });

    // --- Queues ---------------------------------------------------------------------------------------
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.encryptionKey,
      enforceSSL: true,
      retentionPeriod: settings.deadLetterRetentionPeriod,
      maxMessageSizeBytes: MAX_DEAD_LETTER_BYTES,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.encryptionKey,
      enforceSSL: true,
      visibilityTimeout: settings.visibilityTimeout,
      retentionPeriod: settings.retentionPeriod,
      maxMessageSizeBytes: MAX_EVENT_BYTES,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
    });

    // --- Database -----------------------------------------------------------------------------------
    const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16_13 });
    // A fixed identifier names the exported log groups before the instance exists, so they are created
    // by this stack, with their retention, and RDS does not create them first. (It also makes a change
    // that would replace the instance fail instead of silently replacing the events database.)
    const instanceIdentifier = `kx-${Names.uniqueResourceName(this, { maxLength: 60 }).toLowerCase()}`;
    const logsRemovalPolicy = settings.removalPolicy === RemovalPolicy.RETAIN ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const exportedLogGroups = DATABASE_LOG_EXPORTS.map(name => logGroup(`Database${name[0].toUpperCase()}${name.slice(1)}LogGroup`, {
      logGroupName: `/aws/rds/instance/${instanceIdentifier}/${name}`,
      removalPolicy: logsRemovalPolicy,
    }));
    const monitoringOff = known(settings.monitoringInterval) && settings.monitoringInterval.toSeconds() === 0;
    const database = new rds.DatabaseInstance(this, 'Database', {
      engine,
      instanceIdentifier,
      instanceType: settings.databaseInstanceType,
      vpc: this.vpc,
      vpcSubnets: databaseSubnets,
      securityGroups: [databaseSecurityGroup],
      port: DATABASE_PORT,
      publiclyAccessible: false,
      credentials: rds.Credentials.fromGeneratedSecret('kxevents', { encryptionKey: this.encryptionKey }),
      databaseName: settings.databaseName,
      allocatedStorage: settings.allocatedStorageGiB,
      maxAllocatedStorage: settings.maxAllocatedStorageGiB,
      storageType: rds.StorageType.GP3,
      storageEncrypted: true,
      storageEncryptionKey: this.encryptionKey,
      multiAz: settings.multiAz,
      backupRetention: settings.backupRetention,
      deletionProtection: settings.deletionProtection,
      removalPolicy: settings.removalPolicy,
      parameterGroup: new rds.ParameterGroup(this, 'DatabaseParameters', {
        engine,
        description: 'kx-events: TLS required',
        parameters: { 'rds.force_ssl': '1' },
      }),
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      cloudwatchLogsExports: DATABASE_LOG_EXPORTS,
      // Duration.seconds(0) turns Enhanced Monitoring off: then neither the interval nor its role is set.
      monitoringInterval: monitoringOff ? undefined : settings.monitoringInterval,
      autoMinorVersionUpgrade: true,
    });
    database.node.defaultChild!.node.addDependency(...exportedLogGroups);
    this.database = database;
    this.databaseSecret = database.secret!;
    database.connections.allowFrom(this.functionSecurityGroup, ec2.Port.tcp(DATABASE_PORT), 'PostgreSQL from the consumer and the migration');

    // --- Schema migration, on deploy ------------------------------------------------------------------
    const databaseEnvironment = {
      DB_SECRET_ARN: this.databaseSecret.secretArn,
      // The Lambda runtime's CA bundle, which includes the RDS certificate authorities: TLS is verified.
      NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
    };
    const migration = new MigrateFunction(this, 'Migration', {
      description: 'kx-events: creates and upgrades the events schema',
      runtime: settings.runtime,
      architecture: lambda.Architecture.ARM_64,
      // Lambda's maximum: a migration's statements may take up to 10 minutes (lambda/migrate.lambda.ts).
      timeout: Duration.minutes(15),
      memorySize: 256,
      vpc: this.vpc,
      vpcSubnets: functionSubnets,
      securityGroups: [this.functionSecurityGroup],
      environment: databaseEnvironment,
      environmentEncryption: this.encryptionKey,
      logGroup: logGroup('MigrationLogGroup'),
    });
    this.databaseSecret.grantRead(migration);
    this.migrationFunction = migration;
    const migrationProvider = new cr.Provider(this, 'SchemaProvider', {
      onEventHandler: migration,
      logGroup: logGroup('SchemaProviderLogGroup'),
      providerFunctionEnvEncryption: this.encryptionKey,
    });
    const schema = new CustomResource(this, 'Schema', {
      serviceToken: migrationProvider.serviceToken,
      resourceType: 'Custom::KxEventsSchema',
      properties: {
        // A new bundle (new handler or new migrations) or a new database runs the migration again.
        MigrationBundleHash: bundleHash(migration),
        DatabaseEndpoint: database.dbInstanceEndpointAddress,
      },
    });

    // The rotation function runs in the functions' private subnets: it reaches Secrets Manager through
    // the NAT gateway the consumer already needs, and the database on 5432 (allowed by addRotationSingleUser).
    // It is created after the migration, so that the first rotation, which starts when its schedule is
    // created, never changes the password under the migration's connection.
    const rotation = database.addRotationSingleUser({
      automaticallyAfter: settings.rotationInterval,
      vpcSubnets: functionSubnets,
      securityGroup: rotationSecurityGroup,
    });
    rotation.node.addDependency(schema);

    // --- Consumer -------------------------------------------------------------------------------------
    const consumer = new ConsumerFunction(this, 'Consumer', {
      description: 'kx-events: stores tracked events from the queue in PostgreSQL',
      runtime: settings.runtime,
      architecture: lambda.Architecture.ARM_64,
      timeout: settings.consumerTimeout,
      memorySize: settings.consumerMemorySize,
      vpc: this.vpc,
      vpcSubnets: functionSubnets,
      securityGroups: [this.functionSecurityGroup],
      environment: {
        ...databaseEnvironment,
        DEAD_LETTER_QUEUE_URL: this.deadLetterQueue.queueUrl,
        MAX_RECEIVE_COUNT: Tokenization.stringifyNumber(settings.maxReceiveCount),
      },
      environmentEncryption: this.encryptionKey,
      logGroup: logGroup('ConsumerLogGroup'),
    });
    this.consumer = consumer;
    this.queue.grantConsumeMessages(consumer);
    this.deadLetterQueue.grantSendMessages(consumer);
    this.databaseSecret.grantRead(consumer);
    const eventSourceMapping = new lambda.EventSourceMapping(this, 'EventSourceMapping', {
      target: consumer,
      eventSourceArn: this.queue.queueArn,
      batchSize: settings.batchSize,
      maxBatchingWindow: settings.maxBatchingWindow,
      maxConcurrency: settings.maxConcurrency,
      reportBatchItemFailures: true,
      // The mapping's own counts (polled, invoked, failed, deleted events), which one alarm watches.
      metricsConfig: { metrics: [lambda.MetricType.EVENT_COUNT] },
    });
    // Nothing is consumed before the table exists, nor before the consumer may read the queue.
    eventSourceMapping.node.addDependency(schema, consumer.role!);
    this.eventSourceMapping = eventSourceMapping;

    // --- Alarms, dashboard and outputs ---------------------------------------------------------------
    this.alarmAction = props.alarmTopic ? new cloudwatchActions.SnsAction(props.alarmTopic) : undefined;
    this.alarms = createPipelineAlarms(this, { settings, alarmAction: this.alarmAction });
    this.eventBus = createFanOut(this, { settings, consumer, alarmAction: this.alarmAction });
    if (props.createDashboard ?? true) {
      this.dashboard = createPipelineDashboard(this);
    }

    new CfnOutput(this, 'QueueUrl', { description: 'kx-events: the events queue (EVENTS_QUEUE_URL of producers)', value: this.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { description: 'kx-events: the dead-letter queue', value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'DatabaseEndpoint', { description: 'kx-events: the database endpoint', value: database.dbInstanceEndpointAddress });
    new CfnOutput(this, 'DatabaseSecretArn', { description: 'kx-events: the database credentials', value: this.databaseSecret.secretArn });

    acknowledgePipelineFindings({ pipeline: this, database, settings, consumer, migration, migrationProvider });
  }

  /**
   * Grants permission to send events to the queue, including the use of the key that encrypts it.
   */
  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
  }

  /**
   * Makes a function a producer: grants it `grantPublish`, sets its `EVENTS_QUEUE_URL`, and watches its
   * log group for unpublished events. The key's wildcard actions that sending to the queue needs are
   * acknowledged for cdk-nag on the function, with their reason.
   *
   * An event the producer could not send is logged whole under the marker `kx-events.unpublished`. In the
   * function's log group, a metric filter counts those lines (metric `unpublished` in the `KxEvents`
   * namespace, dimension `LogGroupName`), and an alarm, added to `alarms`, fires on the first one. Both are
   * created in the function's scope, so in its stack.
   *
   * The log group must be one the template knows: the function's `logGroup` prop (or its deprecated
   * `logRetention`). Lambda creates the default `/aws/lambda/<name>` group only on the first invocation,
   * too late for a metric filter deployed with the function, so a function without one gets no filter and
   * no alarm, and synthesis warns.
   */
  public addProducer(fn: lambda.Function): void {
    this.grantPublish(fn);
    acknowledgeProducerFindings(fn);
    fn.addEnvironment('EVENTS_QUEUE_URL', this.queue.queueUrl);
    const alarm = watchUnpublishedEvents(fn, this.alarmAction);
    if (alarm) {
      this.alarms.push(alarm);
    } else {
      Annotations.of(fn).addWarningV2('kx-events:producerLogGroupUnknown',
        `${fn.node.path} has no logGroup of its own, so its unpublished events are not watched: give it a logs.LogGroup (the logGroup prop) before addProducer, to get a metric filter on the kx-events.unpublished marker and an alarm.`);
    }
  }

  /**
   * The number of events waiting in the queue.
   * Maximum over 5 minutes, unless `props` says otherwise.
   */
  public metricQueueDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * The age of the oldest event in the queue, in seconds.
   * Maximum over 5 minutes, unless `props` says otherwise.
   */
  public metricOldestMessageAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage({ statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * The number of messages in the dead-letter queue.
   * Maximum over 5 minutes, unless `props` says otherwise.
   */
  public metricDeadLetterQueueDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * The number of consumer invocations that failed.
   * Sum over 5 minutes, unless `props` says otherwise.
   */
  public metricConsumerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.consumer.metricErrors(props);
  }

  /**
   * The number of consumer invocations that were throttled.
   * Sum over 5 minutes, unless `props` says otherwise.
   */
  public metricConsumerThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.consumer.metricThrottles(props);
  }

  /**
   * How long consumer invocations took, in milliseconds.
   * Average over 5 minutes, unless `props` says otherwise.
   */
  public metricConsumerDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.consumer.metricDuration(props);
  }

  /**
   * The number of events the consumer stored (`inserted` in its batch summary), including those stored
   * without their link. Sum over 5 minutes, unless `props` says otherwise.
   */
  public metricInsertedEvents(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.consumerMetric('inserted', props);
  }

  /**
   * The number of messages whose event was stored already, or came twice in a batch (`duplicates`).
   * Sum over 5 minutes, unless `props` says otherwise.
   */
  public metricDuplicateEvents(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.consumerMetric('duplicates', props);
  }

  /**
   * The number of messages the consumer moved to the dead-letter queue, with their reason: not an event,
   * or refused by the database (`invalid`). Sum over 5 minutes, unless `props` says otherwise.
   */
  public metricInvalidEvents(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.consumerMetric('invalid', props);
  }

  /**
   * The number of messages left for redelivery because the event they follow is not stored yet (`deferred`).
   * Sum over 5 minutes, unless `props` says otherwise.
   */
  public metricDeferredEvents(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.consumerMetric('deferred', props);
  }

  /**
   * The number of messages left for redelivery after a failure: the database or the dead-letter queue
   * unavailable (`failed`). Sum over 5 minutes, unless `props` says otherwise.
   */
  public metricFailedEvents(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.consumerMetric('failed', props);
  }

  /**
   * The number of events stored without their link on their last receive, the claimed link kept (`unlinked`).
   * Sum over 5 minutes, unless `props` says otherwise.
   */
  public metricUnlinkedEvents(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.consumerMetric('unlinked', props);
  }

  /**
   * The number of stored events that EventBridge did not take (`fanOutFailed`): their messages are retried,
   * then dead-lettered with the reason. Sum over 5 minutes, unless `props` says otherwise.
   */
  public metricFanOutFailedEvents(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.consumerMetric('fanOutFailed', props);
  }

  /**
   * One of the event source mapping's event counts, which the pipeline turns on (`metricsConfig`):
   * `PolledEventCount`, `InvokedEventCount`, `FilteredOutEventCount`, `FailedInvokeEventCount` or `DeletedEventCount`.
   * Sum over 5 minutes, unless `props` says otherwise.
   */
  public metricEventSourceMapping(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName,
      dimensionsMap: { EventSourceMappingUUID: this.eventSourceMapping.eventSourceMappingId },
      statistic: cloudwatch.Stats.SUM,
      ...props,
    });
  }

  /** One of the counts the consumer writes in its batch summary, an Embedded Metric Format record. */
  private consumerMetric(metricName: ConsumerMetricName, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: CONSUMER_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [CONSUMER_METRICS_DIMENSION]: this.consumer.functionName },
      statistic: cloudwatch.Stats.SUM,
      ...props,
    });
  }
}

/** AWS's guidance for the maxReceiveCount of a queue that Lambda's pollers read. */
const RECOMMENDED_MIN_RECEIVE_COUNT = 5;

/** PostgreSQL's port, which the security groups name. */
const DATABASE_PORT = 5432;

/** The PostgreSQL logs the database exports to CloudWatch Logs. */
const DATABASE_LOG_EXPORTS = ['postgresql', 'upgrade'];

/** The hash of a function's bundled code asset. */
function bundleHash(fn: lambda.Function): string {
  const asset = fn.node.tryFindChild('Code');
  if (!(asset instanceof s3assets.Asset)) {
    throw new Error(`${fn.node.path} has no code asset: the migration bundle's hash cannot be taken`);
  }
  return asset.assetHash;
}
