/**
 * The handlers' settings, read from their environment once per container. A bad
 * setting stops the container at start, with every problem named at once.
 */

import { DEFAULT_EVENT_SOURCE, EVENT_SOURCE_RULE, isEventSource } from '../../src/private/event-source';

/**
 * The handlers' AWS SDK clients give up on an endpoint that does not answer, instead of
 * waiting out the function's timeout: 2 s to connect and 2 s for the answer, for each of
 * the SDK's 3 attempts. (A request takes tens of milliseconds in a region.)
 */
export const AWS_CLIENT_CONFIG = {
  // Recent SDKs only warn when requestTimeout passes, unless told to throw.
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
};

/** How the connection to PostgreSQL is secured. */
export type SslMode = 'verify-full' | 'disable';
const SSL_MODES: readonly SslMode[] = ['verify-full', 'disable'];

export interface DatabaseSettings {
  /** DB_SECRET_ARN: the role's secret (username, password, and host, port, dbname unless given below). */
  readonly secretArn: string;
  /** DB_SSL_MODE: `verify-full` (default) is TLS with certificate and host verification; `disable` is an explicit opt-out. */
  readonly sslMode: SslMode;
  /** DB_HOST: the server (or RDS Proxy endpoint) to connect to, instead of the secret's `host`. */
  readonly host?: string;
  /** DB_PORT: instead of the secret's `port`. */
  readonly port?: number;
  /** DB_NAME: the events database, instead of the secret's `dbname`. */
  readonly database?: string;
}

export interface MigrationSettings extends DatabaseSettings {
  /** DB_WRITER_SECRET_ARN: the writer role's secret (its `username` and `password`), the consumer's. */
  readonly writerSecretArn: string;
  /** DB_READER_SECRET_ARN: the reader role's secret (its `username` and `password`). */
  readonly readerSecretArn: string;
}

export interface ConsumerSettings extends DatabaseSettings {
  /** DEAD_LETTER_QUEUE_URL: where invalid messages go at once, with their reason. */
  readonly deadLetterQueueUrl: string;
  /** MAX_RECEIVE_COUNT: the queue's redrive maxReceiveCount; on this receive an unresolved link is given up. */
  readonly maxReceiveCount: number;
  /** EVENT_BUS_NAME: the bus (name or ARN) every stored event is put to; unset (or empty): no fan-out. */
  readonly eventBusName?: string;
  /** EVENT_SOURCE: the Source of the bus's entries (src/private/event-source.ts); default `kx-events`. */
  readonly eventSource: string;
}

/** A bus's name, or its ARN, as PutEvents takes it. */
const EVENT_BUS = /^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[/.\-_A-Za-z0-9]{1,256}$/;

export interface MaintenanceSettings extends DatabaseSettings {
  /** RETENTION_DAYS: partitions whose events all occurred longer ago are dropped; unset, none is. */
  readonly retentionDays?: number;
}

export class ConfigurationError extends Error {
  public override readonly name = 'ConfigurationError';
  constructor(public readonly data: { readonly problems: readonly string[] }) {
    super(`invalid configuration: ${data.problems.join('; ')}`);
  }
}

type Environment = Readonly<Record<string, string | undefined>>;

export function databaseSettings(env: Environment): DatabaseSettings {
  return settings(env, (read) => databaseFields(read));
}

export function migrationSettings(env: Environment): MigrationSettings {
  return settings(env, (read) => ({
    ...databaseFields(read),
    writerSecretArn: read('DB_WRITER_SECRET_ARN', undefined, (v) => v.length > 0, 'a Secrets Manager secret ARN')!,
    readerSecretArn: read('DB_READER_SECRET_ARN', undefined, (v) => v.length > 0, 'a Secrets Manager secret ARN')!,
  }));
}

export function consumerSettings(env: Environment): ConsumerSettings {
  return settings(env, (read) => ({
    ...databaseFields(read),
    deadLetterQueueUrl: read('DEAD_LETTER_QUEUE_URL', undefined, (v) => /^https?:\/\/\S+$/.test(v), 'a queue URL')!,
    maxReceiveCount: Number(read('MAX_RECEIVE_COUNT', undefined, (v) => /^[0-9]+$/.test(v) && +v >= 1 && +v <= 1000, 'an integer 1..1000')),
    eventBusName: read('EVENT_BUS_NAME', '', (v) => v === '' || EVENT_BUS.test(v), 'an event bus name or ARN (unset: no fan-out)') || undefined,
    eventSource: read('EVENT_SOURCE', DEFAULT_EVENT_SOURCE, isEventSource, EVENT_SOURCE_RULE)!,
  }));
}

export function maintenanceSettings(env: Environment): MaintenanceSettings {
  return settings(env, (read) => ({
    ...databaseFields(read),
    ...(env.RETENTION_DAYS === undefined ? {} : {
      retentionDays: Number(read('RETENTION_DAYS', undefined, (v) => /^[0-9]+$/.test(v) && +v >= 1, 'a whole number of days, 1 or more')),
    }),
  }));
}

/** A setting's value: its fallback when unset (null: optional, undefined: required), or a problem when it is not `allowed`. */
type Read = (name: string, fallback: string | null | undefined, valid: (value: string) => boolean, allowed: string) => string | undefined;

function databaseFields(read: Read): DatabaseSettings {
  const port = read('DB_PORT', null, (v) => /^[0-9]+$/.test(v) && +v >= 1 && +v <= 65535, 'a port 1..65535');
  return {
    secretArn: read('DB_SECRET_ARN', undefined, (v) => v.length > 0, 'a Secrets Manager secret ARN')!,
    sslMode: read('DB_SSL_MODE', 'verify-full', (v) => (SSL_MODES as string[]).includes(v), SSL_MODES.join(' or ')) as SslMode,
    host: read('DB_HOST', null, (v) => /^\S+$/.test(v), 'a host name or address'),
    port: port === undefined ? undefined : Number(port),
    // PostgreSQL truncates a longer name (NAMEDATALEN 64).
    database: read('DB_NAME', null, (v) => v.length >= 1 && Buffer.byteLength(v) <= 63, 'a database name of 1..63 bytes'),
  };
}

function settings<T>(env: Environment, build: (read: Read) => T): T {
  const problems: string[] = [];
  const result = build((name, fallback, valid, allowed) => {
    const value = env[name] ?? fallback ?? undefined;
    if (value === undefined) {
      if (fallback === undefined) problems.push(`${name}: required, ${allowed}; not set`);
    } else if (!valid(value)) {
      problems.push(`${name}: must be ${allowed}, got ${JSON.stringify(value)}`);
    }
    return value ?? (fallback === undefined ? '' : undefined);
  });
  if (problems.length > 0) throw new ConfigurationError({ problems });
  return result;
}
