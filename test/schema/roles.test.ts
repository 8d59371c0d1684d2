/**
 * The roles of least privilege, on the test bed's PostgreSQL 16, applied by the migration's
 * own code as an admin like RDS's (CREATEDB and CREATEROLE, not a superuser), on a server
 * that lacks the events database at first (the existing-database shape).
 */
import { randomBytes, randomUUID } from 'crypto';
import * as net from 'net';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { SQSRecord } from 'aws-lambda';
import { Client } from 'pg';
import type { MigrationSettings } from '../../lambda/lib/configuration';
import { prepareEventsDatabase } from '../../lambda/lib/events-database';
import { MIGRATIONS } from '../../lambda/lib/migrations';
import { applyEventRoles } from '../../lambda/lib/roles';
import { withDatabase } from '../../local/postgres';
import { CONSUMER_SOURCE, createDatabaseSecret, invoke, loadHandler, sqsRecord, trackedEvent, type ConsumerHandler } from '../consumer/harness';
import { secretsManagerClient } from '../setup/test-bed';

const id = randomUUID().slice(0, 8);
const ADMIN = `kx_admin_${id}`;
const WRITER = `kx_writer_${id}`;
const READER = `kx_reader_${id}`;
const DATABASES = [`kx_events_${id}`, `kx_events_${id}_b`];
const password = () => `pw'\\${randomBytes(9).toString('base64url')}`; // a quote and a backslash: the literal must be escaped

const serverUrl = new URL(process.env.DATABASE_URL!);
const urlOf = (user: string, pass: string, database: string) => {
  const url = new URL(serverUrl);
  Object.assign(url, { username: user, password: encodeURIComponent(pass), pathname: `/${database}` });
  return url.toString();
};
type Work<T> = (client: Client) => Promise<T>;
const as = <T>(user: string, pass: string, work: Work<T>, database = DATABASES[0]) => withDatabase(urlOf(user, pass, database), work);
const superuser = <T>(database: string, work: Work<T>) => as(serverUrl.username, decodeURIComponent(serverUrl.password), work, database);

const writerPassword = { current: password() };
const readerPassword = password();
let settings: MigrationSettings;
let writerSecretArn: string;
const putWriterSecret = (username: string, pass: string) => secretsManagerClient().send(new PutSecretValueCommand({
  SecretId: writerSecretArn,
  SecretString: JSON.stringify({ engine: 'postgres', host: serverUrl.hostname, port: Number(serverUrl.port), username, password: pass }),
}));
const migrate = (database = DATABASES[0]) => prepareEventsDatabase({ ...settings, database });
/** 'allowed', or the SQLSTATE that refused the statement. */
const tryAs = (user: string, pass: string, statement: string) => as(user, pass, (c) => c.query(statement)).then(() => 'allowed', (err) => err.code);

/** Each role's privileges, settings and memberships, as the catalog has them. */
async function privileges(database: string, roles = [WRITER, READER]) {
  return superuser(database, async (c) => ({
    tables: (await c.query(`SELECT grantee, table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) AS privileges
      FROM information_schema.role_table_grants WHERE grantee = ANY($1) GROUP BY grantee, table_name ORDER BY grantee, table_name`, [roles])).rows,
    columns: (await c.query(`SELECT grantee, column_name, privilege_type FROM information_schema.column_privileges
      WHERE grantee = ANY($1) AND privilege_type <> 'SELECT' AND privilege_type <> 'INSERT' ORDER BY grantee, column_name`, [roles])).rows,
    functions: (await c.query(`SELECT r.rolname, p.proname FROM pg_proc p, pg_roles r
      WHERE r.rolname = ANY($1) AND has_function_privilege(r.oid, p.oid, 'EXECUTE') AND p.proname IN ('event_chain')
      ORDER BY 1, 2`, [roles])).rows,
    settings: (await c.query(`SELECT r.rolname, s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
      WHERE r.rolname = ANY($1) ORDER BY 1`, [[...roles, ...roles.map((r) => `${r}_clone`)]])).rows,
    roles: (await c.query(`SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles
      WHERE rolname LIKE ANY($1) ORDER BY 1`, [roles.map((r) => `${r}%`)])).rows,
  }));
}

