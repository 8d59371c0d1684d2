import { randomUUID } from 'crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { Client } from 'pg';
import { MIGRATIONS, MIGRATIONS_TABLE, runMigrations } from '../../lambda/lib/migrations';
import { withDatabase } from '../../local/postgres';
import { connect, createDatabaseSecret, dropDatabase, loadHandler, MIGRATE_BUNDLE, MIGRATE_SOURCE } from '../consumer/harness';
import { freshDatabase } from '../setup/test-bed';

/** The seed's events table (README "Database Schema"), plus claimed_previous_event_id. */
const SEED_COLUMNS = [
  ['event_id', 'uuid', null, 'NO'],
  ['client_id', 'character varying', 128, 'NO'],
  ['previous_event_id', 'uuid', null, 'YES'],
  ['user_id', 'character varying', 128, 'YES'],
  ['entity_id', 'character varying', 128, 'YES'],
  ['entity_type', 'character varying', 48, 'YES'],
  ['event_type', 'character varying', 48, 'NO'],
  ['source', 'character varying', 32, 'YES'],
  ['campaign_id', 'character varying', 128, 'YES'],
  ['points_awarded', 'integer', null, 'YES'],
  ['session_id', 'character varying', 128, 'YES'],
  ['occurred_at', 'timestamp with time zone', null, 'NO'],
  ['metadata', 'jsonb', null, 'YES'],
  ['created_at', 'timestamp with time zone', null, 'NO'],
  ['claimed_previous_event_id', 'uuid', null, 'YES'],
];

const SEED_INDEXES = [
  'idx_events_campaign_time',
  'idx_events_claimed_prev',
  'idx_events_client_time',
  'idx_events_metadata_gin',
  'idx_events_prev',
  'idx_events_type_time',
  'idx_events_user_time',
];

/** Every migration's version, in order, and the last one: the schema version a fresh database reaches. */
const VERSIONS = MIGRATIONS.map((m) => m.version);
const LATEST = VERSIONS[VERSIONS.length - 1];

async function describeSchema(client: Client) {
  const columns = await client.query(`
    SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
    FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'events' ORDER BY ordinal_position`);
  const constraints = await client.query(`
    SELECT tc.constraint_name, tc.constraint_type, kcu.column_name, ccu.table_name AS ref_table, ccu.column_name AS ref_column, rc.delete_rule
    FROM information_schema.table_constraints tc
    JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_name = tc.table_name
    LEFT JOIN information_schema.referential_constraints rc ON rc.constraint_name = tc.constraint_name
    LEFT JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = rc.unique_constraint_name
    WHERE tc.table_name = 'events' ORDER BY tc.constraint_name`);
  const indexes = await client.query('SELECT indexname, indexdef FROM pg_indexes WHERE tablename = \'events\' ORDER BY indexname');
  return { columns: columns.rows, constraints: constraints.rows, indexes: indexes.rows };
}

