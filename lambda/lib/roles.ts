/**
 * The roles of least privilege, which the migration applies on every deploy, after the
 * numbered migrations (so a migration that recreates a table gets its grants back):
 *
 * - the writer (the consumer's role): USAGE on the schema, SELECT and INSERT on `events`,
 *   UPDATE of only the columns the claim healing writes (HEAL_CLAIMS in events-table.ts),
 *   SELECT on `event_claims`, where it looks claims up (its triggers keep it as the admin,
 *   0006_event_claims.sql), and EXECUTE on `event_chain`;
 * - the reader (analysts, services): USAGE on the schema, SELECT on `events`, EXECUTE on `event_chain`.
 *
 * Nothing else, and nothing on the migrations' own table. Each role's name and password come
 * from its secret. Multi-user rotation alternates `<name>` and `<name>_clone`: the base role
 * always exists, the clone, when it exists, is a member of it, and the role the secret names
 * gets the secret's password. Roles are the cluster's, not the database's: migrations of two
 * databases may apply them at once, and a statement that loses such a race is retried.
 */
import { escapeIdentifier, escapeLiteral, type ClientBase } from 'pg';
import type { RoleCredentials } from './database';

export interface EventRoles {
  /** From DB_WRITER_SECRET_ARN. */
  readonly writer: RoleCredentials;
  /** From DB_READER_SECRET_ARN. */
  readonly reader: RoleCredentials;
}

/** The server cancels a writer's statement after this long: a batch's statements take milliseconds. */
export const WRITER_STATEMENT_TIMEOUT_MS = 20_000;

/**
 * The writer's session settings, kept on the role: the server applies them at login, so the
 * consumer sends no startup parameter and no SET (RDS Proxy refuses the one and pins on the other).
 */
const WRITER_SETTINGS: Readonly<Record<string, string>> = {
  statement_timeout: `${WRITER_STATEMENT_TIMEOUT_MS}ms`,
  application_name: 'kx-events-consumer',
};

/** The columns the claim healing updates; the writer may update no other. */
export const LINK_COLUMNS = ['previous_event_id', 'claimed_previous_event_id'] as const;

/** The writer's privileges on the tables: the consumer's statements need these and no more. */
export const WRITER_TABLE_GRANTS = [`SELECT, INSERT, UPDATE (${LINK_COLUMNS.join(', ')}) ON TABLE events`, 'SELECT ON TABLE event_claims'];

/** The suffix of multi-user rotation's alternate role. */
export const CLONE_SUFFIX = '_clone';

/** A role's base name leaves room for its clone within PostgreSQL's 63 bytes (longer names are cut silently). */
const MAX_BASE_NAME_BYTES = 63 - CLONE_SUFFIX.length;

/** Role attributes that a role of least privilege must not have (the migration's admin may not be able to remove them). */
const PRIVILEGED_ATTRIBUTES = ['rolsuper', 'rolcreaterole', 'rolcreatedb', 'rolreplication', 'rolbypassrls'];

/** SQLSTATEs of a statement that lost a race with another migration on the same role: 23505 unique_violation, 42710 duplicate_object, 40001, 40P01. */
const LOST_RACE = /^(23505|42710|40001|40P01)$/;
/** Attempts at the roles' transaction before a lost race is an error. */
const ATTEMPTS = 5;

interface RoleSpec {
  /** Which role, and the setting its secret comes from, for messages. */
  readonly label: 'writer (DB_WRITER_SECRET_ARN)' | 'reader (DB_READER_SECRET_ARN)';
  readonly credentials: RoleCredentials;
  readonly settings: Readonly<Record<string, string>>;
  /** GRANT statements (without `TO role`), after every privilege on these objects was revoked. */
  readonly grants: readonly string[];
}

export class RoleError extends Error {
  public override readonly name = 'RoleError';
  constructor(public readonly data: { readonly problems: readonly string[] }) {
    super(`the roles cannot be applied: ${data.problems.join('; ')}`);
  }
}

/**
 * Creates or updates the writer and reader roles and sets exactly their privileges, in one
 * transaction: a consumer never sees its privileges missing. Idempotent. Run it on a
 * connection in the events database, as its admin, under the migration's lock.
 */
export async function applyEventRoles(client: ClientBase, roles: EventRoles): Promise<void> {
  const schema = escapeIdentifier((await client.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0].schema);
  const database = escapeIdentifier((await client.query<{ database: string }>('SELECT current_database() AS database')).rows[0].database);
  const reading = [`CONNECT ON DATABASE ${database}`, `USAGE ON SCHEMA ${schema}`, 'EXECUTE ON FUNCTION event_chain(UUID, INTEGER)'];
  const specs: RoleSpec[] = [
    {
      label: 'writer (DB_WRITER_SECRET_ARN)',
      credentials: roles.writer,
      settings: WRITER_SETTINGS,
      grants: [...reading, ...WRITER_TABLE_GRANTS],
    },
    { label: 'reader (DB_READER_SECRET_ARN)', credentials: roles.reader, settings: {}, grants: [...reading, 'SELECT ON TABLE events'] },
  ];
  await checkNames(client, specs);
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query('BEGIN');
      for (const spec of specs) await applyRole(client, spec, schema, database);
      await client.query('COMMIT');
      return;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (attempt === ATTEMPTS || !lostRace(err)) throw err;
    }
  }
}