const EXPECTED_TABLES = [
  { grantee: READER, table_name: 'events', privileges: 'SELECT' },
  { grantee: WRITER, table_name: 'event_claims', privileges: 'SELECT' },
  { grantee: WRITER, table_name: 'events', privileges: 'INSERT,SELECT' },
];
const EXPECTED_COLUMNS = [
  { grantee: WRITER, column_name: 'claimed_previous_event_id', privilege_type: 'UPDATE' },
  { grantee: WRITER, column_name: 'previous_event_id', privilege_type: 'UPDATE' },
];

beforeAll(async () => {
  const adminPassword = password();
  await superuser('postgres', (c) => c.query(`CREATE ROLE ${ADMIN} LOGIN CREATEDB CREATEROLE PASSWORD '${adminPassword.replace(/'/g, "''")}'`));
  writerSecretArn = await createDatabaseSecret(urlOf(WRITER, writerPassword.current, 'postgres'));
  await putWriterSecret(WRITER, writerPassword.current); // as CDK makes it: no dbname
  settings = {
    secretArn: await createDatabaseSecret(urlOf(ADMIN, adminPassword, 'postgres')),
    sslMode: 'disable',
    database: DATABASES[0],
    writerSecretArn,
    readerSecretArn: await createDatabaseSecret(urlOf(READER, readerPassword, 'postgres')),
  };
});

afterAll(async () => {
  await superuser('postgres', async (c) => {
    for (const database of DATABASES) await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await c.query(`DROP ROLE IF EXISTS ${WRITER}_clone, ${WRITER}, ${READER}, ${ADMIN}`);
  });
});

test('on a server without the events database, the migration creates it, migrates it, and makes the writer and the reader with exactly their privileges', async () => {
  const logged = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    expect((await migrate()).applied).toEqual(MIGRATIONS.map((m) => m.version));
    expect(JSON.stringify(logged.mock.calls)).toContain('events database created');
    expect(JSON.stringify(logged.mock.calls)).not.toContain(writerPassword.current.slice(4));
  } finally {
    logged.mockRestore();
  }
  const found = await privileges(DATABASES[0]);
  expect(found.tables).toEqual(EXPECTED_TABLES);
  expect(found.columns).toEqual(EXPECTED_COLUMNS);
  expect(found.functions).toEqual([{ rolname: READER, proname: 'event_chain' }, { rolname: WRITER, proname: 'event_chain' }]);
  expect(found.settings).toEqual([{ rolname: WRITER, setconfig: ['statement_timeout=20000ms', 'application_name=kx-events-consumer'] }]);
  const leastPrivilege = { rolcanlogin: true, rolsuper: false, rolcreaterole: false, rolcreatedb: false };
  expect(found.roles).toEqual([READER, WRITER].map((rolname) => ({ rolname, ...leastPrivilege })));
  // Nothing on the migrations' own table.
  expect(await as(READER, readerPassword, (c) => c.query('SELECT * FROM kx_events_migrations')).catch((err) => err.code)).toBe('42501');
});

test('run again, and three at once (two on one database, one on another), the migration leaves one writer and one reader with the same privileges', async () => {
  const before = await privileges(DATABASES[0]);
  await migrate();
  await Promise.all([migrate(), migrate(), migrate(DATABASES[1])]);
  expect(await privileges(DATABASES[0])).toEqual(before);
  expect(await privileges(DATABASES[1])).toEqual(before);
});

test('a migration that meets another change of the same role (another database\'s migration, a rotation) retries, and sets its password', async () => {
  const other = new Client(urlOf(serverUrl.username, decodeURIComponent(serverUrl.password), 'postgres'));
  await other.connect();
  try {
    await other.query('BEGIN');
    await other.query(`ALTER ROLE ${READER} PASSWORD 'changed-meanwhile'`);
    const migrating = migrate();
    // Once the migration waits for the other transaction's change of the role, that change commits.
    const waiting = () => superuser('postgres', async (c) => (await c.query(
      "SELECT 1 FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'", [ADMIN])).rowCount === 1);
    while (!await waiting()) await new Promise((resolve) => setTimeout(resolve, 20));
    await other.query('COMMIT');
    await migrating;
  } finally {
    await other.end();
  }
  expect(await tryAs(READER, readerPassword, 'SELECT 1')).toBe('allowed');
});

