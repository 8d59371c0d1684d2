/**
 * The consumer's statements on the `events` table: stream new rows in with COPY,
 * insert rows in one statement that skips stored ones, heal claimed links, and find
 * which events are stored.
 */
import type { ClientBase } from 'pg';
import type { TrackedEvent } from 'kx-events-decorators/contract';

/** One row of `events`, as the insert statement takes it. */
export interface EventRow {
  readonly event_id: string;
  readonly client_id: string;
  readonly previous_event_id: string | null;
  readonly claimed_previous_event_id: string | null;
  readonly user_id: string | null;
  readonly entity_id: string | null;
  readonly entity_type: string;
  readonly event_type: string;
  readonly source: string | null;
  readonly campaign_id: string | null;
  readonly points_awarded: number | null;
  readonly session_id: string | null;
  readonly occurred_at: string;
  /** JSON text: the producer's own, so that JSONB keeps its numbers exactly. */
  readonly metadata: string | null;
}

/** The columns the consumer writes, with each one's SQL type. */
const COLUMNS: ReadonlyArray<readonly [keyof EventRow, string]> = [
  ['event_id', 'uuid'],
  ['client_id', 'text'],
  ['previous_event_id', 'uuid'],
  ['claimed_previous_event_id', 'uuid'],
  ['user_id', 'text'],
  ['entity_id', 'text'],
  ['entity_type', 'text'],
  ['event_type', 'text'],
  ['source', 'text'],
  ['campaign_id', 'text'],
  ['points_awarded', 'integer'],
  ['session_id', 'text'],
  ['occurred_at', 'timestamptz'],
  ['metadata', 'jsonb'],
];

/**
 * One array parameter per column, zipped back into rows by unnest: one statement
 * for any number of rows (14 parameters, far from the 65,535 limit). Text is
 * assigned to the VARCHAR columns, so a value over a column's limit is an error,
 * never truncated. (Measured against one JSON parameter through json_to_recordset,
 * unnest was about a quarter faster at 1,000 rows.) A row already stored meets its
 * primary key, (event_id, occurred_at): a redelivery carries the same occurred_at.
 */
const INSERT_EVENTS = `WITH stored AS (
  INSERT INTO events (${COLUMNS.map(([name]) => name).join(', ')})
  SELECT * FROM unnest(${COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})
  ON CONFLICT DO NOTHING
  RETURNING event_id
)
SELECT event_id FROM stored
UNION ALL
(SELECT NULL FROM event_claims k WHERE k.claimed_event_id = ANY($1::uuid[]) LIMIT 1)`;

/**
 * Inserts the rows in one statement; returns the ids it inserted (the others were already
 * stored), and whether a stored row claims one of the rows' events (then their claims are
 * to be healed: {@link healClaims}). The look-up rides along in the same statement, in
 * event_claims (lambda/schema/0006_event_claims.sql), so a batch without claims pays
 * nothing more for it, however many partitions the table has.
 */
export async function insertEvents(client: ClientBase, rows: readonly EventRow[]): Promise<{ inserted: Set<string>; claimed: boolean }> {
  const columns = COLUMNS.map(([name]) => rows.map((row) => columnText(row, name)));
  const { rows: found } = await client.query<{ event_id: string | null }>(INSERT_EVENTS, columns);
  const inserted = new Set<string>();
  let claimed = false;
  for (const { event_id: id } of found) {
    if (id === null) claimed = true;
    else inserted.add(id);
  }
  return { inserted, claimed };
}

/** COPY FROM STDIN, without the package's COPY TO and COPY BOTH, which the bundle does not need. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const copyFrom: typeof import('pg-copy-streams').from = require('pg-copy-streams/copy-from');

export const COPY_EVENTS = `COPY events (${COLUMNS.map(([name]) => name).join(', ')}) FROM STDIN`;

/**
 * Rows go to the server in chunks of about this many characters (some 40 events):
 * few enough writes to be cheap, soon enough that the server starts storing at once.
 */
const COPY_CHUNK_CHARS = 16_384;

/**
 * Stores rows with one COPY, sending each chunk as soon as it is made, so the server
 * stores while the caller is still producing (parsing, validating) the rest: on two
 * cores the two overlap. COPY has no ON CONFLICT: a row already stored, or any row the
 * server refuses, fails the whole statement, which then stored nothing, and the
 * returned promise rejects with the server's error. Every row of `rows` is taken,
 * even after a refusal; without rows there is no statement.
 */
export async function copyEvents(client: ClientBase, rows: Iterable<EventRow>): Promise<void> {
  const pending = rows[Symbol.iterator]();
  const first = pending.next();
  if (first.done) return; // no rows, no statement
  const copy = client.query(copyFrom(COPY_EVENTS));
  const finished = new Promise<void>((resolve, reject) => {
    copy.on('finish', resolve);
    copy.on('error', reject);
  });
  const refused = finished.then(() => false, () => false);
  // One write at a time, each after the last is on the socket (the first waits for the
  // server to accept data): after a refusal the stream has no connection, and a write it
  // had buffered would fail outside this function.
  const send = (text: string) => Promise.race([new Promise<boolean>((resolve) => copy.write(text, () => resolve(true))), refused]);
  let open = true;
  let chunk = '';
  for (let row: IteratorResult<EventRow> = first; !row.done; row = pending.next()) {
    chunk += copyLine(row.value);
    if (chunk.length >= COPY_CHUNK_CHARS) {
      if (open) open = await send(chunk);
      chunk = '';
    }
  }
  if (open && await send(chunk)) copy.end();
  await finished;
}

