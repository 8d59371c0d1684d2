import { randomUUID } from 'crypto';
import type { Client } from 'pg';
import { runMigrations } from '../../lambda/lib/migrations';
import { connect } from '../consumer/harness';
import { freshDatabase } from '../setup/test-bed';

/**
 * event_chain on the real PostgreSQL 16: rows inserted by hand, including the corrupt
 * shapes the consumer itself never writes (a self-link, a 2-cycle), which must end.
 */
let client: Client;
beforeAll(async () => {
  client = await connect(await freshDatabase());
  await runMigrations(client);
});
afterAll(() => client.end());

/** Inserts one event; returns its id. */
async function insert(link: { previous?: string; claimed?: string; id?: string } = {}): Promise<string> {
  const id = link.id ?? randomUUID();
  await client.query(
    `INSERT INTO events (event_id, client_id, previous_event_id, claimed_previous_event_id, entity_type, event_type, occurred_at)
     VALUES ($1, 'acme', $2, $3, 'order', 'order_step', now())`,
    [id, link.previous ?? null, link.claimed ?? null],
  );
  return id;
}

async function chain(id: string, maxDepth?: number) {
  const { rows } = maxDepth === undefined
    ? await client.query('SELECT depth, event_id, stored, resolved, previous_event_id FROM event_chain($1)', [id])
    : await client.query('SELECT depth, event_id, stored, resolved, previous_event_id FROM event_chain($1, $2)', [id, maxDepth]);
  return rows;
}

test('a chain of 5 is read back from its last event to its first, in order', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await insert({ previous: ids[i - 1] }));
  expect(await chain(ids[4])).toEqual([4, 3, 2, 1, 0].map((n, depth) => ({
    depth, event_id: ids[n], stored: true, resolved: true, previous_event_id: ids[n - 1] ?? null,
  })));
  expect((await chain(ids[1])).map((r) => r.event_id)).toEqual([ids[1], ids[0]]);
});

test('max_depth stops a long chain: the event and at most that many predecessors', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await insert({ previous: ids[i - 1] }));
  expect((await chain(ids[4], 2)).map((r) => r.event_id)).toEqual([ids[4], ids[3], ids[2]]);
});

test('a self-link ends after the event itself', async () => {
  const id = randomUUID();
  await insert({ id, previous: id });
  expect(await chain(id)).toEqual([{ depth: 0, event_id: id, stored: true, resolved: true, previous_event_id: id }]);
});

test('a 2-cycle ends after both events, whichever one it starts from', async () => {
  const [a, b] = [randomUUID(), randomUUID()];
  await insert({ id: a });
  await insert({ id: b, previous: a });
  await client.query('UPDATE events SET previous_event_id = $2 WHERE event_id = $1', [a, b]);
  expect((await chain(a)).map((r) => [r.depth, r.event_id])).toEqual([[0, a], [1, b]]);
  expect((await chain(b)).map((r) => [r.depth, r.event_id])).toEqual([[0, b], [1, a]]);
});

test('an unresolved claim is followed and marked; a claimed event that is not stored ends the chain', async () => {
  const first = await insert();
  // A claim on a stored event (as a claim kept because its link would close a cycle): set after the
  // insert, since the schema heals a claim on an event that is stored when the claimant is.
  const claimsStored = await insert();
  await client.query('UPDATE events SET claimed_previous_event_id = $2 WHERE event_id = $1', [claimsStored, first]);
  const missing = randomUUID();
  const claimsMissing = await insert({ claimed: missing });
  const last = await insert({ previous: claimsMissing });

  expect(await chain(claimsStored)).toEqual([
    { depth: 0, event_id: claimsStored, stored: true, resolved: true, previous_event_id: first },
    { depth: 1, event_id: first, stored: true, resolved: false, previous_event_id: null },
  ]);
  expect(await chain(last)).toEqual([
    { depth: 0, event_id: last, stored: true, resolved: true, previous_event_id: claimsMissing },
    { depth: 1, event_id: claimsMissing, stored: true, resolved: true, previous_event_id: missing },
    { depth: 2, event_id: missing, stored: false, resolved: false, previous_event_id: null },
  ]);
});

test('an id that is not stored gives no rows', async () => {
  expect(await chain(randomUUID())).toEqual([]);
});

test('the per-client timeline query of the README uses the (client_id, occurred_at) index', async () => {
  await client.query('SET enable_seqscan = off');
  try {
    const { rows } = await client.query(
      "EXPLAIN SELECT event_id, event_type, occurred_at, previous_event_id FROM events WHERE client_id = 'client-7' AND occurred_at >= now() - interval '7 days' ORDER BY occurred_at",
    );
    // Each day's partition is read through its copy of idx_events_client_time.
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Index Scan using \S*client_(time|id_occurred_at_idx) on events_/);
    expect(plan).not.toMatch(/Seq Scan/);
  } finally {
    await client.query('RESET enable_seqscan');
  }
});
