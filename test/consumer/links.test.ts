/**
 * Chains: a cycle within a batch is stored with one link kept as a claim, so every chain
 * has a head; a claim is healed into a link when the event it claims is stored later,
 * unless that link would close a cycle. Each test runs on the writer's documented
 * privileges: SELECT, INSERT and UPDATE of (previous_event_id, claimed_previous_event_id) on
 * events, and SELECT on event_claims.
 */
import { randomUUID } from 'crypto';
import type { SQSRecord } from 'aws-lambda';
import { consumerBed, CONSUMER_SOURCE, createDatabaseSecret, dropDatabase, grantWriter, invoke, loadHandler, sqsRecord, trackedEvent, type ConsumerHandler } from './harness';
import { withDatabase } from '../../local/postgres';
import { freshQueues } from '../setup/test-bed';

const MAX_RECEIVE_COUNT = 3;
const record = (event: Record<string, unknown>, receiveCount = 1): SQSRecord => sqsRecord(JSON.stringify(event), { receiveCount });

describe('consumer links', () => {
  let databaseUrl: string;
  let role: string;
  let handler: ConsumerHandler;
  beforeEach(async () => {
    ({ databaseUrl } = await consumerBed(CONSUMER_SOURCE)); // migrated; its own handler writes as the superuser
    role = `kx_writer_${randomUUID().slice(0, 8)}`;
    await withDatabase(databaseUrl, async (c) => {
      await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'writer-password'`);
      await grantWriter(c, role);
    });
    const writerUrl = new URL(databaseUrl);
    writerUrl.username = role;
    writerUrl.password = 'writer-password';
    ({ handler } = loadHandler<{ handler: ConsumerHandler }>(CONSUMER_SOURCE, {
      DB_SECRET_ARN: await createDatabaseSecret(writerUrl.toString()),
      DB_SSL_MODE: 'disable',
      DEAD_LETTER_QUEUE_URL: (await freshQueues()).deadLetterQueueUrl,
      MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
    }));
  });
  afterEach(async () => {
    await dropDatabase(databaseUrl);
    const server = new URL(databaseUrl);
    server.pathname = '/postgres';
    await withDatabase(server.toString(), (client) => client.query(`DROP ROLE ${role}`));
  });

  /** Each stored event's link and claim. */
  const links = () => withDatabase(databaseUrl, async (client) => {
    const { rows } = await client.query('SELECT event_id, previous_event_id, claimed_previous_event_id FROM events');
    return new Map(rows.map((r) => [r.event_id as string, {
      previous: r.previous_event_id as string | null,
      claimed: r.claimed_previous_event_id as string | null,
    }]));
  });
  /** How many events the chain ending at `eventId` holds, walking its links back (a cycle would never end: the server cancels it). */
  const chainLength = (eventId: string) => withDatabase(databaseUrl, async (client) => {
    await client.query("SET statement_timeout = '5s'");
    const { rows } = await client.query(`WITH RECURSIVE chain AS (
        SELECT event_id, previous_event_id FROM events WHERE event_id = $1
        UNION ALL SELECT e.event_id, e.previous_event_id FROM events e JOIN chain ON e.event_id = chain.previous_event_id)
      SELECT count(*)::int AS n FROM chain`, [eventId]);
    return rows[0].n as number;
  });

  test('a 2-cycle and a 3-cycle with a tail, in one batch: all stored, one link of each cycle kept as a claim, every chain ends', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const [x, y, z, tail] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const events = [
      trackedEvent({ eventId: a, previousEventId: b }), trackedEvent({ eventId: b, previousEventId: a }),
      trackedEvent({ eventId: tail, previousEventId: x }),
      trackedEvent({ eventId: x, previousEventId: y }),
      trackedEvent({ eventId: y, previousEventId: z }),
      trackedEvent({ eventId: z, previousEventId: x }),
    ];
    const result = await invoke(handler, events.map((e) => record(e)));
    expect(result.failures).toEqual([]);
    expect(result.summary).toMatchObject({ received: 6, inserted: 6, unlinked: 2 });

    const stored = await links();
    expect(stored.size).toBe(6);
    for (const cycle of [[a, b], [x, y, z]]) {
      const claims = cycle.filter((id) => stored.get(id)!.previous === null);
      expect(claims).toHaveLength(1); // its head, whose link is kept as a claim
      expect(stored.get(claims[0])!.claimed).toBe(events.find((e) => e.eventId === claims[0])!.previousEventId);
      for (const id of cycle.filter((i) => i !== claims[0])) {
        expect(stored.get(id)).toEqual({ previous: events.find((e) => e.eventId === id)!.previousEventId, claimed: null });
      }
    }
    expect(await chainLength(a)).toBe(2);
    expect(await chainLength(tail)).toBe(4);
  });

  test('a successor stored unlinked on its last receive is linked when its predecessor comes: by COPY, or by INSERT … ON CONFLICT', async () => {
    const [first, second] = [trackedEvent(), trackedEvent()];
    const successors = [trackedEvent({ previousEventId: first.eventId }), trackedEvent({ previousEventId: second.eventId })];
    const lastReceive = await invoke(handler, successors.map((e) => record(e, MAX_RECEIVE_COUNT)));
    expect(lastReceive.summary).toMatchObject({ inserted: 2, unlinked: 2 });
    for (const s of successors) expect((await links()).get(s.eventId as string)).toEqual({ previous: null, claimed: s.previousEventId });

    // The first predecessor in a batch of 50 new events (COPY), the second beside a stored event (INSERT … ON CONFLICT).
    expect((await invoke(handler, [record(first), ...Array.from({ length: 49 }, () => record(trackedEvent()))])).failures).toEqual([]);
    expect((await invoke(handler, [record(second), record(successors[0], 2)])).summary).toMatchObject({ inserted: 1, duplicates: 1 });

    const stored = await links();
    for (const s of successors) expect(stored.get(s.eventId as string)).toEqual({ previous: s.previousEventId, claimed: null });
    expect(await chainLength(successors[1].eventId as string)).toBe(2);
  });

  test('a claim whose link would close a cycle stays a claim', async () => {
    const [p, s] = [randomUUID(), randomUUID()];
    // S follows P; S is stored unlinked. Then P arrives, following S: P is linked to S, and S's claim would close the cycle.
    await invoke(handler, [record(trackedEvent({ eventId: s, previousEventId: p }), MAX_RECEIVE_COUNT)]);
    expect((await invoke(handler, [record(trackedEvent({ eventId: p, previousEventId: s }))])).failures).toEqual([]);

    expect(await links()).toEqual(new Map([[s, { previous: null, claimed: p }], [p, { previous: s, claimed: null }]]));
    expect(await chainLength(p)).toBe(2);
  });
});
