/**
 * Partitions on the real PostgreSQL 16: a partition a day (UTC) on occurred_at, made ahead
 * and dropped past retention by the maintenance, with every promise of the table kept.
 * One database for the consumer's tests; each schema test has its own.
 */
import { randomUUID } from 'crypto';
import * as path from 'path';
import type { Client } from 'pg';
import { MIGRATIONS, runMigrations } from '../../lambda/lib/migrations';
import { maintainPartitions, PARTITION_DAYS_AHEAD } from '../../lambda/lib/partitions';
import { withDatabase } from '../../local/postgres';
import { connect, consumerBed, CONSUMER_SOURCE, createDatabaseSecret, dropDatabase, invoke, loadHandler, sqsRecord, trackedEvent, type ConsumerBed } from '../consumer/harness';
import { freshDatabase } from '../setup/test-bed';

const DAY = 86_400_000;
/** The start of the day (UTC) `days` after today's. */
const dayStart = (days: number) => new Date(Math.floor(Date.now() / DAY) * DAY + days * DAY);
const at = (days: number, ms = 0) => new Date(dayStart(days).getTime() + ms).toISOString();
const record = (event: Record<string, unknown>, receiveCount = 1) => sqsRecord(JSON.stringify(event), { receiveCount });

/** Each stored event's partition, link and claim. */
const storedEvents = (client: Client) => client.query(
  'SELECT event_id, tableoid::regclass::text AS partition, previous_event_id, claimed_previous_event_id FROM events')
  .then(({ rows }) => new Map(rows.map((r) => [r.event_id as string, {
    partition: r.partition as string, previous: r.previous_event_id as string | null, claimed: r.claimed_previous_event_id as string | null,
  }])));

/** event_claims holds `count` claims, one row for each stored claim, and no other. */
const expectClaimsIndexed = async (client: Client, count: number) => {
  const claims = async (sql: string) => (await client.query(sql)).rows.map((r) => `${r.claimed}<-${r.event_id}@${(r.occurred_at as Date).toISOString()}`).sort();
  const kept = await claims('SELECT claimed_event_id AS claimed, event_id, occurred_at FROM event_claims');
  expect(kept).toEqual(await claims('SELECT claimed_previous_event_id AS claimed, event_id, occurred_at FROM events WHERE claimed_previous_event_id IS NOT NULL'));
  expect(kept).toHaveLength(count);
};

const partitionOf = (days: number) => `events_${dayStart(days).toISOString().slice(0, 10).replace(/-/g, '')}`;

describe('the consumer on the partitioned table', () => {
  let bed: ConsumerBed;
  let client: Client;
  beforeAll(async () => {
    bed = await consumerBed(CONSUMER_SOURCE);
    client = await connect(bed.databaseUrl);
  });
  afterAll(async () => {
    await client.end();
    await dropDatabase(bed.databaseUrl);
  });

  test('an event redelivered months later, when newer partitions exist, is still stored once', async () => {
    const [old, ahead] = [trackedEvent({ occurredAt: at(-1) }), trackedEvent({ occurredAt: at(3, 1) })];
    expect((await invoke(bed.handler, [record(old), record(ahead)])).summary).toMatchObject({ inserted: 2 });
    // Two months later: the maintenance has made the partitions of the days since.
    await maintainPartitions(client, { at: dayStart(60) });
    const redelivered = await invoke(bed.handler, [record(old, 2), record(ahead, 2), record(trackedEvent({ occurredAt: at(60) }))]);
    expect(redelivered.summary).toMatchObject({ inserted: 1, duplicates: 2, failed: 0 });
    const stored = await storedEvents(client);
    expect(stored.get(old.eventId as string)!.partition).toBe('events_legacy');
    expect(stored.get(ahead.eventId as string)!.partition).toBe(partitionOf(3));
    const { rows } = await client.query('SELECT count(*)::int AS n FROM events WHERE event_id = ANY($1::uuid[])', [[old.eventId, ahead.eventId]]);
    expect(rows[0].n).toBe(2);
  });

  test('a chain across a partition boundary links, in order and out of order (a claim healed)', async () => {
    const before = trackedEvent({ occurredAt: at(2, -1) }); // the last millisecond of a day
    const after = trackedEvent({ occurredAt: at(2), previousEventId: before.eventId });
    const late = trackedEvent({ occurredAt: at(1) });
    const claimant = trackedEvent({ occurredAt: at(2, 5), previousEventId: late.eventId });
    expect((await invoke(bed.handler, [record(before), record(after), record(claimant, 3)])).summary).toMatchObject({ inserted: 3, unlinked: 1 });
    expect((await invoke(bed.handler, [record(late)])).summary).toMatchObject({ inserted: 1 });

    const stored = await storedEvents(client);
    expect(stored.get(before.eventId as string)!.partition).toBe(partitionOf(1));
    expect(stored.get(after.eventId as string)).toEqual({ partition: partitionOf(2), previous: before.eventId, claimed: null });
    expect(stored.get(claimant.eventId as string)).toEqual({ partition: partitionOf(2), previous: late.eventId, claimed: null });
    const chain = await client.query('SELECT event_id, resolved FROM event_chain($1)', [after.eventId]);
    expect(chain.rows).toEqual([{ event_id: after.eventId, resolved: true }, { event_id: before.eventId, resolved: true }]);
  });

  test('a query by client and time reads only the partitions of its days, each through its index', async () => {
    const { rows } = await client.query(`EXPLAIN SELECT event_id, event_type, occurred_at FROM events
      WHERE client_id = 'client-7' AND occurred_at >= $1 AND occurred_at < $2 ORDER BY occurred_at`, [at(2), at(3)]);
    const plan = rows.map((r) => r['QUERY PLAN'] as string).join('\n');
    expect(plan.match(/ on events_\w+/g)).toEqual([` on ${partitionOf(2)}`]);
    expect(plan).toMatch(/Index Scan using \S*client_id_occurred_at_idx/);
  });
});