describe('as the roles', () => {
  const event = '00000000-0000-4000-8000-0000000000e1';

  test('the writer may not CREATE, DROP, ALTER, TRUNCATE, DELETE, nor UPDATE any column but the links', async () => {
    const w = (statement: string) => tryAs(WRITER, writerPassword.current, statement);
    expect(await w(`INSERT INTO events (event_id, client_id, event_type, occurred_at) VALUES ('${event}', 'c', 't', now())`)).toBe('allowed');
    expect(await w(`UPDATE events SET claimed_previous_event_id = NULL, previous_event_id = NULL WHERE event_id = '${event}'`)).toBe('allowed');
    for (const statement of [
      'CREATE TABLE mine (x int)',
      'CREATE SCHEMA mine',
      'CREATE INDEX mine ON events (source)',
      'DROP TABLE events',
      'DROP FUNCTION event_chain(UUID, INTEGER)',
      'ALTER TABLE events ADD COLUMN x int',
      'TRUNCATE events',
      'DELETE FROM events',
      `UPDATE events SET client_id = 'other' WHERE event_id = '${event}'`,
      `UPDATE events SET metadata = '{}' WHERE event_id = '${event}'`,
      'SELECT * FROM kx_events_migrations',
    ]) expect([statement, await w(statement)]).toEqual([statement, '42501']);
  });

  test('the reader may only SELECT, and read chains', async () => {
    const r = (statement: string) => tryAs(READER, readerPassword, statement);
    expect(await r('SELECT count(*) FROM events')).toBe('allowed');
    expect(await r(`SELECT * FROM event_chain('${event}')`)).toBe('allowed');
    for (const statement of [
      `INSERT INTO events (event_id, client_id, event_type, occurred_at) VALUES ('${randomUUID()}', 'c', 't', now())`,
      `UPDATE events SET previous_event_id = NULL WHERE event_id = '${event}'`,
      'DELETE FROM events',
      'TRUNCATE events',
      'CREATE TABLE mine (x int)',
    ]) expect([statement, await r(statement)]).toEqual([statement, '42501']);
  });
});

