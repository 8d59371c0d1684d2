import { Annotations, ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, IConstruct } from 'constructs';
import { EventsDatabase } from './events-database';
import { acknowledgePipelineFindings } from './private/acknowledged-findings';
import { createConsumer } from './private/consumer';
import { CONSUMER_METRICS_DIMENSION, CONSUMER_METRICS_NAMESPACE, type ConsumerMetricName } from './private/consumer-metrics';
import { createDatabase } from './private/database';
import { createDatabaseProxy } from './private/database-proxy';
import { createFanOut } from './private/fan-out';
import { PartitionMaintenance } from './private/maintenance';
import { MAX_DEAD_LETTER_BYTES, MAX_EVENT_BYTES } from './private/message-size';
import { createNetwork } from './private/network';
import { createPipelineAlarms } from './private/pipeline-alarms';
import { createPipelineDashboard } from './private/pipeline-dashboard';
import { pipelineSettings } from './private/pipeline-settings';
import { addProducer } from './private/producer';
import { createSchema, RDS_CA_BUNDLE } from './private/schema';
import { known, validatePipelineSettings } from './private/validate-pipeline-settings';

/**
 * Properties of a KxEventsPipeline. Every property is optional.
 */
export interface KxEventsPipelineProps {
  /**
   * Where the events live: a new RDS instance, a new Aurora PostgreSQL Serverless v2 cluster, or a
   * database of your own (`EventsDatabase.fromInstance` / `fromCluster`, with its admin secret).
   *
   * @default EventsDatabase.instance()
   */
  readonly database?: EventsDatabase;

  /**
   * The PostgreSQL version of a new database: a major version ('16', '17') or a full one ('16.6'),
   * 16 or later.
   *
   * @default '16' - the major version only: RDS picks its default minor version at creation, and the
   * database's automatic minor version upgrades keep it current. A pinned minor would fail to deploy once
   * RDS retires it, and would fight the upgrades RDS applies.
   */
  readonly engineVersion?: string;

  /**
   * Whether the consumer connects through an RDS Proxy (TLS required, the writer's secret registered
   * with it). The migration and the rotations still connect to the database. An existing instance or
   * cluster needs its `engine` in its import (`fromDatabaseInstanceAttributes({ engine })`).
   *
   * @default false
   */
  readonly createProxy?: boolean;

  /**
   * The VPC to deploy the database and the functions into.
   *
   * By default the functions go in its private subnets with egress (they reach SQS and Secrets Manager
   * through them) and a new database in its isolated subnets. A VPC without isolated subnets gets the
   * database in the functions' subnets, with a warning. A VPC without egress needs `functionSubnets`, and
   * interface endpoints: `createVpcEndpoints`, or endpoints of its own.
   *
   * @default - a new VPC: 2 AZs, public subnets, private subnets with egress, and isolated subnets for the database
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The number of NAT gateways of the new VPC. 0 needs `createVpcEndpoints`: the new VPC then has
   * isolated subnets only, and the functions reach SQS and Secrets Manager through the endpoints.
   * Ignored, with a warning, when `vpc` is given.
   *
   * @default 1
   */
  readonly natGateways?: number;

  /**
   * Whether the pipeline creates interface endpoints, with private DNS, in the functions' subnets, for
   * every AWS API its functions in the VPC call: Secrets Manager (the consumer, the migration and the
   * rotation functions), SQS (the consumer, which dead-letters) and, with fan-out, EventBridge (the
   * consumer's PutEvents). With them the pipeline needs no NAT.
   * A VPC that has such endpoints already must not get a second one: leave this false there.
   *
   * @default false
   */
  readonly createVpcEndpoints?: boolean;

  /**
   * The subnets of the consumer, the migration, the rotation functions, the RDS Proxy and the endpoints.
   *
   * @default - the private subnets with egress (of the new VPC without NAT: its `Functions` subnets)
   */
  readonly functionSubnets?: ec2.SubnetSelection;

  /**
   * The subnets of a new database.
   *
   * @default - the isolated subnets (the functions' when the VPC has none)
   */
  readonly databaseSubnets?: ec2.SubnetSelection;