describe('the maintenance', () => {
  test('makes the partitions ahead; dropping a partition past retention turns the links into it into claims and deletes nothing else', async () => {
    await withDatabase(await freshDatabase(), async (client) => {
      await runMigrations(client);
      const insert = (id: string, days: number, previous: string | null = null, claimed: string | null = null) => client.query(
        `INSERT INTO events (event_id, client_id, event_type, occurred_at, previous_event_id, claimed_previous_event_id)
         VALUES ($1, 'acme', 'order_step', $2, $3, $4)`, [id, at(days, 1000), previous, claimed]);
      const [gone, goneToo, kept, linked, linkedInside, claimsGone, unrelated, claimantGone] = Array.from({ length: 8 }, () => randomUUID());
      await insert(gone, 1);
      await insert(claimantGone, 1, null, randomUUID()); // dropped with its partition, and its claim with it
      await insert(goneToo, 1);
      await insert(linkedInside, 1, gone); // dropped with its partition
      await insert(kept, 2);
      await insert(linked, 3, gone);
      await insert(claimsGone, 2, null, goneToo);
      await insert(unrelated, 4, kept);
      const before = await storedEvents(client);

      // Two days later, with a retention of one day: the legacy partition and day 1's are past it.
      const result = await maintainPartitions(client, { retentionDays: 1, at: dayStart(3) });
      expect(result).toEqual({ created: 3, dropped: ['events_legacy', partitionOf(1)], healed: 0, daysAhead: PARTITION_DAYS_AHEAD });

      const after = await storedEvents(client);
      expect([...after.keys()].sort()).toEqual([kept, linked, claimsGone, unrelated].sort());
      expect(after.get(linked)).toEqual({ ...before.get(linked), previous: null, claimed: gone });
      for (const id of [kept, claimsGone, unrelated]) expect(after.get(id)).toEqual(before.get(id));
      // The new claim (linked's) is in event_claims; the claim of a dropped row is not.
      await expectClaimsIndexed(client, 2);
    });
  });

  test('links a claim whose event is stored, as two consumers storing both at once may leave it', async () => {
    await withDatabase(await freshDatabase(), async (client) => {
      await runMigrations(client);
      const [event, claimant, waiting] = [randomUUID(), randomUUID(), randomUUID()];
      await client.query(`INSERT INTO events (event_id, client_id, event_type, occurred_at, claimed_previous_event_id)
        VALUES ($1, 'acme', 'step', now(), NULL), ($2, 'acme', 'step', now(), $1), ($3, 'acme', 'step', now(), $4)`, [event, claimant, waiting, randomUUID()]);
      await expectClaimsIndexed(client, 2);
      expect(await maintainPartitions(client)).toMatchObject({ healed: 1 });
      await expectClaimsIndexed(client, 1);
      const stored = await storedEvents(client);
      expect(stored.get(claimant)).toMatchObject({ previous: event, claimed: null });
      expect(stored.get(waiting)!.claimed).not.toBeNull();
    });
  });

  test('keeps event_claims with its claims when a row waiting in the default partition moves into its day\'s', async () => {
    await withDatabase(await freshDatabase(), async (client) => {
      await runMigrations(client);
      const claimant = randomUUID();
      await client.query(`INSERT INTO events (event_id, client_id, event_type, occurred_at, claimed_previous_event_id)
        VALUES ($1, 'acme', 'step', $2, $3)`, [claimant, at(20, 1), randomUUID()]);
      expect((await storedEvents(client)).get(claimant)!.partition).toBe('events_default');
      await maintainPartitions(client, { at: dayStart(15) });
      expect((await storedEvents(client)).get(claimant)!.partition).toBe(partitionOf(20));
      await expectClaimsIndexed(client, 1);
    });
  });

  test('run twice at once, and again: each partition is made once, each is dropped once', async () => {
    const url = await freshDatabase();
    await withDatabase(url, runMigrations);
    const clients = await Promise.all([connect(url), connect(url)]);
    try {
      const options = { retentionDays: 3, at: dayStart(10) };
      const results = await Promise.all(clients.map((c) => maintainPartitions(c, options)));
      expect(results.map((r) => r.created).sort()).toEqual([0, 10]);
      // Day 10 with a retention of 3 days: the legacy partition and those of days 1 to 6 are past it.
      expect(results.map((r) => r.dropped).sort((a, b) => a.length - b.length))
        .toEqual([[], ['events_legacy', ...[1, 2, 3, 4, 5, 6].map(partitionOf)]]);
      expect(await maintainPartitions(clients[0], options)).toEqual({ created: 0, dropped: [], healed: 0, daysAhead: PARTITION_DAYS_AHEAD });
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});

describe('the maintenance function', () => {
  const source = path.resolve(__dirname, '../../lambda/maintenance.lambda.ts');

  test('drops past RETENTION_DAYS, and logs how many days ahead the partitions cover as its metric', async () => {
    const url = await freshDatabase();
    await withDatabase(url, runMigrations);
    const { handler } = loadHandler<{ handler: () => Promise<unknown> }>(source, {
      DB_SECRET_ARN: await createDatabaseSecret(url), DB_SSL_MODE: 'disable', RETENTION_DAYS: '1',
    });
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => written.push(chunk.toString()) > 0);
    try {
      // Today: the legacy partition still holds today's events, and nothing is past a day's retention.
      expect(await handler()).toEqual({ created: 0, dropped: [], healed: 0, daysAhead: PARTITION_DAYS_AHEAD });
    } finally {
      spy.mockRestore();
    }
    const line = JSON.parse(written.join('').trim().split('\n').pop()!);
    expect(line).toMatchObject({ message: 'partitions', PartitionDaysAhead: PARTITION_DAYS_AHEAD, _aws: { CloudWatchMetrics: [{ Metrics: [{ Name: 'PartitionDaysAhead' }] }] } });
  });

  test('refuses a RETENTION_DAYS that is not a whole number of days', () => {
    expect(() => loadHandler(source, { DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x', RETENTION_DAYS: '7d' }))
      .toThrow('RETENTION_DAYS: must be a whole number of days, 1 or more, got "7d"');
  });
});

describe('the upgrade from the unpartitioned table', () => {
  test('keeps every row, link and claim; rows dated ahead go to their day\'s partition', async () => {
    await withDatabase(await freshDatabase(), async (client) => {
      const partitioned = MIGRATIONS.findIndex((m) => m.version === '0005_partitions');
      await runMigrations(client, { migrations: MIGRATIONS.slice(0, partitioned) });
      // A chain of 500 events over the last 100 days, a claim, and a row dated two days ahead.
      await client.query(`INSERT INTO events (event_id, client_id, user_id, event_type, occurred_at, metadata)
        SELECT gen_random_uuid(), 'client-' || i % 7, 'user-' || i, 'step', now() - i * interval '5 hours', jsonb_build_object('i', i)
        FROM generate_series(1, 500) i`);
      await client.query(`UPDATE events e SET previous_event_id = p.prev
        FROM (SELECT event_id, lead(event_id) OVER (ORDER BY occurred_at DESC) AS prev FROM events) p
        WHERE e.event_id = p.event_id AND p.prev IS NOT NULL`);
      const ahead = randomUUID();
      await client.query(`INSERT INTO events (event_id, client_id, event_type, occurred_at, claimed_previous_event_id)
        VALUES ($1, 'acme', 'step', $2, $3)`, [ahead, at(2, 1), randomUUID()]);
      const everything = 'SELECT to_jsonb(e) AS row FROM events e ORDER BY event_id';
      const before = (await client.query(everything)).rows;
      expect(before).toHaveLength(501);

      expect((await runMigrations(client)).applied).toEqual(MIGRATIONS.slice(partitioned).map((m) => m.version));
      expect((await client.query(everything)).rows).toEqual(before);
      const stored = await storedEvents(client);
      expect(stored.get(ahead)!.partition).toBe(partitionOf(2));
      expect(new Set([...stored.values()].filter((e) => e.partition !== partitionOf(2)).map((e) => e.partition))).toEqual(new Set(['events_legacy']));
      await expectClaimsIndexed(client, 1); // the claim stored before the upgrade, in event_claims
      const { rows } = await client.query('SELECT relkind FROM pg_class WHERE relname = \'events\'');
      expect(rows).toEqual([{ relkind: 'p' }]);
    });
  });
});
