/**
 * The container's one connection to PostgreSQL: credentials from the role's secret
 * (read once, re-read once when the password was rotated), the server from the
 * settings' host, port and database or else the secret's, TLS with verification
 * unless explicitly disabled, every wait bounded by the invocation's deadline, a
 * liveness probe before a connection that sat idle is trusted again, and a new
 * connection after any error that leaves the old one in doubt.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Client, DatabaseError, type ClientConfig } from 'pg';
import { AWS_CLIENT_CONFIG, type DatabaseSettings } from './configuration';
import { log } from './telemetry';

/** Connecting gives up after this long (a stopped or unreachable server), or sooner at the deadline. */
const CONNECT_TIMEOUT_MS = 5_000;
/**
 * A connection idle for longer than this is probed before it is used: a path can go
 * silent without a FIN or an RST (a frozen container's socket after a network change,
 * an idle timeout on the way), and a statement sent into it would wait out its deadline.
 */
export const PROBE_AFTER_IDLE_MS = 5_000;
/** The probe (SELECT 1) is given this long; a live server answers in milliseconds. */
const PROBE_TIMEOUT_MS = 2_000;
/** TCP keepalive starts probing a connection idle this long, while the container runs. */
const KEEPALIVE_IDLE_MS = 10_000;

/** A role's name and password, from its secret. */
export interface RoleCredentials {
  readonly username: string;
  readonly password: string;
}

/** Where and as whom a connection logs in: the settings' host, port and database, or else the secret's. */
interface LoginSettings extends RoleCredentials {
  readonly host: string;
  readonly port: number;
  readonly database: string;
}

/** The invocation's deadline came before the database answered (a blocked statement, a silent connection). */
export class DatabaseDeadlineError extends Error {
  public override readonly name = 'DatabaseDeadlineError';
  constructor(public readonly data: { readonly step: 'connect' | 'statement' }, cause?: unknown) {
    super(`the database did not answer before the invocation's deadline (${data.step})`, { cause });
  }
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
  /** The client gives up on a statement this long after the server should have cancelled it (plus 5 s). */
  readonly statementTimeoutMs: number;
  /**
   * For a connection made straight to the server (the migration): sent in the startup message, with
   * statement_timeout (statementTimeoutMs, or less when the deadline given to `use` is nearer). A
   * connection that may go through RDS Proxy (the consumer) sends neither: the proxy refuses a
   * statement_timeout startup parameter, and a SET would pin the session. Its role carries both
   * settings instead (lambda/lib/roles.ts).
   * @default - no startup settings: the role's own
   */
  readonly startupSettings?: { readonly applicationName: string };
}

export class DatabaseConnection {
  private connection?: Promise<Client>;
  private client?: Client;
  /** When the open connection last answered (epoch milliseconds). */
  private lastUsed = 0;
  private login?: Promise<LoginSettings>;
  private secrets?: SecretsManagerClient;

  constructor(private readonly settings: DatabaseSettings, private readonly options: DatabaseConnectionOptions) {}

  /**
   * Runs `work` on the open connection, connecting first when there is none, all by
   * `deadline` (epoch milliseconds; none by default). A connection idle for longer than
   * {@link PROBE_AFTER_IDLE_MS} must answer a probe first, or it is replaced. At the
   * deadline the connection is closed, which ends the statement in flight, and the call
   * rejects with a DatabaseDeadlineError. After an error the connection is closed, and
   * the next call opens a new one: a failed statement leaves no transaction open, and a
   * broken socket is not reused.
   */
  async use<T>(work: (client: Client) => Promise<T>, deadline = Infinity): Promise<T> {
    const client = await this.ready(deadline);
    let overdue = false;
    const timer = Number.isFinite(deadline) ? setTimeout(() => {
      overdue = true;
      this.discard(client);
    }, deadline - Date.now()) : undefined;
    try {
      return await work(client);
    } catch (err) {
      if (overdue) throw new DatabaseDeadlineError({ step: 'statement' }, err);
      if (!isStatementError(err)) this.discard(client);
      throw err;
    } finally {
      clearTimeout(timer);
      this.lastUsed = Date.now();
    }
  }

  /** Closes the connection, if open. */
  async end(): Promise<void> {
    const client = await this.connection?.catch(() => undefined);
    if (client) this.discard(client);
  }

  /** The open connection, probed when it sat idle, or a new one. */
  private async ready(deadline: number): Promise<Client> {
    const idleMs = Date.now() - this.lastUsed;
    if (this.client && idleMs > PROBE_AFTER_IDLE_MS && !await answers(this.client, Math.min(PROBE_TIMEOUT_MS, deadline - Date.now()))) {
      log('WARN', 'the database connection did not answer after an idle while: it is replaced', { idleMs });
      this.discard(this.client);
    }
    return this.connection ??= this.connect(deadline).then((open) => {
      this.client = open;
      this.lastUsed = Date.now();
      return open;
    }, (err) => {
      this.connection = undefined;
      throw err;
    });
  }

  private async connect(deadline: number): Promise<Client> {
    const cached = this.login !== undefined;
    try {
      return await this.open(await this.readLogin(deadline), deadline);
    } catch (err) {
      if ((err as { code?: string }).code !== INVALID_PASSWORD || !cached) throw err;
      // The password changed since the secret was read: read it again, once.
      this.login = undefined;
      return this.open(await this.readLogin(deadline), deadline);
    }
  }

