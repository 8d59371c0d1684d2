/**
 * The local pipeline: what KxEventsPipeline deploys, on one machine. PostgreSQL 16,
 * the admin, writer and reader secrets in Secrets Manager (RDS format), the schema and
 * the roles applied by the bundled migration (a Create, as the admin), the partitions made
 * ahead by the maintenance's code, the events queue and its dead-letter queue with the
 * construct's defaults, with fan-out an EventBridge bus and a rule to a subscriber's queue,
 * and the consumer's environment pointed at all of it, with the writer's secret, ready for
 * the event-source runner. The demo, the end-to-end tests and
 * bench/pipeline all start it here.
 */
import { randomBytes, randomUUID } from 'crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createQueuePair, createSubscriber, type QueuePair, type QueuePairOptions, type Subscriber, type SubscriberOptions } from './aws';
import { withDatabase } from './postgres';
import { EventSourceRunner, invokeFunction, MIGRATE_BUNDLE, type EventSourceMappingSettings } from './runner';
import { startStandIns, type StandInsOptions } from './stand-ins';
import { REASON_ATTRIBUTE } from '../lambda/lib/dead-letter-queue';
import { runMigrations } from '../lambda/lib/migrations';
import { maintainPartitions } from '../lambda/lib/partitions';

/** The servers (databaseUrl, awsEndpoint) as for the stand-ins; `progress` is told each step as it starts. */
export interface LocalPipelineOptions extends StandInsOptions {
  /** @default - the construct's: maxReceiveCount 3, visibility timeout 300 s */
  readonly queue?: QueuePairOptions;
  /** Prefix of the queue and secret names; a random suffix keeps each run apart. @default 'kx-events' */
  readonly name?: string;
  /** Fan-out: a bus, which the consumer puts every stored event to, and a subscriber's rule and queue. @default - no fan-out */
  readonly fanOut?: SubscriberOptions;
}

export interface LocalPipeline {
  /** The database the consumer writes to. */
  readonly databaseUrl: string;
  readonly awsEndpoint: string;
  readonly queues: QueuePair;
  /** With fan-out, the bus and the subscriber's rule and queue. */
  readonly subscriber?: Subscriber;
  /** The migrations this start applied (none when the schema was current). */
  readonly appliedMigrations: readonly string[];
  /**
   * The roles the migration made, named after this pipeline (roles are the server's, and
   * pipelines may share one), dropped by stop(). The consumer logs in as the writer.
   */
  readonly roles: { readonly writer: string; readonly reader: string };
  /** The consumer's environment, as the construct sets it, pointed at the local stand-ins. */
  readonly consumerEnvironment: Readonly<Record<string, string>>;
  readonly sqs: SQSClient;
  /** A runner for the events queue, not started yet; stop() stops it. */
  runner(settings?: EventSourceMappingSettings): EventSourceRunner;
  /** Receives every message on the dead-letter queue, without deleting it (it stays invisible for 60 s). */
  deadLetters(): Promise<DeadLetter[]>;
  /** Stops the runners, then the stand-ins this pipeline started (deleting their data). */
  stop(): Promise<void>;
}

export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  /** Why the consumer dead-lettered it; for a message the queue redrove, after how many receives. */
  readonly reason: string;
}