/** The base role (without the clone's suffix) and its clone. */
function names(username: string): { base: string; clone: string } {
  const base = username.endsWith(CLONE_SUFFIX) ? username.slice(0, -CLONE_SUFFIX.length) : username;
  return { base, clone: base + CLONE_SUFFIX };
}

/** Refuses names that would be cut, shared, the admin's own, or of a privileged role. */
async function checkNames(client: ClientBase, specs: readonly RoleSpec[]): Promise<void> {
  const problems: string[] = [];
  const admin = (await client.query<{ admin: string }>('SELECT session_user AS admin')).rows[0].admin;
  for (const { label, credentials } of specs) {
    const { base, clone } = names(credentials.username);
    if (base.length === 0 || Buffer.byteLength(base) > MAX_BASE_NAME_BYTES) {
      problems.push(`the ${label} username: must be 1..${MAX_BASE_NAME_BYTES} bytes before an optional ${CLONE_SUFFIX}, got ${JSON.stringify(credentials.username)}`);
    } else if (base === names(admin).base) {
      problems.push(`the ${label} username: must not be the admin's own role, got ${JSON.stringify(credentials.username)}`);
    } else {
      const { rows } = await client.query<{ rolname: string; attributes: string[] }>(
        `SELECT rolname, ARRAY[${PRIVILEGED_ATTRIBUTES.map((a) => `CASE WHEN ${a} THEN '${a.slice(3).toUpperCase()}' END`).join(', ')}] AS attributes
         FROM pg_roles WHERE rolname IN ($1, $2)`, [base, clone]);
      for (const row of rows) {
        const attributes = row.attributes.filter(Boolean);
        if (attributes.length > 0) problems.push(`the ${label} username: the role ${JSON.stringify(row.rolname)} exists with ${attributes.join(', ')}, which a role of least privilege must not have`);
      }
    }
  }
  if (names(specs[0].credentials.username).base === names(specs[1].credentials.username).base) {
    problems.push(`the writer and reader usernames: must name two roles, got ${JSON.stringify(specs[0].credentials.username)} for both`);
  }
  if (problems.length > 0) throw new RoleError({ problems });
}

async function applyRole(client: ClientBase, spec: RoleSpec, schema: string, database: string): Promise<void> {
  const { username, password } = spec.credentials;
  const { base, clone } = names(username);
  await createRole(client, base);
  if (username !== base) await createRole(client, username);
  // The password as a quoted literal (escapeLiteral doubles quotes and backslashes); no statement is logged.
  await client.query(`ALTER ROLE ${escapeIdentifier(username)} WITH LOGIN PASSWORD ${escapeLiteral(password)}`);
  const cloneExists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [clone])).rowCount === 1;
  const members = cloneExists ? [base, clone] : [base];
  if (cloneExists) {
    const { rowCount } = await client.query(`SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles c ON c.oid = m.member
      WHERE r.rolname = $1 AND c.rolname = $2`, [base, clone]);
    if (rowCount === 0) await client.query(`GRANT ${escapeIdentifier(base)} TO ${escapeIdentifier(clone)}`);
  }
  for (const role of members.map(escapeIdentifier)) {
    await client.query(`ALTER ROLE ${role} RESET ALL`);
    for (const [name, value] of Object.entries(spec.settings)) await client.query(`ALTER ROLE ${role} SET ${name} = ${escapeLiteral(value)}`);
    // Exactly the privileges listed: whatever else was granted on these objects goes (the clone has its base's, as a member).
    await client.query(`REVOKE ALL ON TABLE events, event_claims FROM ${role}`);
    await client.query(`REVOKE ALL ON FUNCTION event_chain(UUID, INTEGER) FROM ${role}`);
    await client.query(`REVOKE ALL ON SCHEMA ${schema} FROM ${role}`);
    await client.query(`REVOKE ALL ON DATABASE ${database} FROM ${role}`);
  }
  for (const grant of spec.grants) await client.query(`GRANT ${grant} TO ${escapeIdentifier(base)}`);
}

/** Creates the role unless it exists; LOGIN, without a password until one is set. */
async function createRole(client: ClientBase, role: string): Promise<void> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  if (rowCount === 0) await client.query(`CREATE ROLE ${escapeIdentifier(role)} WITH LOGIN`);
}

/** True when the error is another migration's concurrent change of the same role (caught by the catalog's unique index or row lock). */
function lostRace(err: unknown): boolean {
  const { code, message } = err as { code?: string; message?: string };
  return LOST_RACE.test(code ?? '') || (code === 'XX000' && /tuple concurrently (updated|deleted)/.test(message ?? ''));
}
