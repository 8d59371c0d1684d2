/**
 * The local pipeline: what KxEventsPipeline deploys, on one machine. PostgreSQL 16
 * with the schema migrated by the custom resource's runner and its partitions made
 * ahead by the maintenance's code, the database secret
 * in Secrets Manager (RDS format), the events queue and its dead-letter queue with
 * the construct's defaults, with fan-out an EventBridge bus and a rule to a subscriber's
 * queue, and the consumer's environment pointed at all of it, ready for the event-source runner. The demo, the end-to-end tests and
 * bench/pipeline all start it here.
 */
import { randomUUID } from 'crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createQueuePair, createSubscriber, type QueuePair, type QueuePairOptions, type Subscriber, type SubscriberOptions } from './aws';
import { withDatabase } from './postgres';
import { EventSourceRunner, type EventSourceMappingSettings } from './runner';
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

    progress('applying the schema migrations');
    const appliedMigrations = await migrateDatabase(databaseUrl);

    const name = `${options.name ?? 'kx-events'}-${randomUUID().slice(0, 8)}`;
    progress(`storing the database secret and creating the queue and its dead-letter queue${options.fanOut ? ', the event bus and a subscriber\'s rule and queue' : ''}`);
    const sqs = new SQSClient({});
    const secretsManager = new SecretsManagerClient({});
    const [{ ARN: secretArn }, queues, subscriber] = await Promise.all([
      secretsManager.send(new CreateSecretCommand({ Name: `${name}/database`, SecretString: JSON.stringify(rdsSecret(databaseUrl)) })),
      createQueuePair(sqs, name, options.queue),
      options.fanOut ? createSubscriber(sqs, name, options.fanOut) : undefined,
    ]);
    const consumerEnvironment: Record<string, string> = {
      DB_SECRET_ARN: secretArn!,
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
 * Brings the database's schema up to date with the migration runner, then runs the
 * partitions' maintenance once, as the scheduled function does; returns the versions it applied.
 */
export async function migrateDatabase(databaseUrl: string): Promise<string[]> {
  return withDatabase(databaseUrl, async (client) => {
    const { applied } = await runMigrations(client);
    await maintainPartitions(client);
    return applied;
  });
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
