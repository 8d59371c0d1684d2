import { Names, RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { PipelineNetwork } from './network';
import type { PipelineSettings } from './pipeline-settings';
import { known } from './validate-pipeline-settings';

export interface DatabaseOptions {
  readonly settings: PipelineSettings;
  readonly network: PipelineNetwork;
  readonly encryptionKey: kms.IKey;
  /** A log group of the pipeline. */
  readonly logGroup: (id: string, props: logs.LogGroupProps) => logs.ILogGroup;
}

/** The database the events live in, whatever its shape. */
export interface PipelineDatabase {
  /** The instance, for the instance shapes. */
  readonly instance?: rds.IDatabaseInstance;
  /** The cluster, for the cluster shapes. */
  readonly cluster?: rds.IDatabaseCluster;
  /** The instance or cluster the pipeline created, undefined for a database of the user's own. */
  readonly created?: rds.DatabaseInstance | rds.DatabaseCluster;
  /** The secret of the user that creates the schema and the roles: the master user's, for a new database. */
  readonly adminSecret: secretsmanager.ISecret;
  /** Where the functions connect: the instance's endpoint, or the cluster's writer endpoint. */
  readonly endpoint: rds.Endpoint;
  /** The database's port, as a number (an unresolved token when the database's port is one). */
  readonly port: number;
  /** The database's security groups, with the database's port as their default port. */
  readonly connections: ec2.Connections;
  /** What role secrets are attached to, so that they carry the database's host and port. */
  readonly secretAttachmentTarget: secretsmanager.ISecretAttachmentTarget;
  /** What an RDS Proxy fronts. */
  readonly proxyTarget: rds.ProxyTarget;
  /** One of the database's metrics in `AWS/RDS`: the instance's, or the cluster's. */
  readonly metric: (metricName: string, props?: cloudwatch.MetricOptions) => cloudwatch.Metric;
}

/**
 * The database in the pipeline's settings: a new instance, a new Aurora Serverless v2 cluster, or the
 * user's own instance or cluster. A new one is encrypted with the pipeline's key, forces TLS, keeps
 * backups, exports its logs into log groups of the pipeline, and admits nobody but the security groups
 * that the pipeline opens to it.
 */
export function createDatabase(scope: Construct, options: DatabaseOptions): PipelineDatabase {
  const database = databaseOfShape(scope, options);
  database.connections.allowFrom(options.network.functionSecurityGroup, ec2.Port.tcp(database.port), 'PostgreSQL from the consumer and the migration');
  return database;
}

function databaseOfShape(scope: Construct, options: DatabaseOptions): PipelineDatabase {
  const shape = options.settings.database;
  switch (shape.kind) {
    case 'instance': {
      const instance = newInstance(scope, options);
      return { instance, created: instance, ...ofInstance(instance, instance.secret!), port: DATABASE_PORT };
    }
    case 'auroraServerlessV2': {
      const cluster = newServerlessV2Cluster(scope, options);
      return { cluster, created: cluster, ...ofCluster(cluster, cluster.secret!), port: DATABASE_PORT };
    }
    case 'existingInstance':
      return { instance: shape.database, ...ofInstance(shape.database, shape.adminSecret!), port: shape.database.instanceEndpoint.port };
    case 'existingCluster':
      return { cluster: shape.database, ...ofCluster(shape.database, shape.adminSecret!), port: shape.database.clusterEndpoint.port };
  }
}

function ofInstance(instance: rds.IDatabaseInstance, adminSecret: secretsmanager.ISecret) {
  return {
    adminSecret,
    endpoint: instance.instanceEndpoint,
    connections: instance.connections,
    secretAttachmentTarget: instance,
    proxyTarget: rds.ProxyTarget.fromInstance(instance),
    metric: (metricName: string, props?: cloudwatch.MetricOptions) => instance.metric(metricName, props),
  };
}

function ofCluster(cluster: rds.IDatabaseCluster, adminSecret: secretsmanager.ISecret) {
  return {
    adminSecret,
    endpoint: cluster.clusterEndpoint,
    connections: cluster.connections,
    secretAttachmentTarget: cluster,
    proxyTarget: rds.ProxyTarget.fromCluster(cluster),
    metric: (metricName: string, props?: cloudwatch.MetricOptions) => cluster.metric(metricName, props),
  };
}

function newInstance(scope: Construct, options: DatabaseOptions): rds.DatabaseInstance {
  const { settings, encryptionKey } = options;
  const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.of(settings.engineVersion, majorVersion(settings)) });
  // A fixed identifier names the exported log groups before the instance exists, so they are created
  // by this stack, with their retention, and RDS does not create them first. (It also makes a change
  // that would replace the instance fail instead of silently replacing the events database.)
  const instanceIdentifier = databaseIdentifier(scope);
  const exportedLogGroups = exportedLogGroupsOf(options, `/aws/rds/instance/${instanceIdentifier}`, INSTANCE_LOG_EXPORTS);
  const instance = new rds.DatabaseInstance(scope, 'Database', {
    engine,
    instanceIdentifier,
    instanceType: settings.databaseInstanceType,
    ...placement(scope, options),
    publiclyAccessible: false,
    credentials: rds.Credentials.fromGeneratedSecret(ADMIN_USERNAME, { encryptionKey }),
    databaseName: settings.databaseName,
    allocatedStorage: settings.allocatedStorageGiB,
    maxAllocatedStorage: settings.maxAllocatedStorageGiB,
    storageType: rds.StorageType.GP3,
    storageEncrypted: true,
    storageEncryptionKey: encryptionKey,
    multiAz: settings.multiAz,
    backupRetention: settings.backupRetention,
    deletionProtection: settings.deletionProtection,
    removalPolicy: settings.removalPolicy,
    parameterGroup: new rds.ParameterGroup(scope, 'DatabaseParameters', { engine, ...TLS_REQUIRED }),
    caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
    cloudwatchLogsExports: INSTANCE_LOG_EXPORTS,
    monitoringInterval: monitoringInterval(settings),
    autoMinorVersionUpgrade: true,
  });
  instance.node.defaultChild!.node.addDependency(...exportedLogGroups);
  return instance;
}