export async function startLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  const progress = options.progress ?? (() => undefined);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    const standIns = await startStandIns(options);
    stops.push(() => standIns.stop());
    const { databaseUrl, awsEndpoint } = standIns;

    const suffix = randomUUID().slice(0, 8);
    const name = `${options.name ?? 'kx-events'}-${suffix}`;
    const roles = { writer: `kx_events_writer_${suffix}`, reader: `kx_events_reader_${suffix}` };
    progress(`storing the admin, writer and reader secrets, and creating the queue and its dead-letter queue${options.fanOut ? ', the event bus and a subscriber\'s rule and queue' : ''}`);
    const sqs = new SQSClient({});
    const secretsManager = new SecretsManagerClient({});
    const storeSecret = async (role: string, secret: Record<string, string | number>) =>
      (await secretsManager.send(new CreateSecretCommand({ Name: `${name}/${role}`, SecretString: JSON.stringify(secret) }))).ARN!;
    const admin = rdsSecret(databaseUrl);
    const roleSecret = (username: string) => ({ ...admin, username, password: randomBytes(18).toString('base64url') });
    const [adminSecretArn, writerSecretArn, readerSecretArn, queues, subscriber] = await Promise.all([
      storeSecret('admin', admin),
      storeSecret('writer', roleSecret(roles.writer)),
      storeSecret('reader', roleSecret(roles.reader)),
      createQueuePair(sqs, name, options.queue),
      options.fanOut ? createSubscriber(sqs, name, options.fanOut) : undefined,
    ]);

    progress('applying the schema migrations and the roles, as the admin');
    const migrated = await invokeFunction({
      bundle: MIGRATE_BUNDLE,
      functionName: 'kx-events-migrate',
      endpoint: awsEndpoint,
      environment: { DB_SECRET_ARN: adminSecretArn, DB_WRITER_SECRET_ARN: writerSecretArn, DB_READER_SECRET_ARN: readerSecretArn, DB_SSL_MODE: 'disable' },
      event: schemaCreateEvent(),
      timeoutMs: 60_000,
    }) as { Data: { Applied: string } };
    const appliedMigrations = migrated.Data.Applied.split(',').filter(Boolean);
    progress('making the partitions ahead, as the maintenance does');
    await withDatabase(databaseUrl, (client) => maintainPartitions(client));
    // The roles go with the pipeline, unless the server is down by then (a test stopped it).
    stops.push(() => withDatabase(databaseUrl, async (c) => {
      await c.query(`DROP OWNED BY ${roles.writer}, ${roles.reader}; DROP ROLE ${roles.writer}, ${roles.reader}`);
    }).catch((err) => {
      if ((err as { code?: string }).code !== 'ECONNREFUSED') throw err;
    }));
    const consumerEnvironment: Record<string, string> = {
      DB_SECRET_ARN: writerSecretArn,
      DB_SSL_MODE: 'disable',
      DEAD_LETTER_QUEUE_URL: queues.deadLetterQueueUrl,
      MAX_RECEIVE_COUNT: String(queues.maxReceiveCount),
      ...subscriber ? { EVENT_BUS_NAME: subscriber.eventBusName, EVENT_SOURCE: subscriber.eventSource } : {},
    };
    if (subscriber) stops.push(async () => subscriber.close());
    const runners: EventSourceRunner[] = [];
    stops.push(() => Promise.all(runners.map((r) => r.stop())).then(() => undefined));

    return {
      databaseUrl,
      awsEndpoint,
      queues,
      subscriber,
      appliedMigrations,
      roles,
      consumerEnvironment,
      sqs,
      runner: (settings = {}) => {
        const runner = new EventSourceRunner({
          ...settings, queueUrl: queues.queueUrl, queueArn: queues.queueArn, environment: consumerEnvironment, awsEndpoint,
        });
        runners.push(runner);
        return runner;
      },
      deadLetters: () => receiveAll(sqs, queues),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * Brings the database's schema up to date with the migration runner (no roles), then runs the
 * partitions' maintenance once, as the scheduled function does; returns the versions it applied.
 */
export async function migrateDatabase(databaseUrl: string): Promise<string[]> {
  return withDatabase(databaseUrl, async (client) => {
    const { applied } = await runMigrations(client);
    await maintainPartitions(client);
    return applied;
  });
}

/** The Create request CloudFormation sends the schema's custom resource, through the Provider framework. */
function schemaCreateEvent(): Record<string, unknown> {
  return {
    RequestType: 'Create',
    ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:kx-events-schema-provider',
    ResponseURL: 'http://127.0.0.1/unused',
    StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/kx-events-local/local',
    RequestId: randomUUID(),
    LogicalResourceId: 'Schema',
    ResourceType: 'Custom::KxEventsSchema',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:kx-events-schema-provider' },
  };
}

/** The secret RDS keeps for a database instance, for the database in `url`. */
export function rdsSecret(url: string): Record<string, string | number> {
  const u = new URL(url);
  return {
    engine: 'postgres',
    host: u.hostname,
    port: Number(u.port || 5432),
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    dbname: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
  };
}

async function receiveAll(sqs: SQSClient, queues: QueuePair): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: queues.deadLetterQueueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 60,
      MessageAttributeNames: ['All'],
    }));
    if (!Messages.length) return letters;
    for (const m of Messages) {
      letters.push({
        messageId: m.MessageId!,
        body: m.Body ?? '',
        reason: m.MessageAttributes?.[REASON_ATTRIBUTE]?.StringValue
          ?? `redriven by the queue after ${queues.maxReceiveCount} receives without success`,
      });
    }
  }
}