  private async open(login: LoginSettings, deadline: number): Promise<Client> {
    const client = new Client(connectionConfig(login, this.settings.sslMode, this.options, timeLeft(deadline)));
    // A connection that breaks between invocations is dropped, not reused.
    client.on('error', () => this.discard(client));
    client.on('end', () => this.discard(client));
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw Date.now() >= deadline ? new DatabaseDeadlineError({ step: 'connect' }, err) : err;
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

  private readLogin(deadline: number): Promise<LoginSettings> {
    this.secrets ??= secretsManagerClient();
    return this.login ??= readLoginSettings(this.secrets, this.settings, timeLeft(deadline)).catch((err) => {
      this.login = undefined;
      throw err;
    });
  }
}

/** The milliseconds left before the deadline (Infinity without one); none left is a DatabaseDeadlineError. */
function timeLeft(deadline: number): number {
  const left = deadline - Date.now();
  if (left <= 0) throw new DatabaseDeadlineError({ step: 'connect' });
  return left;
}

/** True when the connection answers a trivial statement within `timeoutMs`. */
async function answers(client: Client, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs));
  });
  try {
    return await Promise.race([client.query('SELECT 1').then(() => true, () => false), silent]);
  } finally {
    clearTimeout(timer);
  }
}

function connectionConfig(login: LoginSettings, sslMode: DatabaseSettings['sslMode'], options: DatabaseConnectionOptions, leftMs: number): ClientConfig {
  const statementTimeoutMs = Math.ceil(Math.min(options.statementTimeoutMs, leftMs));
  return {
    host: login.host,
    port: login.port,
    user: login.username,
    password: login.password,
    database: login.database,
    // verify-full: the server's certificate must chain to a trusted CA (in Lambda,
    // NODE_EXTRA_CA_CERTS adds the RDS bundle) and name the host.
    ssl: sslMode === 'disable' ? false : { rejectUnauthorized: true },
    connectionTimeoutMillis: Math.ceil(Math.min(CONNECT_TIMEOUT_MS, leftMs)),
    ...options.startupSettings && { statement_timeout: statementTimeoutMs, application_name: options.startupSettings.applicationName },
    query_timeout: statementTimeoutMs + 5_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
  };
}

/** A Secrets Manager client for the function's region, with AWS_CLIENT_CONFIG's timeouts. */
export function secretsManagerClient(): SecretsManagerClient {
  return new (secretsSdk().SecretsManagerClient)(AWS_CLIENT_CONFIG);
}

/**
 * Reads a secret that holds JSON with at least these string fields (and `port`, an integer,
 * when named). Its values never appear in an error.
 */
async function readSecretFields(
  secrets: SecretsManagerClient, secretArn: string, fields: readonly string[], leftMs = Infinity,
): Promise<Record<string, string | number>> {
  const expected = `expected JSON with ${fields.join(', ')}`;
  let text: string | undefined;
  try {
    const abortSignal = Number.isFinite(leftMs) ? AbortSignal.timeout(leftMs) : undefined;
    text = (await secrets.send(new (secretsSdk().GetSecretValueCommand)({ SecretId: secretArn }), { abortSignal })).SecretString;
  } catch (err) {
    throw new DatabaseSecretError(`could not read the database secret: ${(err as Error).name}: ${(err as Error).message}`, { secretArn }, err);
  }
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new DatabaseSecretError(`the database secret is not a JSON object (${expected})`, { secretArn });
  }
  const port = typeof value?.port === 'string' ? Number(value.port) : value?.port;
  const missing = fields.filter((key) => (key === 'port' ? !Number.isInteger(port) : typeof value?.[key] !== 'string' || value[key] === ''));
  if (missing.length > 0) throw new DatabaseSecretError(`the database secret lacks ${missing.join(', ')} (${expected})`, { secretArn });
  return { ...(value as Record<string, string>), ...(fields.includes('port') && { port: port as number }) };
}

/** A role's name and password, from its secret (the fields of an RDS secret that a role needs). */
export async function readRoleCredentials(secrets: SecretsManagerClient, secretArn: string): Promise<RoleCredentials> {
  const { username, password } = await readSecretFields(secrets, secretArn, ['username', 'password']) as Record<string, string>;
  return { username, password };
}

/** The login: the role's secret, with the settings' host, port and database where they are given. */
async function readLoginSettings(secrets: SecretsManagerClient, settings: DatabaseSettings, leftMs: number): Promise<LoginSettings> {
  const fields = ['username', 'password', ...settings.host ? [] : ['host'], ...settings.port ? [] : ['port'], ...settings.database ? [] : ['dbname']];
  const secret = await readSecretFields(secrets, settings.secretArn, fields, leftMs);
  return {
    username: secret.username as string,
    password: secret.password as string,
    host: settings.host ?? secret.host as string,
    port: settings.port ?? secret.port as number,
    database: settings.database ?? secret.dbname as string,
  };
}

/**
 * True for an error the server raised for one statement (it has a SQLSTATE and the
 * session is still usable); false for a broken or refused connection or a timeout.
 */
export function isStatementError(err: unknown): boolean {
  return err instanceof DatabaseError && !/^(08|28|53|57|58|XX)/.test(err.code ?? '');
}
