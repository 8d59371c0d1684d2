import { randomUUID } from 'crypto';
import {
  connect, consumerBed, CONSUMER_BUNDLE, CONSUMER_SOURCE, drainQueue, dropDatabase, invoke, sqsRecord, trackedEvent, type ConsumerBed,
} from './harness';
import { REASON_ATTRIBUTE } from '../../lambda/lib/dead-letter-queue';
import { withDatabase } from '../../local/postgres';

function storedRows(databaseUrl: string) {
  return withDatabase(databaseUrl, async (client) => {
    const { rows } = await client.query(`SELECT event_id, client_id, previous_event_id, claimed_previous_event_id, event_type, metadata
      FROM events ORDER BY created_at, event_id`);
    return new Map(rows.map((row) => [row.event_id as string, row]));
  });
}

describe.each([
  ['handler module', CONSUMER_SOURCE],
  ['bundled asset', CONSUMER_BUNDLE],
])('consumer (%s)', (_, modulePath) => {
  let bed: ConsumerBed;
  beforeEach(async () => {
    bed = await consumerBed(modulePath, { maxReceiveCount: 3 });
  });
  afterEach(() => dropDatabase(bed.databaseUrl));

  test('a mixed batch: valid events stored once, invalid ones in the DLQ with their reason, chains resolved or kept', async () => {
    const valid = trackedEvent();
    const injection = trackedEvent({
      clientId: "x'); DROP TABLE events; --",
      metadata: { q: "' OR 1=1; DELETE FROM events; --", nested: { 'key"\'': ['$1', '\\x00'] } },
    });
    const laterPredecessor = trackedEvent({ eventType: 'chain_first' });
    const waitsForIt = trackedEvent({ eventType: 'chain_second', previousEventId: laterPredecessor.eventId });
    const neverArrives = randomUUID();
    const orphan = trackedEvent({ eventType: 'orphan', previousEventId: neverArrives });
    const inBatchFirst = trackedEvent({ eventType: 'in_batch_first' });
    const inBatchSecond = trackedEvent({ eventType: 'in_batch_second', previousEventId: (inBatchFirst.eventId as string).toUpperCase() });
    const forwardFirst = trackedEvent({ eventType: 'forward_first' });
    const forwardSecond = trackedEvent({ eventType: 'forward_second', previousEventId: (forwardFirst.eventId as string).toUpperCase() });

    const records = {
      valid: sqsRecord(JSON.stringify(valid)),
      duplicate: sqsRecord(JSON.stringify(valid)),
      injection: sqsRecord(JSON.stringify(injection)),
      notJson: sqsRecord('{"eventId": "unterminated', { attributes: { tenant: { dataType: 'String', stringValue: 'acme', stringListValues: [], binaryListValues: [] } } }),
      longType: sqsRecord(JSON.stringify(trackedEvent({ eventType: 'e'.repeat(49) }))),
      nul: sqsRecord(JSON.stringify(trackedEvent({ metadata: { note: 'before\u0000after' } }))),
      waitsForIt: sqsRecord(JSON.stringify(waitsForIt)),
      orphan: sqsRecord(JSON.stringify(orphan)),
      inBatchSecond: sqsRecord(JSON.stringify(inBatchSecond)),
      inBatchFirst: sqsRecord(JSON.stringify(inBatchFirst)),
      forwardFirst: sqsRecord(JSON.stringify(forwardFirst)),
      forwardSecond: sqsRecord(JSON.stringify(forwardSecond)),
    };
    const first = await invoke(bed.handler, Object.values(records));
    // No payload in the log: neither the events' ids nor their values.
    const logged = JSON.stringify(first.lines);
    for (const e of [valid, injection, waitsForIt, orphan, inBatchFirst, inBatchSecond, forwardFirst, forwardSecond]) {
      expect(logged).not.toContain(e.eventId);
    }
    expect(logged).not.toContain('DROP TABLE');

    expect(first.failures.sort()).toEqual([records.waitsForIt.messageId, records.orphan.messageId].sort());
    expect(first.summary).toEqual({ received: 12, inserted: 6, duplicates: 1, invalid: 3, deferred: 2, failed: 0, unlinked: 0 });
    // The summary is also CloudWatch's metrics record (EMF), with the function's name as its dimension.
    expect(first.lines.find((line) => line.message === 'batch')).toMatchObject({
      FunctionName: 'local',
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [{
          Namespace: 'KxEvents',
          Dimensions: [['FunctionName']],
          Metrics: ['received', 'inserted', 'duplicates', 'invalid', 'deferred', 'failed', 'unlinked', 'withUnknownFields', 'fanOutFailed', 'fanOutTooLarge'].map((name) => ({ Name: name, Unit: 'Count' }))
            .concat([{ Name: 'dbMs', Unit: 'Milliseconds' }]),
        }],
      },
    });

    let rows = await storedRows(bed.databaseUrl);
    const stored = [valid, injection, inBatchFirst, inBatchSecond, forwardFirst, forwardSecond];
    expect([...rows.keys()].sort()).toEqual(stored.map((e) => e.eventId).sort());
    expect(rows.get(injection.eventId as string)).toMatchObject({ client_id: injection.clientId, metadata: injection.metadata });
    expect(rows.get(inBatchSecond.eventId as string)).toMatchObject({ previous_event_id: inBatchFirst.eventId, claimed_previous_event_id: null });
    expect(rows.get(forwardSecond.eventId as string)).toMatchObject({ previous_event_id: forwardFirst.eventId, claimed_previous_event_id: null });

    const dead = await drainQueue(bed.deadLetterQueueUrl, 3);
    const reasons = Object.fromEntries(dead.map((m) => [m.Body!, m.MessageAttributes?.[REASON_ATTRIBUTE]?.StringValue]));
    expect(dead).toHaveLength(3);
    expect(reasons[records.notJson.body]).toMatch(/^body: must be a JSON TrackedEvent, got text that is not JSON/);
    expect(reasons[records.longType.body]).toBe('eventType: must be 1..48 characters, got 49');
    expect(reasons[records.nul.body]).toMatch(/^metadata\.note: must hold only .*, got U\+0000 \(the NUL character\) at index 6$/);
    expect(dead.find((m) => m.Body === records.notJson.body)!.MessageAttributes!.tenant).toMatchObject({ DataType: 'String', StringValue: 'acme' });

    // Redelivery: the predecessor has come; the orphan's has not, and it has receives left.
    const second = await invoke(bed.handler, [
      sqsRecord(JSON.stringify(laterPredecessor)),
      sqsRecord(records.waitsForIt.body, { receiveCount: 2, messageId: records.waitsForIt.messageId }),
      sqsRecord(records.orphan.body, { receiveCount: 2, messageId: records.orphan.messageId }),
      sqsRecord(records.valid.body, { receiveCount: 2 }),
    ]);
    expect(second.failures).toEqual([records.orphan.messageId]);
    expect(second.summary).toEqual({ received: 4, inserted: 2, duplicates: 1, invalid: 0, deferred: 1, failed: 0, unlinked: 0 });

    // Its last receive: stored without the link, the claim kept.
    const third = await invoke(bed.handler, [sqsRecord(records.orphan.body, { receiveCount: 3, messageId: records.orphan.messageId })]);
    expect(third.failures).toEqual([]);
    expect(third.summary).toEqual({ received: 1, inserted: 1, duplicates: 0, invalid: 0, deferred: 0, failed: 0, unlinked: 1 });

    rows = await storedRows(bed.databaseUrl);
    expect(rows.size).toBe(9);
    expect(rows.get(waitsForIt.eventId as string)).toMatchObject({ previous_event_id: laterPredecessor.eventId, claimed_previous_event_id: null });
    expect(rows.get(orphan.eventId as string)).toMatchObject({ previous_event_id: null, claimed_previous_event_id: neverArrives });
  });

  test('a newer producer\'s event, with fields this contract does not know, is stored with them kept in its metadata, and counted', async () => {
    // A rolling upgrade: the producer's contract has fields the consumer's does not, yet.
    const base = trackedEvent({ metadata: { plan: 'pro' } });
    const newer = { ...base, region: 'eu-west-1', tier: { level: 2 } };
    const known = trackedEvent();
    const selfLink = trackedEvent();
    selfLink.previousEventId = selfLink.eventId;
    const records = [newer, known, selfLink].map((event) => sqsRecord(JSON.stringify(event)));
    const result = await invoke(bed.handler, records);
    expect(result.failures).toEqual([]);
    expect(result.summary).toMatchObject({ received: 3, inserted: 2, invalid: 1 });
    expect(result.lines.find((line) => line.message === 'batch')).toMatchObject({ withUnknownFields: 1 });
    const rows = await storedRows(bed.databaseUrl);
    expect(rows.get(base.eventId as string)!.metadata).toEqual({ 'plan': 'pro', 'kx-events.unknownFields': { region: 'eu-west-1', tier: { level: 2 } } });
    expect(rows.get(known.eventId as string)!.metadata).toEqual(known.metadata ?? null);
    const [dead] = await drainQueue(bed.deadLetterQueueUrl, 1);
    expect(dead.MessageAttributes![REASON_ATTRIBUTE].StringValue).toBe('previousEventId: must not be the event\'s own eventId (an event cannot follow itself)');
  });

  test('a batch of new events, chains included, is stored by one COPY; a batch with a stored event, by one INSERT … ON CONFLICT', async () => {
    const client = await connect(bed.databaseUrl);
    try {
      // Each committed statement that stores events leaves its verb and row count (a refused one leaves nothing).
      await client.query(`CREATE TABLE statement_log (id serial, verb text, row_count int);
        CREATE FUNCTION log_statement() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN INSERT INTO statement_log (verb, row_count) SELECT split_part(current_query(), ' ', 1), count(*) FROM new_rows; RETURN NULL; END $$;
        CREATE TRIGGER log_statement AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows
          FOR EACH STATEMENT EXECUTE FUNCTION log_statement();`);
      const statements = async () => (await client.query('WITH gone AS (DELETE FROM statement_log RETURNING *) SELECT verb, row_count FROM gone ORDER BY id')).rows;
      // Chains in both orders: a predecessor before its follower, and one after (streamed once it is).
      const [head, later] = [trackedEvent(), trackedEvent()];
      const events = [
        head, trackedEvent({ previousEventId: later.eventId }), ...Array.from({ length: 46 }, () => trackedEvent()), later,
        trackedEvent({ previousEventId: head.eventId }),
      ];

      const first = await invoke(bed.handler, events.map((e) => sqsRecord(JSON.stringify(e))));
      expect(first.summary).toMatchObject({ received: 50, inserted: 50 });
      expect(await statements()).toEqual([{ verb: 'COPY', row_count: 50 }]);

      const fresh = Array.from({ length: 9 }, () => trackedEvent());
      const second = await invoke(bed.handler, [...fresh, events[7]].map((e) => sqsRecord(JSON.stringify(e))));
      expect(second.summary).toMatchObject({ received: 10, inserted: 9, duplicates: 1 });
      // The INSERT, in a WITH that also looks up claims on its events.
      expect(await statements()).toEqual([{ verb: 'WITH', row_count: 9 }]);
    } finally {
      await client.end();
    }
  });

  test('a row the database rejects is isolated: the others are stored, it goes to the DLQ with the database\'s reason', async () => {
    // A rule the contract does not know, as a stricter schema would add.
    await withDatabase(bed.databaseUrl, (client) => client.query("ALTER TABLE events ADD CONSTRAINT no_poison CHECK (event_type <> 'poison')"));
    const parent = trackedEvent({ eventType: 'poison' });
    const child = trackedEvent({ previousEventId: parent.eventId });
    const good = Array.from({ length: 40 }, () => trackedEvent());
    const records = [sqsRecord(JSON.stringify(parent)), sqsRecord(JSON.stringify(child)), ...good.map((e) => sqsRecord(JSON.stringify(e)))];

    const result = await invoke(bed.handler, records);
    // The child of the rejected event waits for it, like any event whose predecessor is missing.
    expect(result.failures).toEqual([records[1].messageId]);
    expect(result.summary).toEqual({ received: 42, inserted: 40, duplicates: 0, invalid: 1, deferred: 1, failed: 0, unlinked: 0 });
    expect([...(await storedRows(bed.databaseUrl)).keys()].sort()).toEqual(good.map((e) => e.eventId).sort());

    const dead = await drainQueue(bed.deadLetterQueueUrl, 1);
    expect(dead.map((m) => m.Body)).toEqual([records[0].body]);
    expect(dead[0].MessageAttributes![REASON_ATTRIBUTE].StringValue).toMatch(/^database: new row for relation "events[^"]*" violates check constraint "no_poison" \(SQLSTATE 23514/);
  });
});

describe('consumer at the event source\'s largest batch', () => {
  let bed: ConsumerBed;
  beforeAll(async () => {
    bed = await consumerBed(CONSUMER_SOURCE);
  });
  afterAll(() => dropDatabase(bed.databaseUrl));

  test('stores 10,000 events of one batch, each once, redelivered or not', async () => {
    const events = Array.from({ length: 10_000 }, (_, i) => trackedEvent({ userId: `user-${i % 97}`, metadata: { i, text: 'x'.repeat(200) } }));
    const records = events.map((e) => sqsRecord(JSON.stringify(e)));
    const first = await invoke(bed.handler, records);
    expect(first.failures).toEqual([]);
    expect(first.summary).toMatchObject({ received: 10_000, inserted: 10_000 });

    const again = await invoke(bed.handler, records.slice(0, 5_000).map((r) => sqsRecord(r.body, { receiveCount: 2 })));
    expect(again.summary).toMatchObject({ received: 5_000, inserted: 0, duplicates: 5_000 });

    const { rows } = await withDatabase(bed.databaseUrl, (client) => client.query('SELECT count(DISTINCT event_id)::int AS n, count(*)::int AS total FROM events'));
    expect(rows[0]).toEqual({ n: 10_000, total: 10_000 });
  });
});
