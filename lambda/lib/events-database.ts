/**
 * What the migration does on every Create and Update, as the database's admin: creates the
 * events database when the server lacks it (an existing server), brings its schema up to date,
 * and applies the writer and reader roles (lambda/lib/roles.ts). The same code runs in the
 * deploy-time custom resource, the local pipeline and the tests.
 */
import { escapeIdentifier } from 'pg';
import type { MigrationSettings } from './configuration';
import { DatabaseConnection, readRoleCredentials, secretsManagerClient, type DatabaseConnectionOptions } from './database';
import { runMigrations } from './migrations';
import { applyEventRoles } from './roles';
import { log } from './telemetry';

/**
 * The admin connects straight to the server, never through RDS Proxy. A migration may build an
 * index on a large table: it gets up to 10 minutes (the Provider framework allows the handler 15).
 */
const ADMIN_CONNECTION: DatabaseConnectionOptions = { statementTimeoutMs: 600_000, startupSettings: { applicationName: 'kx-events-migrate' } };

/** Where the admin creates a missing events database: every PostgreSQL server (RDS and Aurora too) has it. */
const MAINTENANCE_DATABASE = 'postgres';

/** SQLSTATE 42P04 duplicate_database, or 23505 when two CREATE DATABASE race in the catalog. */
const DATABASE_EXISTS = /^(42P04|23505)$/;

/** Returns the migrations it applied; `database` is the events database it migrated. */
export async function prepareEventsDatabase(settings: MigrationSettings): Promise<{ applied: string[] }> {
  const secrets = secretsManagerClient();
  const [writer, reader] = await Promise.all([settings.writerSecretArn, settings.readerSecretArn].map((arn) => readRoleCredentials(secrets, arn)));
  if (settings.database !== undefined) await createDatabaseIfMissing(settings, settings.database);
  const database = new DatabaseConnection(settings, ADMIN_CONNECTION);
  try {
    return await database.use((client) => runMigrations(client, { afterwards: (c) => applyEventRoles(c, { writer, reader }) }));
  } finally {
    await database.end();
  }
}

/** Creates the database unless it exists, or another migration creates it at the same time. */
async function createDatabaseIfMissing(settings: MigrationSettings, name: string): Promise<void> {
  const server = new DatabaseConnection({ ...settings, database: MAINTENANCE_DATABASE }, ADMIN_CONNECTION);
  try {
    await server.use(async (client) => {
      if ((await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1) return;
      try {
        await client.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
        log('INFO', 'events database created', { database: name });
      } catch (err) {
        if (!DATABASE_EXISTS.test((err as { code?: string }).code ?? '')) throw err;
      }
    });
  } finally {
    await server.end();
  }
}
