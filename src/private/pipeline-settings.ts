import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { type AuroraServerlessV2Options, EventsDatabase } from '../events-database';
import { DEFAULT_EVENT_SOURCE } from './event-source';
import type { KxEventsPipelineProps } from '../kx-events-pipeline';
import type { DatabaseShape } from './database-shape';

/**
 * Every setting of a KxEventsPipeline, with the defaults applied.
 *
 * The defaults here are the ones each prop documents with `@default`.
 */
export interface PipelineSettings {
  readonly database: DatabaseShape;
  /** The Aurora options, with their defaults (used by the Aurora shape only). */
  readonly aurora: Required<AuroraServerlessV2Options>;
  readonly engineVersion: string;
  readonly createProxy: boolean;
  readonly natGateways: number;
  readonly createVpcEndpoints: boolean;
  readonly databaseInstanceType: ec2.InstanceType;
  readonly allocatedStorageGiB: number;
  readonly maxAllocatedStorageGiB: number;
  readonly multiAz: boolean;
  readonly monitoringInterval: Duration;
  readonly backupRetention: Duration;
  readonly deletionProtection: boolean;
  readonly removalPolicy: RemovalPolicy;
  readonly databaseName: string;
  readonly rotationInterval: Duration;
  readonly batchSize: number;
  readonly maxBatchingWindow?: Duration;
  readonly maxConcurrency: number;
  readonly visibilityTimeout: Duration;
  readonly maxReceiveCount: number;
  readonly retentionPeriod: Duration;
  readonly deadLetterRetentionPeriod: Duration;
  readonly consumerTimeout: Duration;
  readonly consumerMemorySize: number;
  readonly runtime: lambda.Runtime;
  readonly logRetention: logs.RetentionDays;
  readonly fanOutEnabled: boolean;
  readonly eventBus?: events.IEventBus;
  readonly eventSource: string;
  readonly retention?: Duration;
}

/** Applies the documented defaults to the props. */
export function pipelineSettings(props: KxEventsPipelineProps): PipelineSettings {
  const database = (props.database ?? EventsDatabase.instance())._shape;
  const aurora = database.kind === 'auroraServerlessV2' ? database.options : {};
  return {
    database,
    aurora: {
      minCapacity: aurora.minCapacity ?? 0.5,
      maxCapacity: aurora.maxCapacity ?? 2,
      readers: aurora.readers ?? 0,
    },
    engineVersion: props.engineVersion ?? '16',
    createProxy: props.createProxy ?? false,
    natGateways: props.natGateways ?? 1,
    createVpcEndpoints: props.createVpcEndpoints ?? false,
    databaseInstanceType: props.databaseInstanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO),
    allocatedStorageGiB: props.allocatedStorageGiB ?? 20,
    maxAllocatedStorageGiB: props.maxAllocatedStorageGiB ?? 100,
    multiAz: props.multiAz ?? false,
    monitoringInterval: props.monitoringInterval ?? Duration.seconds(60),
    backupRetention: props.backupRetention ?? Duration.days(7),
    deletionProtection: props.deletionProtection ?? true,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.SNAPSHOT,
    databaseName: props.databaseName ?? 'events',
    rotationInterval: props.rotationInterval ?? Duration.days(30),
    batchSize: props.batchSize ?? 10,
    maxBatchingWindow: props.maxBatchingWindow,
    maxConcurrency: props.maxConcurrency ?? 5,
    visibilityTimeout: props.visibilityTimeout ?? Duration.minutes(5),
    maxReceiveCount: props.maxReceiveCount ?? 3,
    retentionPeriod: props.retentionPeriod ?? Duration.days(4),
    deadLetterRetentionPeriod: props.deadLetterRetentionPeriod ?? Duration.days(14),
    consumerTimeout: props.consumerTimeout ?? Duration.seconds(30),
    consumerMemorySize: props.consumerMemorySize ?? 512,
    runtime: props.runtime ?? lambda.Runtime.NODEJS_24_X,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    fanOutEnabled: props.fanOutEnabled ?? props.eventBus !== undefined,
    eventBus: props.eventBus,
    eventSource: props.eventSource ?? DEFAULT_EVENT_SOURCE,
    retention: props.retention,
  };
}