function newServerlessV2Cluster(scope: Construct, options: DatabaseOptions): rds.DatabaseCluster {
  const { settings, encryptionKey } = options;
  const version = rds.AuroraPostgresEngineVersion.of(settings.engineVersion, majorVersion(settings));
  const engine = rds.DatabaseClusterEngine.auroraPostgres({ version });
  const clusterIdentifier = databaseIdentifier(scope);
  const exportedLogGroups = exportedLogGroupsOf(options, `/aws/rds/cluster/${clusterIdentifier}`, CLUSTER_LOG_EXPORTS);
  const instanceOptions = { caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1, publiclyAccessible: false, autoMinorVersionUpgrade: true };
  const cluster = new rds.DatabaseCluster(scope, 'Database', {
    engine,
    clusterIdentifier,
    writer: rds.ClusterInstance.serverlessV2('Writer', instanceOptions),
    readers: Array.from({ length: settings.aurora.readers }, (_, i) =>
      rds.ClusterInstance.serverlessV2(`Reader${i + 1}`, { ...instanceOptions, scaleWithWriter: i === 0 })),
    serverlessV2MinCapacity: settings.aurora.minCapacity,
    serverlessV2MaxCapacity: settings.aurora.maxCapacity,
    ...placement(scope, options),
    credentials: rds.Credentials.fromGeneratedSecret(ADMIN_USERNAME, { encryptionKey }),
    defaultDatabaseName: settings.databaseName,
    storageEncrypted: true,
    storageEncryptionKey: encryptionKey,
    backup: { retention: settings.backupRetention },
    deletionProtection: settings.deletionProtection,
    removalPolicy: settings.removalPolicy,
    parameterGroup: new rds.ParameterGroup(scope, 'DatabaseParameters', { engine, ...TLS_REQUIRED }),
    cloudwatchLogsExports: CLUSTER_LOG_EXPORTS,
    monitoringInterval: monitoringInterval(settings),
    autoMinorVersionUpgrade: true,
  });
  cluster.node.defaultChild!.node.addDependency(...exportedLogGroups);
  return cluster;
}

/** The subnets, the security group and the port of a new database. */
function placement(scope: Construct, { network }: DatabaseOptions) {
  const securityGroup = new ec2.SecurityGroup(scope, 'DatabaseSecurityGroup', {
    vpc: network.vpc,
    description: 'kx-events database: PostgreSQL from the consumer, the migration and the rotation only',
    allowAllOutbound: false,
  });
  return { vpc: network.vpc, vpcSubnets: network.databaseSubnets, securityGroups: [securityGroup], port: DATABASE_PORT };
}

/** A new database's identifier, fixed and derived from the pipeline's path. */
function databaseIdentifier(scope: Construct): string {
  return `kx-${Names.uniqueResourceName(scope, { maxLength: 60 }).toLowerCase()}`;
}

/** The log groups RDS exports a new database's logs into, created first so that they have the pipeline's retention and key. */
function exportedLogGroupsOf({ settings, logGroup }: DatabaseOptions, prefix: string, exports: string[]): logs.ILogGroup[] {
  const removalPolicy = settings.removalPolicy === RemovalPolicy.RETAIN ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
  return exports.map(name => logGroup(`Database${name[0].toUpperCase()}${name.slice(1)}LogGroup`, {
    logGroupName: `${prefix}/${name}`,
    removalPolicy,
  }));
}

/** Duration.seconds(0) turns Enhanced Monitoring off: then neither the interval nor its role is set. */
function monitoringInterval({ monitoringInterval: interval }: PipelineSettings) {
  return known(interval) && interval.toSeconds() === 0 ? undefined : interval;
}

/** The engine's major version: the part of `engineVersion` before the first dot. */
function majorVersion({ engineVersion }: PipelineSettings): string {
  return Token.isUnresolved(engineVersion) ? engineVersion : engineVersion.split('.')[0];
}

/** PostgreSQL's port, which the security groups name. */
export const DATABASE_PORT = 5432;

/** The master user of a new database. */
const ADMIN_USERNAME = 'kxevents';

const TLS_REQUIRED = { description: 'kx-events: TLS required', parameters: { 'rds.force_ssl': '1' } };

/** The PostgreSQL logs a new database exports to CloudWatch Logs. */
const INSTANCE_LOG_EXPORTS = ['postgresql', 'upgrade'];
const CLUSTER_LOG_EXPORTS = ['postgresql'];