  /**
   * How often RDS Enhanced Monitoring collects a new database's operating-system metrics (into the
   * `RDSOSMetrics` log group): 1, 5, 10, 15, 30 or 60 seconds, or `Duration.seconds(0)` to turn it off.
   *
   * @default Duration.seconds(60)
   */
  readonly monitoringInterval?: Duration;

  /**
   * The new instance's type (`EventsDatabase.instance()` only).
   *
   * @default - t4g.micro
   */
  readonly databaseInstanceType?: ec2.InstanceType;

  /**
   * The new instance's allocated storage, in GiB: 20 to 65,536 (gp3), and at most `maxAllocatedStorageGiB`
   * (`EventsDatabase.instance()` only).
   *
   * @default 20
   */
  readonly allocatedStorageGiB?: number;

  /**
   * The upper limit of the new instance's storage autoscaling, in GiB: 20 to 65,536 (`EventsDatabase.instance()` only).
   *
   * @default 100
   */
  readonly maxAllocatedStorageGiB?: number;

  /**
   * Whether the new instance runs in two Availability Zones (`EventsDatabase.instance()` only; an Aurora
   * cluster gets a standby from its `readers`).
   *
   * @default false
   */
  readonly multiAz?: boolean;

  /**
   * How long a new database's automated backups are kept: 0 to 35 days (Aurora: 1 to 35).
   *
   * @default Duration.days(7)
   */
  readonly backupRetention?: Duration;

  /**
   * Whether a new database has deletion protection.
   *
   * @default true
   */
  readonly deletionProtection?: boolean;

  /**
   * What happens to a new database when it leaves the stack. A database of your own is never deleted.
   *
   * @default RemovalPolicy.SNAPSHOT
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * The name of the database that holds the `events` table. In a database of your own, the migration
   * creates it when it is missing.
   *
   * @default 'events'
   */
  readonly databaseName?: string;

  /**
   * How often the pipeline's database credentials are rotated (the writer's and the reader's, and a new
   * database's admin): 4 hours to 1,000 days.
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
   * How long events are kept, in whole days (1 or more). The `events` table has a partition a
   * day (UTC, on `occurred_at`), and the maintenance function, run every hour, drops each day
   * whose events all occurred longer ago than this, after turning the links into it into claims.
   *
   * @default - events are kept forever
   */
  readonly retention?: Duration;

  /**
   * The key that encrypts both queues, a new database's storage, the secrets, the logs and the functions' environments.
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
 * A kx-events pipeline that producers send to: one of this app, or one imported with
 * `KxEventsPipeline.fromPipelineAttributes`.
 */
export interface IKxEventsPipeline extends IConstruct {
  /** The events queue: producers send tracked events here. */
  readonly queue: sqs.IQueue;

  /**
   * Grants permission to send events to the queue, including the use of the key that encrypts it.
   */
  grantPublish(grantee: iam.IGrantable): iam.Grant;

  /**
   * Makes a function a producer: grants it `grantPublish`, sets its `EVENTS_QUEUE_URL`, and watches its
   * log group for unpublished events.
   */
  addProducer(fn: lambda.Function): void;
}

/**
 * What a stack or an app needs of a pipeline deployed elsewhere, to send events to it.
 */
export interface KxEventsPipelineAttributes {
  /** The ARN of the events queue (the pipeline's `queue.queueArn`). */
  readonly queueArn: string;

  /** The ARN of the key that encrypts the queue (the pipeline's `encryptionKey.keyArn`). */
  readonly encryptionKeyArn: string;

  /**
   * The URL of the events queue (the pipeline's `QueueUrl` output).
   *
   * @default - derived from `queueArn`
   */
  readonly queueUrl?: string;

