/**
 * The schema's migration runner: the numbered files of lambda/schema/, applied in
 * order, each once. The same code runs in the deploy-time custom resource, the
 * tests and the local demo.
 */
/// <reference path="../schema/sql.d.ts" />
import type { ClientBase } from 'pg';
import events from '../schema/0001_events.sql';
import eventChain from '../schema/0002_event_chain.sql';
import claimedLinks from '../schema/0003_claimed_links.sql';
import claimHealing from '../schema/0004_claim_healing.sql';
import partitions from '../schema/0005_partitions.sql';
import eventClaims from '../schema/0006_event_claims.sql';

/** The migrations, in the order they apply. A version is its file name without `.sql`. */
export const MIGRATIONS: ReadonlyArray<{ readonly version: string; readonly sql: string }> = [
  { version: '0001_events', sql: events },
  { version: '0002_event_chain', sql: eventChain },
  { version: '0003_claimed_links', sql: claimedLinks },
  { version: '0004_claim_healing', sql: claimHealing },
  { version: '0005_partitions', sql: partitions },
  { version: '0006_event_claims', sql: eventClaims },
];

/** The table where the runner records what it applied. */
export const MIGRATIONS_TABLE = 'kx_events_migrations';

/** The advisory lock that serializes runners on one database: a constant bigint, the bytes of "kxevents". */
const MIGRATION_LOCK = '7744051118445851763';

export class MigrationError extends Error {
  public override readonly name = 'MigrationError';
  constructor(public readonly version: string, cause: unknown) {
    super(`migration ${version} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * Applies the migrations (`migrations`: all of them, or the first few, as an older release
 * would) that the database has not recorded yet, each in its own transaction with its
 * record, then `afterwards` (the roles, on every run). Idempotent, and safe when several
 * run at once: they queue on a session-level advisory lock, and each sees what the
 * previous one applied.
 */
export async function runMigrations(
  client: ClientBase,
  options: { readonly migrations?: typeof MIGRATIONS; readonly afterwards?: (client: ClientBase) => Promise<void> } = {},
): Promise<{ applied: string[] }> {
  const { migrations = MIGRATIONS, afterwards } = options;
  await client.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
      version    TEXT PRIMARY KEY,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: string }>(`SELECT version FROM ${MIGRATIONS_TABLE}`);
    const done = new Set(rows.map((row) => row.version));
    const applied: string[] = [];
    for (const migration of migrations.filter((m) => !done.has(m.version))) {
      try {
        await client.query('BEGIN');
        await client.query(migration.sql);
        await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (version) VALUES ($1)`, [migration.version]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new MigrationError(migration.version, err);
      }
      applied.push(migration.version);
    }
    await afterwards?.(client);
    return { applied };
  } finally {
    await client.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`).catch(() => undefined);
  }
}