/** A row in COPY's text format: tab-separated, \\N for NULL, backslash escapes. */
export function copyLine(row: EventRow): string {
  let line = '';
  for (let i = 0; i < COLUMNS.length; i++) {
    const value = columnText(row, COLUMNS[i][0]);
    line += (i === 0 ? '' : '\t') + (value === null ? '\\N' : COPY_SPECIAL.test(value) ? value.replace(COPY_SPECIALS, (c) => COPY_ESCAPES[c]) : value);
  }
  return `${line}\n`;
}
// Testing first is twice as fast as replacing, on values that seldom need escapes.
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIALS = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A column's value as text for PostgreSQL to cast. */
export function columnText(row: EventRow, name: keyof EventRow): string | null {
  const value = row[name];
  return value === null ? null : String(value);
}

/**
 * Heals claimed links, after a batch's events are stored (committed): links every stored
 * row that claims one of `storedIds`, and each of `claimantIds` (rows just stored with a
 * claim) whose claimed event is stored by now, unless the link would close a cycle (the
 * claimed event's own chain reaches the claimant): then the claim stays. The claims are
 * found in event_claims, which holds only the rare unresolved links, and their rows by
 * (event_id, occurred_at), in their own partitions. The claim is re-checked on the row
 * itself (`e.claimed_previous_event_id = claim.target`), so two consumers healing the same
 * claim at once link it once.
 */
const HEAL_CLAIMS = `WITH RECURSIVE claim (event_id, occurred_at, target) AS (
  SELECT k.event_id, k.occurred_at, k.claimed_event_id FROM event_claims k
  WHERE k.claimed_event_id = ANY($1::uuid[])
  UNION
  SELECT k.event_id, k.occurred_at, k.claimed_event_id FROM event_claims k
  WHERE k.event_id = ANY($2::uuid[]) AND EXISTS (SELECT 1 FROM events t WHERE t.event_id = k.claimed_event_id)
), ancestor (claimant, event_id, previous_event_id) AS (
  SELECT claim.event_id, e.event_id, e.previous_event_id FROM claim JOIN events e ON e.event_id = claim.target
  UNION
  SELECT a.claimant, e.event_id, e.previous_event_id FROM ancestor a JOIN events e ON e.event_id = a.previous_event_id
)
UPDATE events e SET previous_event_id = claim.target, claimed_previous_event_id = NULL
FROM claim
WHERE e.event_id = claim.event_id AND e.occurred_at = claim.occurred_at AND e.claimed_previous_event_id = claim.target
  AND NOT EXISTS (SELECT 1 FROM ancestor a WHERE a.claimant = claim.event_id AND a.event_id = claim.event_id)`;

/** Whether event_claims holds a claim on one of `storedIds`, or by one of `claimantIds`: one index look-up an id. */
const FIND_CLAIM = `SELECT EXISTS (SELECT 1 FROM event_claims WHERE claimed_event_id = ANY($1::uuid[]))
  OR EXISTS (SELECT 1 FROM event_claims WHERE event_id = ANY($2::uuid[])) AS found`;

/**
 * Heals the claims on `storedIds` and by `claimantIds` (see HEAL_CLAIMS above); returns how
 * many became links. A plain look-up in event_claims comes first, and the healing statement,
 * whose recursive walk over the partitions is costly to plan, runs only when it finds a
 * claim: most batches have none. Both are unnamed, as every statement of the consumer: a
 * named (server-side prepared) statement is session state, on which RDS Proxy pins the connection.
 */
export async function healClaims(client: ClientBase, storedIds: readonly string[], claimantIds: readonly string[]): Promise<number> {
  const { rows: [{ found }] } = await client.query<{ found: boolean }>(FIND_CLAIM, [storedIds, claimantIds]);
  if (!found) return 0;
  const { rowCount } = await client.query(HEAL_CLAIMS, [storedIds, claimantIds]);
  return rowCount ?? 0;
}

/** Which of these event ids are stored. */
export async function findStoredEvents(client: ClientBase, eventIds: readonly string[]): Promise<Set<string>> {
  const { rows } = await client.query<{ event_id: string }>('SELECT event_id FROM events WHERE event_id = ANY($1::uuid[])', [eventIds]);
  return new Set(rows.map((row) => row.event_id));
}

/**
 * The row for a valid event; ids in PostgreSQL's lower-case form, so they compare with what it returns.
 * `metadata` is the event's metadata as JSON text (the consumer passes the producer's own).
 */
export function eventRow(
  event: TrackedEvent,
  link: { previous: string | null; claimed: string | null },
  metadata: string | null = event.metadata === undefined ? null : JSON.stringify(event.metadata),
): EventRow {
  return {
    event_id: event.eventId.toLowerCase(),
    client_id: event.clientId,
    previous_event_id: link.previous,
    claimed_previous_event_id: link.claimed,
    user_id: event.userId ?? null,
    entity_id: event.entityId ?? null,
    entity_type: event.entityType,
    event_type: event.eventType,
    source: event.source ?? null,
    campaign_id: event.campaignId ?? null,
    points_awarded: event.pointsAwarded ?? null,
    session_id: event.sessionId ?? null,
    occurred_at: event.occurredAt,
    metadata,
  };
}