  /**
   * The topic the alarms of `addProducer` notify.
   *
   * @default - the alarms are created without actions
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * The kx-events pipeline: Lambda producers send tracked events to an encrypted SQS queue, and a consumer
 * function stores them in PostgreSQL 16 or later on RDS or Aurora.
 *
 * It deploys the queue and its dead-letter queue, the database (a new instance, a new Aurora Serverless
 * v2 cluster, or yours: `database`), the writer and reader roles with their rotated secrets, the consumer
 * (as the writer, optionally through an RDS Proxy), the schema migration (run on deploy, before the
 * consumer receives anything), the security groups, the alarms, and outputs for the queue URLs, the
 * database endpoint and the secrets.
 *
 * Good to know before deploying:
 * - The credential rotations are AWS's PostgreSQL rotation applications (Serverless Application
 *   Repository): the stack gets the `AWS::Serverless-2016-10-31` transform, which the CDK CLI deploys as is.
 * - A new database's identifier is fixed, derived from the construct's path, so that its exported log
 *   groups (`/aws/rds/instance|cluster/<identifier>/...`) are this stack's, with `logRetention`.
 *   A change that would replace the database fails instead of silently replacing the events database.
 * - An encrypted `alarmTopic` needs a key policy that lets `cloudwatch.amazonaws.com` use the key.
 *
 * @example
 * const pipeline = new KxEventsPipeline(this, 'Events', { alarmTopic });
 * pipeline.addProducer(signupFunction);
 */
export class KxEventsPipeline extends Construct implements IKxEventsPipeline {
  /**
   * A pipeline deployed in another stack or app, to send events to: `grantPublish` and `addProducer`.
   */
  public static fromPipelineAttributes(scope: Construct, id: string, attrs: KxEventsPipelineAttributes): IKxEventsPipeline {
    return new ImportedPipeline(scope, id, attrs);
  }

  /** The VPC of the database and the functions. */
  public readonly vpc: ec2.IVpc;
  /** The key that encrypts the queues, a new database's storage, the secrets, the logs and the functions' environments. */
  public readonly encryptionKey: kms.IKey;
  /** The events queue: producers send tracked events here. */
  public readonly queue: sqs.IQueue;
  /** The dead-letter queue: invalid events, and events that failed `maxReceiveCount` times. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** The instance that holds the `events` table: undefined when it is a cluster. */
  public readonly databaseInstance?: rds.IDatabaseInstance;
  /** The cluster that holds the `events` table: undefined when it is an instance. */
  public readonly databaseCluster?: rds.IDatabaseCluster;
  /**
   * The admin credentials (host, port, username, password, dbname), which only the migration reads:
   * those of a new database (its master user's, rotated every `rotationInterval`), or the one given.
   */
  public readonly databaseSecret: secretsmanager.ISecret;
  /** The writer role's credentials, which the consumer uses: INSERT and SELECT on the events, and link healing. Rotated every `rotationInterval`. */
  public readonly writerSecret: secretsmanager.ISecret;
  /** The reader role's credentials, for those who query the events: SELECT only. Rotated every `rotationInterval`. */
  public readonly readerSecret: secretsmanager.ISecret;
  /** The RDS Proxy the consumer connects through: undefined without `createProxy`. */
  public readonly proxy?: rds.IDatabaseProxy;
  /** The consumer function: stores each batch of events in the database. */
  public readonly consumer: lambda.IFunction;
  /** The event source mapping from the events queue to the consumer. */
  public readonly eventSourceMapping: lambda.IEventSourceMapping;
  /** The function that creates and upgrades the schema and the roles, on deploy. */
  public readonly migrationFunction: lambda.IFunction;
  /** The function that makes the `events` table's partitions ahead and drops those past `retention`, every hour. */
  public readonly maintenanceFunction: lambda.IFunction;
  /** The security group of the consumer and the migration: out on 443 and to the database's port only. */
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
    validatePipelineSettings(this.node.path, settings, props);
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

    // --- Encryption: one key for the queues, the database, the secrets, the log groups and the functions' environments
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

    // --- Network: the VPC, the subnets, the functions' security groups, the endpoints
    const network = createNetwork(this, {
      settings,
      vpc: props.vpc,
      functionSubnets: props.functionSubnets,
      databaseSubnets: props.databaseSubnets,
      logGroup,
    });
    this.vpc = network.vpc;
    this.functionSecurityGroup = network.functionSecurityGroup;

    // --- Queues: producers send here; what cannot be stored goes to the dead-letter queue
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

    // --- Database: where the events live, in one of three shapes
    const database = createDatabase(this, { settings, network, encryptionKey: this.encryptionKey, logGroup });
    this.databaseInstance = database.instance;
    this.databaseCluster = database.cluster;
    this.databaseSecret = database.adminSecret;