describe('runMigrations', () => {
  test('creates the seed schema, partitioned by day: columns, types, the key (event_id, occurred_at), its six indexes, and the partial index of claims', async () => {
    const client = await connect(await freshDatabase());
    try {
      expect(await runMigrations(client)).toEqual({ applied: VERSIONS });
      const schema = await describeSchema(client);

      expect(schema.columns.map((c) => [c.column_name, c.data_type, c.character_maximum_length, c.is_nullable])).toEqual(SEED_COLUMNS);
      expect(schema.columns.find((c) => c.column_name === 'created_at')!.column_default).toBe('now()');

      // The links are the consumer's to check: a foreign key would need a unique key on event_id alone (0005_partitions.sql).
      expect(schema.constraints.map((c) => [c.constraint_type, c.column_name]).sort()).toEqual([['PRIMARY KEY', 'event_id'], ['PRIMARY KEY', 'occurred_at']]);
      expect((await client.query("SELECT pg_get_partkeydef('events'::regclass) AS key")).rows).toEqual([{ key: 'RANGE (occurred_at)' }]);

      const byName = Object.fromEntries(schema.indexes.map((i) => [i.indexname, i.indexdef as string]));
      expect(Object.keys(byName).filter((n) => n.startsWith('idx_'))).toEqual(SEED_INDEXES);
      expect(byName.idx_events_metadata_gin).toMatch(/USING gin \(metadata\)/);
      expect(byName.idx_events_client_time).toMatch(/USING btree \(client_id, occurred_at\)/);
      expect(byName.idx_events_user_time).toMatch(/USING btree \(user_id, occurred_at\)/);
      expect(byName.idx_events_type_time).toMatch(/USING btree \(event_type, occurred_at\)/);
      expect(byName.idx_events_campaign_time).toMatch(/USING btree \(campaign_id, occurred_at\)/);
      expect(byName.idx_events_prev).toMatch(/USING btree \(previous_event_id\)/);
      expect(byName.idx_events_claimed_prev).toMatch(/USING btree \(claimed_previous_event_id\) WHERE \(claimed_previous_event_id IS NOT NULL\)/);
    } finally {
      await client.end();
    }
  });

  test('runs twice without error, and records each version once', async () => {
    const client = await connect(await freshDatabase());
    try {
      expect((await runMigrations(client)).applied).toEqual(VERSIONS);
      expect(await runMigrations(client)).toEqual({ applied: [] });
      const { rows } = await client.query(`SELECT version FROM ${MIGRATIONS_TABLE} ORDER BY version`);
      expect(rows).toEqual(VERSIONS.map((version) => ({ version })));
    } finally {
      await client.end();
    }
  });

  test('three runs at the same time all succeed, and exactly one applies each migration', async () => {
    const url = await freshDatabase();
    const clients = await Promise.all([connect(url), connect(url), connect(url)]);
    try {
      const results = await Promise.all(clients.map((client) => runMigrations(client)));
      expect(results.flatMap((r) => r.applied)).toEqual(VERSIONS);
      const { rows } = await clients[0].query("SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'events' AND indexname LIKE 'idx_events_%'");
      expect(rows[0].n).toBe(7);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  test('a failing migration is rolled back and named, and the lock is released', async () => {
    const client = await connect(await freshDatabase());
    try {
      // Something already holds the name the migration creates.
      await client.query('CREATE TABLE events (x int)');
      await expect(runMigrations(client)).rejects.toMatchObject({ name: 'MigrationError', version: '0001_events', message: expect.stringContaining('"events" already exists') });
      expect((await client.query(`SELECT count(*)::int AS n FROM ${MIGRATIONS_TABLE}`)).rows[0].n).toBe(0);
      expect((await client.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
  });
});

type MigrateHandler = (event: CloudFormationCustomResourceEvent) => Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }>;

function customResourceEvent(requestType: 'Create' | 'Update' | 'Delete', physicalResourceId?: string): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:provider',
    ResponseURL: 'https://cloudformation-custom-resource-response.example/',
    StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/kx/1',
    RequestId: 'request-1',
    LogicalResourceId: 'Schema',
    ResourceType: 'Custom::KxEventsSchema',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:provider' },
  };
  if (requestType === 'Create') return { ...common, RequestType: 'Create' };
  if (requestType === 'Update') return { ...common, RequestType: 'Update', PhysicalResourceId: physicalResourceId!, OldResourceProperties: common.ResourceProperties };
  return { ...common, RequestType: 'Delete', PhysicalResourceId: physicalResourceId! };
}

describe.each([
  ['source', MIGRATE_SOURCE],
  ['bundle', MIGRATE_BUNDLE],
])('migration custom resource handler (%s)', (_, modulePath) => {
  test('Create migrates and applies the roles, Update is idempotent, Delete keeps the data', async () => {
    const url = await freshDatabase();
    const { handler } = loadHandler<{ handler: MigrateHandler }>(modulePath, {});
    const suffix = randomUUID().slice(0, 8);
    const roleSecret = (role: string) => createDatabaseSecret(url, { username: `kx_${role}_${suffix}`, password: randomUUID() });
    Object.assign(process.env, {
      DB_SECRET_ARN: await createDatabaseSecret(url), DB_SSL_MODE: 'disable', DB_WRITER_SECRET_ARN: await roleSecret('writer'), DB_READER_SECRET_ARN: await roleSecret('reader'),
    });
    try {
      const created = await handler(customResourceEvent('Create'));
      expect(created).toEqual({ PhysicalResourceId: 'kx-events-schema', Data: { SchemaVersion: LATEST, Applied: VERSIONS.join(',') } });
      const updated = await handler(customResourceEvent('Update', created.PhysicalResourceId));
      expect(updated).toEqual({ PhysicalResourceId: 'kx-events-schema', Data: { SchemaVersion: LATEST, Applied: '' } });
      expect(await handler(customResourceEvent('Delete', created.PhysicalResourceId))).toEqual({ PhysicalResourceId: 'kx-events-schema' });
      const { rows } = await withDatabase(url, (client) => client.query(`SELECT to_regclass('events') IS NOT NULL AS present,
        has_table_privilege($1, 'events', 'INSERT') AS writes, has_table_privilege($2, 'events', 'INSERT') AS reader_writes`,
      [`kx_writer_${suffix}`, `kx_reader_${suffix}`]));
      expect(rows[0]).toEqual({ present: true, writes: true, reader_writes: false });
    } finally {
      for (const name of ['DB_SECRET_ARN', 'DB_SSL_MODE', 'DB_WRITER_SECRET_ARN', 'DB_READER_SECRET_ARN']) delete process.env[name];
      await dropDatabase(url);
      await withDatabase(process.env.DATABASE_URL!, (client) => client.query(`DROP ROLE kx_writer_${suffix}, kx_reader_${suffix}`));
    }
  });

  test('fails Create with a clear error when the secret is unreadable', async () => {
    const { handler } = loadHandler<{ handler: MigrateHandler }>(modulePath, {});
    const missing = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:missing-AbCdEf';
    Object.assign(process.env, { DB_SECRET_ARN: missing, DB_SSL_MODE: 'disable', DB_WRITER_SECRET_ARN: missing, DB_READER_SECRET_ARN: missing });
    try {
      await expect(handler(customResourceEvent('Create'))).rejects.toMatchObject({ name: 'DatabaseSecretError', message: expect.stringContaining('could not read the database secret') });
    } finally {
      for (const name of ['DB_SECRET_ARN', 'DB_SSL_MODE', 'DB_WRITER_SECRET_ARN', 'DB_READER_SECRET_ARN']) delete process.env[name];
    }
  });

  test('fails Create naming every setting that is missing', async () => {
    const { handler } = loadHandler<{ handler: MigrateHandler }>(modulePath, {});
    await expect(handler(customResourceEvent('Create'))).rejects.toMatchObject({
      name: 'ConfigurationError',
      data: {
        problems: ['DB_SECRET_ARN: required, a Secrets Manager secret ARN; not set', 'DB_WRITER_SECRET_ARN: required, a Secrets Manager secret ARN; not set',
          'DB_READER_SECRET_ARN: required, a Secrets Manager secret ARN; not set'],
      },
    });
  });
});
