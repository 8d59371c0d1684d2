/**
 * The container's one connection to PostgreSQL: credentials from the RDS secret
 * (read once, re-read once when the password was rotated), TLS with verification
 * unless explicitly disabled, timeouts well inside a Lambda invocation, and a new
 * connection after any error that leaves the old one in doubt.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Client, DatabaseError, type ClientConfig } from 'pg';
import { AWS_CLIENT_CONFIG, type DatabaseSettings } from './configuration';

/** Connecting gives up after this long (a stopped or unreachable server). */
const CONNECT_TIMEOUT_MS = 5_000;

/** The fields of an RDS secret that a connection needs. */
interface DatabaseSecret {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly dbname: string;
}

export class DatabaseSecretError extends Error {
  public override readonly name = 'DatabaseSecretError';
  constructor(message: string, public readonly data: { readonly secretArn: string }, cause?: unknown) {
    super(message, { cause });
  }
}

/**
 * The Secrets Manager SDK, loaded when the secret is first read (the first
 * invocation), not when the bundle is required: it keeps the module's load short.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const secretsSdk = (): typeof import('@aws-sdk/client-secrets-manager') => require('@aws-sdk/client-secrets-manager');

/** SQLSTATE 28P01: the password was refused, as after a rotation. */
const INVALID_PASSWORD = '28P01';

export interface DatabaseConnectionOptions {
  /** Shown in pg_stat_activity. */
  readonly applicationName: string;
  /** The server cancels a statement after this long; the client stops waiting 5 s later. */
  readonly statementTimeoutMs: number;
}

export class DatabaseConnection {
  private connection?: Promise<Client>;
  private client?: Client;
  private secret?: Promise<DatabaseSecret>;
  /** Created on first use: a client for the function's region, with AWS_CLIENT_CONFIG's timeouts. */
  private secrets?: SecretsManagerClient;

  constructor(private readonly settings: DatabaseSettings, private readonly options: DatabaseConnectionOptions) {}

  /**
   * Runs `work` on the open connection, connecting first when there is none. After
   * an error the connection is closed, and the next call opens a new one: a failed
   * statement leaves no transaction open, and a broken socket is not reused.
   */
  async use<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = await (this.connection ??= this.connect().then((open) => {
      this.client = open;
      return open;
    }, (err) => {
      this.connection = undefined;
      throw err;
    }));
    try {
      return await work(client);
    } catch (err) {
      if (!isStatementError(err)) this.discard(client);
      throw err;
    }
  }

  /** Closes the connection, if open. */
  async end(): Promise<void> {
    const client = await this.connection?.catch(() => undefined);
    if (client) this.discard(client);
  }

  private async connect(): Promise<Client> {
    const cached = this.secret !== undefined;
    try {
      return await this.open(await this.readSecret());
    } catch (err) {
      if ((err as { code?: string }).code !== INVALID_PASSWORD || !cached) throw err;
      // The password changed since the secret was read: read it again, once.
      this.secret = undefined;
      return this.open(await this.readSecret());
    }
  }

  private async open(secret: DatabaseSecret): Promise<Client> {
    const client = new Client(connectionConfig(secret, this.settings.sslMode, this.options));
    // A connection that breaks between invocations is dropped, not reused.
    client.on('error', () => this.discard(client));
    client.on('end', () => this.discard(client));
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    return client;
  }

  private discard(client: Client): void {
    if (this.client === client) {
      this.client = undefined;
      this.connection = undefined;
    }
    client.end().catch(() => undefined);
  }

  private readSecret(): Promise<DatabaseSecret> {
    this.secrets ??= new (secretsSdk().SecretsManagerClient)(AWS_CLIENT_CONFIG);
    return this.secret ??= readDatabaseSecret(this.secrets, this.settings.secretArn).catch((err) => {
      this.secret = undefined;
      throw err;
    });
  }
}

function connectionConfig(secret: DatabaseSecret, sslMode: DatabaseSettings['sslMode'], options: DatabaseConnectionOptions): ClientConfig {
  return {
    host: secret.host,
    port: secret.port,
    user: secret.username,
    password: secret.password,
    database: secret.dbname,
    // verify-full: the server's certificate must chain to a trusted CA (in Lambda,
    // NODE_EXTRA_CA_CERTS adds the RDS bundle) and name the host.
    ssl: sslMode === 'disable' ? false : { rejectUnauthorized: true },
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: options.statementTimeoutMs,
    query_timeout: options.statementTimeoutMs + 5_000,
    keepAlive: true,
    application_name: options.applicationName,
  };
}

/** Reads and checks the RDS secret. Its values never appear in an error. */
async function readDatabaseSecret(secrets: SecretsManagerClient, secretArn: string): Promise<DatabaseSecret> {
  let text: string | undefined;
  try {
    text = (await secrets.send(new (secretsSdk().GetSecretValueCommand)({ SecretId: secretArn }))).SecretString;
  } catch (err) {
    throw new DatabaseSecretError(`could not read the database secret: ${(err as Error).name}: ${(err as Error).message}`, { secretArn }, err);
  }
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new DatabaseSecretError('the database secret is not a JSON object (expected the RDS secret format: host, port, username, password, dbname)', { secretArn });
  }
  const port = typeof value?.port === 'string' ? Number(value.port) : value?.port;
  const missing = [
    ...['host', 'username', 'password', 'dbname'].filter((key) => typeof value?.[key] !== 'string' || value[key] === ''),
    ...(Number.isInteger(port) ? [] : ['port']),
  ];
  if (missing.length > 0) {
    throw new DatabaseSecretError(`the database secret lacks ${missing.join(', ')} (expected the RDS secret format: host, port, username, password, dbname)`, { secretArn });
  }
  const { host, username, password, dbname } = value as Record<string, string>;
  return { host, port: port as number, username, password, dbname };
}

/**
 * True for an error the server raised for one statement (it has a SQLSTATE and the
 * session is still usable); false for a broken or refused connection or a timeout.
 */
export function isStatementError(err: unknown): boolean {
  return err instanceof DatabaseError && !/^(08|28|53|57|58|XX)/.test(err.code ?? '');
}
