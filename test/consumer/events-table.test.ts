/**
 * The consumer's COPY, on its own: what it stores is what was given, whatever the text
 * holds, and a refusal (even while rows are still going out) stores nothing, takes every
 * row, and leaves the connection usable. And the statements that store a batch without
 * claims read no partition of events.
 */
import { randomUUID } from 'crypto';
import type { Client } from 'pg';
import { connect, dropDatabase, trackedEvent } from './harness';
import { copyEvents, eventRow, healClaims, insertEvents, type EventRow } from '../../lambda/lib/events-table';
import { migrateDatabase } from '../../local/pipeline';
import type { TrackedEvent } from '../../packages/kx-events-decorators/src/contract';
import { freshDatabase } from '../setup/test-bed';

function row(overrides: Record<string, unknown> = {}): EventRow {
  return eventRow(trackedEvent(overrides) as unknown as TrackedEvent, { previous: null, claimed: null });
}

/** The rows, counting how many were taken. */
function counted(rows: EventRow[]): { rows: Iterable<EventRow>; taken: () => number } {
  let taken = 0;
  return {
    rows: (function* () {
      for (const r of rows) {
        taken++;
        yield r;
      }
    })(),
    taken: () => taken,
  };
}

describe('copyEvents', () => {
  let databaseUrl: string;
  let client: Client;
  beforeEach(async () => {
    databaseUrl = await freshDatabase();
    await migrateDatabase(databaseUrl);
    client = await connect(databaseUrl);
  });
  afterEach(async () => {
    await client.end();
    await dropDatabase(databaseUrl);
  });

  const storedCount = async () => (await client.query('SELECT count(*)::int AS n FROM events')).rows[0].n as number;

  test('stores every value as given: COPY\'s special characters, NULLs, and text that looks like its markers', async () => {
    const awkward = 'tab\there, line\nbreak, return\r, back\\slash, \\N, \\., end\\';
    const rows = [
      row({ clientId: awkward, userId: '\\N', entityId: '\\.', sessionId: 'emoji 🎉 and é', pointsAwarded: -2_147_483_648 }),
      row({ metadata: { [awkward]: awkward, quote: '"\'', nested: { path: 'C:\\temp\\new', list: ['\t', '\n', '\\'] } } }),
      { ...row(), user_id: null, entity_id: null, source: null, campaign_id: null, points_awarded: null, session_id: null, metadata: null },
    ];
    const first = rows[0].event_id;
    rows.push({ ...row(), previous_event_id: first });

    await copyEvents(client, rows);

    const { rows: stored } = await client.query(`SELECT event_id, client_id, previous_event_id, claimed_previous_event_id, user_id, entity_id,
      entity_type, event_type, source, campaign_id, points_awarded, session_id, to_json(occurred_at) #>> '{}' AS occurred_at, metadata FROM events`);
    const byId = new Map(stored.map((r) => [r.event_id as string, r]));
    expect(byId.size).toBe(rows.length);
    for (const given of rows) {
      const { occurred_at: occurredAt, ...rest } = byId.get(given.event_id)!;
      expect(rest).toEqual({ ...given, metadata: given.metadata === null ? null : JSON.parse(given.metadata), occurred_at: undefined });
      expect(new Date(occurredAt).toISOString()).toBe(given.occurred_at);
    }
  });

  test('without rows there is no statement', async () => {
    const ended = await connect(databaseUrl);
    await ended.end();
    await expect(copyEvents(ended, [])).resolves.toBeUndefined();
    await expect(copyEvents(ended, [row()])).rejects.toThrow(); // the same client, given a row, does try
  });

  test.each([
    ['first', 0],
    ['last', 4_999],
  ])('a stored event %s of 5,000 (20 MB): refused, none stored, every row taken, the connection still usable', async (_, at) => {
    // 20 MB is more than the socket holds: refused first, the server answers while rows are still
    // going out, and a write buffered then would throw once the socket drains.
    const stored = row();
    await copyEvents(client, [stored]);
    const rows = Array.from({ length: 5_000 }, () => row({ metadata: { text: 'x'.repeat(4000) } }));
    rows[at] = stored;
    const given = counted(rows);

    await expect(copyEvents(client, given.rows)).rejects.toMatchObject({ code: '23505' });

    expect(given.taken()).toBe(5_000);
    expect(await storedCount()).toBe(1);
    // The same connection stores the rest.
    await copyEvents(client, rows.filter((r) => r !== stored));
    expect(await storedCount()).toBe(5_000);
  });

  test('refused before any row went out (a read-only session): every row is taken, and the connection goes on', async () => {
    await client.query('SET default_transaction_read_only = on');
    const given = counted(Array.from({ length: 100 }, () => row()));

    await expect(copyEvents(client, given.rows)).rejects.toMatchObject({ code: '25006' });

    expect(given.taken()).toBe(100);
    await client.query('SET default_transaction_read_only = off');
    await copyEvents(client, [row({ eventId: randomUUID() })]);
    expect(await storedCount()).toBe(1);
  });
});

describe('storing a batch without claims, on a table of many partitions', () => {
  /** Every relation the plan of `sql` with `params` reads or writes. */
  async function relationsOf(client: Client, sql: string, params: unknown[]): Promise<Set<string>> {
    const { rows: [{ 'QUERY PLAN': [plan] }] } = await client.query(`EXPLAIN (FORMAT JSON) ${sql}`, params);
    const names = new Set<string>();
    const walk = (node: Record<string, unknown>) => {
      if (typeof node['Relation Name'] === 'string') names.add(node['Relation Name']);
      for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
    };
    walk(plan.Plan);
    return names;
  }

  test('plans no read of any partition: the claims are looked up in event_claims, and the healing statement does not run', async () => {
    const databaseUrl = await freshDatabase();
    await migrateDatabase(databaseUrl);
    const client = await connect(databaseUrl);
    try {
      // A month of partitions ahead: a look-up on events itself would plan every one of them.
      await client.query('SELECT events_create_partitions(30)');
      // Every statement insertEvents and healClaims send, as sent, recorded as the server gets it.
      const sent: Array<{ sql: string; params: unknown[] }> = [];
      const query = client.query.bind(client) as (sql: string, params?: unknown[]) => Promise<unknown>;
      const recording = Object.create(client, {
        query: { value: (sql: string, params: unknown[] = []) => (sent.push({ sql, params }), query(sql, params)) },
      }) as Client;
      const rows = Array.from({ length: 10 }, () => row({ eventId: randomUUID() }));
      const { inserted, claimed } = await insertEvents(recording, rows);
      expect([inserted.size, claimed]).toEqual([10, false]);
      expect(await healClaims(recording, [...inserted], [])).toBe(0);

      expect(sent).toHaveLength(2); // the INSERT, and healClaims' look-up: not its healing statement
      const [store, lookUp] = [await relationsOf(client, sent[0].sql, sent[0].params), await relationsOf(client, sent[1].sql, sent[1].params)];
      expect(store).toEqual(new Set(['events', 'event_claims'])); // events as the INSERT's target only
      expect(lookUp).toEqual(new Set(['event_claims']));
    } finally {
      await client.end();
      await dropDatabase(databaseUrl);
    }
  });
});