    // --- Schema and roles: the migration, on deploy, as the admin; the roles' rotated secrets
    const schema = createSchema(this, { settings, network, database, encryptionKey: this.encryptionKey, logGroup });
    this.writerSecret = schema.writerSecret;
    this.readerSecret = schema.readerSecret;
    this.migrationFunction = schema.migration;
    this.proxy = settings.createProxy ? createDatabaseProxy(this, { network, database, writerSecret: schema.writerSecret }) : undefined;

    // --- Consumer: the queue's events into the database, as the writer
    const { consumer, eventSourceMapping } = createConsumer(this, {
      settings,
      network,
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      databaseEndpoint: database.endpoint,
      proxy: this.proxy,
      writerSecret: schema.writerSecret,
      encryptionKey: this.encryptionKey,
      schema: schema.schema,
      logGroup,
    });
    this.consumer = consumer;
    this.eventSourceMapping = eventSourceMapping;

    // --- Alarms, dashboard and outputs ---------------------------------------------------------------
    this.alarmAction = props.alarmTopic ? new cloudwatchActions.SnsAction(props.alarmTopic) : undefined;
    this.alarms = createPipelineAlarms(this, { settings, database, proxy: this.proxy, alarmAction: this.alarmAction });
    this.eventBus = createFanOut(this, { settings, consumer, alarmAction: this.alarmAction });
    const maintenance = new PartitionMaintenance(this, 'Maintenance', {
      retention: props.retention,
      runtime: settings.runtime,
      vpc: this.vpc,
      vpcSubnets: network.functionSubnets,
      securityGroups: [network.functionSecurityGroup],
      // The migration's: the admin's secret and the events database.
      environment: { DB_SECRET_ARN: database.adminSecret.secretArn, DB_NAME: settings.databaseName, NODE_EXTRA_CA_CERTS: RDS_CA_BUNDLE },
      databaseSecret: database.adminSecret,
      encryptionKey: this.encryptionKey,
      logGroup: logGroup('MaintenanceLogGroup'),
      schema: schema.schema,
      alarmAction: this.alarmAction,
    });
    this.maintenanceFunction = maintenance.function;
    this.alarms.push(...maintenance.alarms);
    if (props.createDashboard ?? true) {
      this.dashboard = createPipelineDashboard(this, database);
    }

    new CfnOutput(this, 'QueueUrl', { description: 'kx-events: the events queue (EVENTS_QUEUE_URL of producers)', value: this.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { description: 'kx-events: the dead-letter queue', value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'DatabaseEndpoint', { description: 'kx-events: the database endpoint', value: database.endpoint.hostname });
    new CfnOutput(this, 'DatabaseSecretArn', { description: 'kx-events: the database credentials', value: this.databaseSecret.secretArn });
    new CfnOutput(this, 'ReaderSecretArn', { description: 'kx-events: the reader role\'s credentials, to query the events', value: this.readerSecret.secretArn });

    acknowledgePipelineFindings({
      pipeline: this,
      database: database.created,
      settings,
      consumer,
      migration: schema.migration,
      migrationProvider: schema.migrationProvider,
    });
  }

  /**
   * Grants permission to read the reader role's secret (and to decrypt it with the key): with it, an
   * analyst or a service connects to the database as the reader, who may only SELECT the events (and
   * call `event_chain`). The grantee also needs a network path to the database's port.
   */
  public grantReadEvents(grantee: iam.IGrantable): iam.Grant {
    return this.readerSecret.grantRead(grantee);
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
    const alarm = addProducer(this.queue, fn, this.alarmAction);
    if (alarm) this.alarms.push(alarm);
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

/** A pipeline of another stack or app, as its attributes name it. */
class ImportedPipeline extends Construct implements IKxEventsPipeline {
  public readonly queue: sqs.IQueue;
  private readonly alarmAction?: cloudwatch.IAlarmAction;

  constructor(scope: Construct, id: string, attrs: KxEventsPipelineAttributes) {
    super(scope, id);
    this.queue = sqs.Queue.fromQueueAttributes(this, 'Queue', {
      queueArn: attrs.queueArn,
      queueUrl: attrs.queueUrl,
      keyArn: attrs.encryptionKeyArn,
    });
    this.alarmAction = attrs.alarmTopic ? new cloudwatchActions.SnsAction(attrs.alarmTopic) : undefined;
  }

  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
  }

  public addProducer(fn: lambda.Function): void {
    addProducer(this.queue, fn, this.alarmAction);
  }
}