describe('the consumer, with the writer secret', () => {
  let handler: ConsumerHandler;
  const record = (event: Record<string, unknown>, receiveCount = 1): SQSRecord => sqsRecord(JSON.stringify(event), { receiveCount });
  const stored = () => superuser(DATABASES[0], async (c) => (await c.query('SELECT event_id, previous_event_id, claimed_previous_event_id FROM events')).rows);
  beforeAll(() => {
    ({ handler } = loadHandler<{ handler: ConsumerHandler }>(CONSUMER_SOURCE, {
      DB_SECRET_ARN: writerSecretArn,
      DB_NAME: DATABASES[0],
      DB_SSL_MODE: 'disable',
      DEAD_LETTER_QUEUE_URL: 'http://127.0.0.1:1/000000000000/unused',
      MAX_RECEIVE_COUNT: '3',
    }));
  });

  test('stores events as the writer, which may heal a claim: the claim becomes the link when its event comes', async () => {
    const [first, second] = [trackedEvent(), trackedEvent()];
    second.previousEventId = first.eventId;
    // The follower on its last receive, before its predecessor: stored with the claim kept.
    expect((await invoke(handler, [record(second, 3)])).summary).toMatchObject({ inserted: 1, unlinked: 1, failed: 0 });
    expect((await invoke(handler, [record(first)])).summary).toMatchObject({ inserted: 1, failed: 0 });
    expect(await stored()).toEqual(expect.arrayContaining([
      { event_id: second.eventId, previous_event_id: first.eventId, claimed_previous_event_id: null },
    ]));
    const sessions = await superuser(DATABASES[0], async (c) => (await c.query(
      'SELECT usename, application_name FROM pg_stat_activity WHERE datname = $1 AND usename = $2', [DATABASES[0], WRITER])).rows);
    expect(sessions).toEqual([{ usename: WRITER, application_name: 'kx-events-consumer' }]);
  });

  test('a password change on the writer secret, applied by the next deploy, costs the next batch nothing', async () => {
    writerPassword.current = password();
    await putWriterSecret(WRITER, writerPassword.current);
    await migrate();
    // A new session (a new container, a failover) logs in with the cached password, is refused, reads the secret again.
    await superuser(DATABASES[0], (c) => c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [WRITER]));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const batch = Array.from({ length: 5 }, () => record(trackedEvent()));
    const result = await invoke(handler, batch);
    expect(result).toMatchObject({ failures: [], summary: { inserted: 5 } });
    expect(JSON.stringify(result.lines)).not.toContain(writerPassword.current.slice(4));
  });

  test('after a multi-user rotation (the secret names <name>_clone), the clone has the password and the writer\'s privileges, as its member', async () => {
    writerPassword.current = password();
    await putWriterSecret(`${WRITER}_clone`, writerPassword.current);
    await migrate();
    const found = await privileges(DATABASES[0]);
    expect(found.tables).toEqual(EXPECTED_TABLES);
    expect(found.settings.map((s) => s.rolname)).toEqual([WRITER, `${WRITER}_clone`]);
    const member = await superuser('postgres', async (c) => (await c.query('SELECT pg_has_role($1, $2, \'USAGE\') AS member', [`${WRITER}_clone`, WRITER])).rows[0].member);
    expect(member).toBe(true);
    const clone = (statement: string) => tryAs(`${WRITER}_clone`, writerPassword.current, statement);
    expect(await clone(`INSERT INTO events (event_id, client_id, event_type, occurred_at) VALUES ('${randomUUID()}', 'c', 't', now())`)).toBe('allowed');
    expect(await clone('DELETE FROM events')).toBe('42501');
  });

  test('its startup message carries no setting RDS Proxy refuses or pins on (only user, database, client_encoding), to DB_HOST and DB_PORT', async () => {
    const server = net.createServer();
    const startup = new Promise<Record<string, string>>((resolve) => server.on('connection', (socket) => socket.once('data', (packet) => {
      // Int32 length, Int32 protocol 3.0, then name\0value\0 pairs, and a final \0.
      const fields = packet.subarray(8, packet.length - 2).toString().split('\0');
      resolve(Object.fromEntries(fields.flatMap((field, i) => (i % 2 === 0 ? [[field, fields[i + 1]]] : []))));
      socket.destroy();
    })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { handler: proxied } = loadHandler<{ handler: ConsumerHandler }>(CONSUMER_SOURCE, {
        DB_SECRET_ARN: writerSecretArn,
        DB_HOST: '127.0.0.1',
        DB_PORT: String((server.address() as net.AddressInfo).port),
        DB_NAME: 'events_db',
        DB_SSL_MODE: 'disable',
        DEAD_LETTER_QUEUE_URL: 'http://127.0.0.1:1/000000000000/unused',
        MAX_RECEIVE_COUNT: '3',
      });
      const [parameters, refused] = await Promise.all([startup, invoke(proxied, [record(trackedEvent())])]);
      expect(parameters).toEqual({ user: `${WRITER}_clone`, database: 'events_db', client_encoding: 'UTF8' });
      expect(refused.summary).toMatchObject({ failed: 1 });
    } finally {
      server.close();
    }
  });
});

test('refuses role names it cannot give least privilege, naming each problem', async () => {
  const credentials = (username: string) => ({ username, password: 'unused' });
  await expect(superuser(DATABASES[0], (c) => applyEventRoles(c, { writer: credentials(serverUrl.username), reader: credentials('x'.repeat(58)) }))).rejects.toMatchObject({
    name: 'RoleError',
    message: expect.stringMatching(new RegExp(`writer \\(DB_WRITER_SECRET_ARN\\) username: must not be the admin's own role, got "${serverUrl.username}".*`
      + 'reader \\(DB_READER_SECRET_ARN\\) username: must be 1\\.\\.57 bytes')),
  });
  await expect(superuser(DATABASES[0], (c) => applyEventRoles(c, { writer: credentials(WRITER), reader: credentials(`${WRITER}_clone`) }))).rejects.toMatchObject({
    message: expect.stringContaining('the writer and reader usernames: must name two roles'),
  });
});
