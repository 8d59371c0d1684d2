import { Duration, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { KxEventsPipelineProps } from '../kx-events-pipeline';
import { isNewDatabase, SHAPE_NAMES } from './database-shape';
import { EVENT_SOURCE_RULE, isEventSource } from './event-source';
import type { PipelineSettings } from './pipeline-settings';

/** One invalid prop: its name, what is allowed, and what was given. */
export interface PropProblem {
  readonly prop: string;
  readonly allowed: string;
  readonly given: string;
}

/** Thrown at construct time when props are invalid. Lists every problem at once. */
export class InvalidPipelinePropsError extends Error {
  public override readonly name = 'InvalidPipelinePropsError';

  constructor(public readonly constructPath: string, public readonly problems: PropProblem[]) {
    super(
      `KxEventsPipeline ${constructPath} has ${problems.length} invalid prop${problems.length === 1 ? '' : 's'}:\n` +
      problems.map(p => `  - ${p.prop}: must be ${p.allowed}, got ${p.given}`).join('\n'),
    );
  }
}

/** Lambda's largest SQS batch, with a batching window. */
const MAX_BATCH_SIZE = 10_000;
/** Lambda's largest SQS batch without a batching window. */
const MAX_UNWINDOWED_BATCH_SIZE = 10;
/** SQS's largest redrive maxReceiveCount. */
const MAX_RECEIVE_COUNT = 1000;
/** Lambda's shortest batching window for a batch above MAX_UNWINDOWED_BATCH_SIZE: a window of 0 is none. */
const MIN_BATCHING_WINDOW = Duration.seconds(1);
const MAX_BATCHING_WINDOW = Duration.seconds(300);
/** AWS's guidance for SQS event sources: the visibility timeout is at least six times the function's timeout. */
const VISIBILITY_TIMEOUT_FACTOR = 6;
/** SQS's largest visibility timeout. */
const MAX_VISIBILITY_TIMEOUT = Duration.hours(12);
/** SQS's message retention period. */
const MIN_RETENTION = Duration.seconds(60);
const MAX_RETENTION = Duration.days(14);
/** Lambda's function timeout. */
const MIN_FUNCTION_TIMEOUT = Duration.seconds(1);
const MAX_FUNCTION_TIMEOUT = Duration.minutes(15);
/** Secrets Manager's rotation schedule: from 4 hours to 1000 days. */
const MIN_ROTATION_INTERVAL = Duration.hours(4);
const MAX_ROTATION_INTERVAL = Duration.days(1000);
/** RDS for PostgreSQL on gp3: from 20 GiB to 64 TiB. */
const MIN_STORAGE_GIB = 20;
const MAX_STORAGE_GIB = 65_536;
/** The bundles target Node.js 22. */
const MIN_NODE_MAJOR = 22;
/** RDS Enhanced Monitoring's intervals, in seconds; 0 is off. */
const MONITORING_INTERVALS = [0, 1, 5, 10, 15, 30, 60];
/** The oldest PostgreSQL major version the schema is built and tested on. */
const MIN_ENGINE_MAJOR = 16;
/** A PostgreSQL version: a major, or a major and a minor. */
const ENGINE_VERSION = /^(\d+)(\.\d+)?$/;
/** Aurora Serverless v2's capacity, in ACUs, in steps of 0.5. */
const MAX_ACU = 256;
/** Aurora's largest number of readers. */
const MAX_READERS = 15;
/** The props that only a new instance takes. */
const INSTANCE_PROPS = ['databaseInstanceType', 'allocatedStorageGiB', 'maxAllocatedStorageGiB', 'multiAz'] as const;
/** The props that only a database the pipeline creates takes. */
const NEW_DATABASE_PROPS = ['engineVersion', 'monitoringInterval', 'backupRetention', 'deletionProtection', 'removalPolicy', 'databaseSubnets'] as const;

/** PostgreSQL (and RDS) database names: a letter, then letters, digits or underscores, 63 characters at most. */
const DATABASE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;

/**
 * Checks the settings before anything is built. Throws one InvalidPipelinePropsError listing every
 * problem. Values that are unresolved tokens are skipped: they are only known at deploy time.
 * `natGateways` is checked only when the pipeline creates the VPC: it is ignored otherwise. The props
 * are read for what the settings' defaults hide: which props were given at all.
 */
export function validatePipelineSettings(constructPath: string, s: PipelineSettings, props: KxEventsPipelineProps): void {
  const problems: PropProblem[] = [];
  const problem = (prop: string, allowed: string, given: string) => problems.push({ prop, allowed, given });
  const vpcGiven = props.vpc !== undefined;

  integerInRange('batchSize', s.batchSize, 1, MAX_BATCH_SIZE);
  // undefined when there is no window, or when it is an unresolved token.
  const batchingWindow = s.maxBatchingWindow && known(s.maxBatchingWindow) ? s.maxBatchingWindow : undefined;
  // A batchSize above MAX_BATCH_SIZE is reported above already.
  if (known(s.batchSize) && s.batchSize > MAX_UNWINDOWED_BATCH_SIZE && s.batchSize <= MAX_BATCH_SIZE) {
    if (s.maxBatchingWindow === undefined) {
      problem('batchSize', `at most ${MAX_UNWINDOWED_BATCH_SIZE} without maxBatchingWindow (up to ${MAX_BATCH_SIZE} with one)`, `${s.batchSize} and no maxBatchingWindow`);
    } else if (batchingWindow && batchingWindow.toMilliseconds() < MIN_BATCHING_WINDOW.toMilliseconds()) {
      problem('maxBatchingWindow', `at least ${MIN_BATCHING_WINDOW.toHumanString()} when batchSize is above ${MAX_UNWINDOWED_BATCH_SIZE}`,
        `${batchingWindow.toSeconds({ integral: false })} seconds with batchSize ${s.batchSize}`);
    }
  }
  if (batchingWindow && batchingWindow.toMilliseconds() > MAX_BATCHING_WINDOW.toMilliseconds()) {
    problem('maxBatchingWindow', `at most ${MAX_BATCHING_WINDOW.toSeconds()} seconds`, `${batchingWindow.toSeconds({ integral: false })} seconds`);
  }
  integerInRange('maxConcurrency', s.maxConcurrency, 2, 1000);
  integerInRange('maxReceiveCount', s.maxReceiveCount, 1, MAX_RECEIVE_COUNT);

  if (known(s.backupRetention)) {
    const days = s.backupRetention.toDays({ integral: false });
    if (!Number.isInteger(days) || days < 0 || days > 35) {
      problem('backupRetention', 'a whole number of days from 0 to 35', s.backupRetention.toHumanString());
    }
  }
  if (s.retention && known(s.retention)) {
    const days = s.retention.toDays({ integral: false });
    if (!Number.isInteger(days) || days < 1) {
      problem('retention', 'a whole number of days, 1 or more (the events table has a partition a day)', s.retention.toHumanString());
    }
  }
  if (known(s.monitoringInterval) && !MONITORING_INTERVALS.includes(s.monitoringInterval.toSeconds({ integral: false }))) {
    problem('monitoringInterval', `one of ${MONITORING_INTERVALS.join(', ')} seconds (0 turns Enhanced Monitoring off)`, s.monitoringInterval.toHumanString());
  }
  if (known(s.visibilityTimeout) && known(s.consumerTimeout)) {
    const minimum = Duration.millis(s.consumerTimeout.toMilliseconds() * VISIBILITY_TIMEOUT_FACTOR);
    if (s.visibilityTimeout.toMilliseconds() < minimum.toMilliseconds()) {
      problem('visibilityTimeout', `at least ${VISIBILITY_TIMEOUT_FACTOR} × consumerTimeout (${minimum.toHumanString()})`, s.visibilityTimeout.toHumanString());
    }
  }
  durationInRange('visibilityTimeout', s.visibilityTimeout, Duration.seconds(0), MAX_VISIBILITY_TIMEOUT);
  durationInRange('consumerTimeout', s.consumerTimeout, MIN_FUNCTION_TIMEOUT, MAX_FUNCTION_TIMEOUT);
  durationInRange('rotationInterval', s.rotationInterval, MIN_ROTATION_INTERVAL, MAX_ROTATION_INTERVAL);
  durationInRange('retentionPeriod', s.retentionPeriod, MIN_RETENTION, MAX_RETENTION);
  durationInRange('deadLetterRetentionPeriod', s.deadLetterRetentionPeriod, MIN_RETENTION, MAX_RETENTION);
  // SQS and Lambda take these in whole seconds: aws-cdk-lib's conversion would throw a bare error
  // halfway through building the pipeline.
  wholeSeconds('maxBatchingWindow', s.maxBatchingWindow);
  wholeSeconds('visibilityTimeout', s.visibilityTimeout);
  wholeSeconds('retentionPeriod', s.retentionPeriod);
  wholeSeconds('deadLetterRetentionPeriod', s.deadLetterRetentionPeriod);
  wholeSeconds('consumerTimeout', s.consumerTimeout);

  integerInRange('allocatedStorageGiB', s.allocatedStorageGiB, MIN_STORAGE_GIB, MAX_STORAGE_GIB);
  integerInRange('maxAllocatedStorageGiB', s.maxAllocatedStorageGiB, MIN_STORAGE_GIB, MAX_STORAGE_GIB);
  if (known(s.allocatedStorageGiB) && known(s.maxAllocatedStorageGiB) && s.allocatedStorageGiB > s.maxAllocatedStorageGiB) {
    problem('allocatedStorageGiB', `at most maxAllocatedStorageGiB (${s.maxAllocatedStorageGiB})`, `${s.allocatedStorageGiB}`);
  }
  if (!vpcGiven && known(s.natGateways)) {
    if (!Number.isInteger(s.natGateways) || s.natGateways < 0) {
      problem('natGateways', 'an integer of 0 or more', `${s.natGateways}`);
    } else if (s.natGateways === 0 && !s.createVpcEndpoints) {
      problem('natGateways', 'at least 1 without createVpcEndpoints: the functions reach SQS and Secrets Manager through NAT or through the endpoints', '0 and no createVpcEndpoints');
    }
  }
  if (props.vpc && !props.functionSubnets && props.vpc.privateSubnets.length === 0) {
    problem('functionSubnets', 'given when the vpc has no private subnets with egress (for example { subnetType: PRIVATE_ISOLATED }, with createVpcEndpoints)', 'none, and the vpc has no such subnets');
  }
  validateDatabase();
  if (!isSupportedRuntime(s.runtime)) {
    problem('runtime', 'Node.js 22 or later (the bundles target Node.js 22)', s.runtime.name);
  }
  integerInRange('consumerMemorySize', s.consumerMemorySize, 128, 10_240);
  if (known(s.databaseName) && !DATABASE_NAME.test(s.databaseName)) {
    problem('databaseName', 'a letter followed by up to 62 letters, digits or underscores', JSON.stringify(s.databaseName));
  }

  if (s.eventBus && !s.fanOutEnabled) {
    problem('fanOutEnabled', 'true or unset when eventBus is given (the bus is for the fan-out)', 'false with an eventBus');
  }
  if (known(s.eventSource) && !isEventSource(s.eventSource)) {
    problem('eventSource', EVENT_SOURCE_RULE, JSON.stringify(s.eventSource));
  }

  if (problems.length > 0) {
    throw new InvalidPipelinePropsError(constructPath, problems);
  }

  /** The props that depend on the database's shape. */
  function validateDatabase(): void {
    const shape = s.database;
    const shapeName = SHAPE_NAMES[shape.kind];
    if (shape.kind !== 'instance') {
      for (const prop of INSTANCE_PROPS.filter(name => props[name] !== undefined)) {
        problem(prop, 'given only with EventsDatabase.instance() (the default)', `${propValue(props[prop])} with ${shapeName}`);
      }
    }
    if (!isNewDatabase(shape)) {
      for (const prop of NEW_DATABASE_PROPS.filter(name => props[name] !== undefined)) {
        problem(prop, 'given only for a database the pipeline creates (EventsDatabase.instance() or auroraServerlessV2())', `${propValue(props[prop])} with ${shapeName}`);
      }
      if (!shape.adminSecret) {
        problem('database', `${shapeName} with the admin secret of the database (a user that may create databases and roles)`, 'no secret');
      }
      if (s.createProxy && !shape.database.engine) {
        problem('createProxy', 'true only for a database whose engine is known: import it with its engine (fromDatabaseInstanceAttributes / fromDatabaseClusterAttributes({ engine }))',
          `true with ${shapeName} of ${shape.database.node.path}, whose engine is unknown`);
      }
    } else if (Token.isUnresolved(s.engineVersion)) {
      problem('engineVersion', 'a version known at synth (the parameter group\'s family is derived from it)', 'an unresolved token');
    } else {
      const version = ENGINE_VERSION.exec(s.engineVersion);
      if (!version || Number(version[1]) < MIN_ENGINE_MAJOR) {
        problem('engineVersion', `PostgreSQL ${MIN_ENGINE_MAJOR} or later, as a major version ('16', '17') or a full one ('16.6')`, JSON.stringify(s.engineVersion));
      }
    }
    if (shape.kind === 'auroraServerlessV2') {
      const { minCapacity, maxCapacity, readers } = s.aurora;
      capacity('database (minCapacity)', minCapacity, 0);
      capacity('database (maxCapacity)', maxCapacity, 1);
      if (known(minCapacity) && known(maxCapacity) && minCapacity > maxCapacity) {
        problem('database (minCapacity)', `at most maxCapacity (${maxCapacity})`, `${minCapacity}`);
      }
      integerInRange('database (readers)', readers, 0, MAX_READERS);
      if (known(s.backupRetention) && s.backupRetention.toDays({ integral: false }) === 0) {
        problem('backupRetention', 'from 1 to 35 days with Aurora, which always keeps backups', s.backupRetention.toHumanString());
      }
    }
  }

  function capacity(prop: string, value: number, min: number): void {
    if (!known(value)) return;
    if (value < min || value > MAX_ACU || !Number.isInteger(value * 2)) {
      problem(prop, `from ${min} to ${MAX_ACU} ACUs, in steps of 0.5`, `${value}`);
    }
  }

  function integerInRange(prop: string, value: number, min: number, max: number): void {
    if (!known(value)) return;
    if (!Number.isInteger(value) || value < min || value > max) {
      problem(prop, `an integer from ${min} to ${max}`, `${value}`);
    }
  }

  function wholeSeconds(prop: string, value: Duration | undefined): void {
    if (value === undefined || !known(value)) return;
    if (!Number.isInteger(value.toSeconds({ integral: false }))) {
      problem(prop, 'a whole number of seconds', value.toHumanString());
    }
  }

  function durationInRange(prop: string, value: Duration, min: Duration, max: Duration): void {
    if (!known(value)) return;
    const ms = value.toMilliseconds();
    if (ms < min.toMilliseconds() || ms > max.toMilliseconds()) {
      problem(prop, `from ${min.toHumanString()} to ${max.toHumanString()}`, value.toHumanString());
    }
  }
}

/** A prop's value as an error message shows it. */
function propValue(value: unknown): string {
  if (value instanceof Duration) return value.toHumanString();
  // A plain object (a subnet selection) as JSON; anything else (an instance type) as it prints itself.
  if (typeof value === 'object' && value !== null && value.toString === Object.prototype.toString) return JSON.stringify(value);
  return String(value);
}

function isSupportedRuntime(runtime: lambda.Runtime): boolean {
  const major = /^nodejs(\d+)\.x$/.exec(runtime.name);
  return runtime.family === lambda.RuntimeFamily.NODEJS && major !== null && Number(major[1]) >= MIN_NODE_MAJOR;
}

/** Whether a setting's value is known at synth: false for an unresolved token, which only deploy time resolves. */
export function known(value: number | string | Duration): boolean {
  return value instanceof Duration ? !value.isUnresolved() : !Token.isUnresolved(value);
}
