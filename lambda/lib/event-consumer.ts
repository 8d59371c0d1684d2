/**
 * The consumer's engine: one SQS batch in, every valid event stored once, every
 * invalid message in the dead-letter queue with its reason, and every message that
 * must be retried in batchItemFailures. It never throws.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Client } from 'pg';
import { DatabaseDeadlineError, isStatementError, type DatabaseConnection } from './database';
import type { DeadLetter, DeadLetterQueue } from './dead-letter-queue';
import { MAX_PUT_BYTES, type EventFanOut } from './event-fan-out';
import { copyEvents, eventRow, findStoredEvents, healClaims, insertEvents, type EventRow } from './events-table';
import { memberText, withMember } from './json-text';
import { describeError, log, logBatch } from './telemetry';
import { describeProblems, MAX_METADATA_DEPTH, readTrackedEvent, UNKNOWN_FIELDS_KEY, type TrackedEvent } from 'kx-events-decorators/contract';

export interface EventConsumerOptions {
  readonly database: DatabaseConnection;
  readonly deadLetterQueue: DeadLetterQueue;
  /** The queue's maxReceiveCount: on this receive, an event whose predecessor is missing is stored unlinked. */
  readonly maxReceiveCount: number;
  /** Where the stored events are put, once the batch's statements have committed. @default - no fan-out */
  readonly fanOut?: EventFanOut;
}

/** What became of one message. */
type Outcome = 'inserted' | 'duplicate' | 'invalid' | 'deferred' | 'failed';

/** A valid event, and the message that carried it. */
interface Candidate {
  readonly record: SQSRecord;
  readonly event: TrackedEvent;
  /** The event's metadata as JSON text, as its producer wrote it (see memberText). */
  readonly metadata: string | null;
  readonly id: string;
  readonly previous: string | null;
  readonly lastReceive: boolean;
  /** The event has fields this contract does not know: they are kept in its metadata. */
  readonly withUnknownFields: boolean;
}

/**
 * A batch of at least this many records streams its new events in with COPY, which then
 * costs one more statement to heal claims; a smaller one stores them all with the one
 * INSERT, which looks claims up itself. COPY takes two round trips and the INSERT one: at
 * 10 records the round trips are most of the cost, at 100 the streaming wins.
 */
const COPY_MIN_RECORDS = 50;

/** Of the invocation's remaining time, this much is left to return batchItemFailures. */
const RESPONSE_MARGIN_MS = 200;
/**
 * Of the rest, the database leaves a quarter, at most 2 s, to the dead-letter queue,
 * for the rows it rejects (a request takes tens of milliseconds).
 */
const DEAD_LETTER_SHARE = 0.25;
const DEAD_LETTER_MAX_MS = 2_000;

/** When each step must be done, in epoch milliseconds. */
interface Deadlines {
  /** The secret, the connection and every statement. */
  readonly database: number;
  /** The fan-out's requests, which start when the statements are done. */
  readonly fanOut: number;
  /** The dead-letter queue's requests: the last step. */
  readonly deadLetterQueue: number;
}

export class EventConsumer {
  constructor(private readonly options: EventConsumerOptions) {}

  /**
   * Consumes one batch within `remainingMs` (the invocation's context.getRemainingTimeInMillis()):
   * every step gives up at its deadline, and what it did not finish is left for redelivery.
   */
  async consume(event: SQSEvent, remainingMs: number): Promise<SQSBatchResponse> {
    const batch = new Batch(event.Records);
    const intake = new Intake(event.Records, this.options.maxReceiveCount);
    const deadlines = deadlinesWithin(remainingMs);
    try {
      // The invalid messages go to the DLQ once the batch is parsed, while the database finishes.
      const sentInvalid = intake.parsed.then(() => this.deadLetter(batch, intake.invalid, deadlines.deadLetterQueue));
      const rejected = await this.store(batch, intake, deadlines.database);
      // The statements have committed: the stored events fan out while the rejected rows go to the DLQ.
      await Promise.all([sentInvalid, this.deadLetter(batch, rejected, deadlines.deadLetterQueue), this.fanOut(batch, intake, deadlines)]);
    } catch (err) {
      log('ERROR', 'unexpected failure: the unfinished messages are left for redelivery', { error: describeError(err, false) });
    }
    return batch.finish(intake.withUnknownFields);
  }

  /**
   * Stores the batch's valid events; returns those the database rejected for their own
   * data. In a batch of COPY_MIN_RECORDS or more, the records are parsed while one COPY
   * streams the new events to the server, so the server stores while the rest are
   * validated; a smaller batch goes to the INSERT at once. An event COPY does not take (a repeat,
   * or one whose predecessor is not in the batch), and every event when the server
   * refuses the COPY (an event already stored, or a row it rejects), goes through the one
   * INSERT … ON CONFLICT statement that links, defers and isolates.
   */
  private async store(batch: Batch, intake: Intake, deadline: number): Promise<DeadLetter[]> {
    // No valid event, no connection: a batch of invalid messages goes to the DLQ even with the database down.
    if (!intake.hasCandidates()) return [];
    let stored: Stored = { followers: new Map(), rejected: [] };
    try {
      for (let attempt = 1; ; attempt++) {
        let connected = false;
        try {
          stored = await this.options.database.use((client) => {
            connected = true;
            return this.storeWith(client, batch, intake);
          }, deadline);
          break;
        } catch (err) {
          // A connection that broke under the work before any of it was stored: once more, on a new one.
          const untouched = intake.candidates.every((c) => batch.outcome(c.record) === undefined);
          if (attempt > 1 || !connected || !untouched || isStatementError(err) || err instanceof DatabaseDeadlineError) throw err;
          log('WARN', 'the database connection broke before the batch was stored: it is stored on a new one', { error: describeError(err) });
        }
      }
    } catch (err) {
      log('ERROR', 'database unavailable: the unfinished messages are left for redelivery', { error: describeError(err) });
    } finally {
      intake.finish(); // the invalid ones among records the database never took still go to the DLQ
    }
    const { followers, rejected } = stored;
    // A message that repeats an event shares the fate of the one that carried it.
    for (const [record, representative] of followers) {
      const outcome = batch.outcome(representative.record);
      if (outcome === 'inserted' || outcome === 'duplicate') {
        batch.settle(record, 'duplicate');
      } else if (outcome === 'deferred') {
        batch.settle(record, 'deferred');
      } else {
        const reason = rejected.find((r) => r.record === representative.record)?.reason;
        if (reason) rejected.push({ record, reason });
      }
    }
    return rejected;
  }

  /** Stores the batch's valid events on `client`; see {@link store}. */
  private async storeWith(client: Client, batch: Batch, intake: Intake): Promise<Stored> {
    const copied = new Map<string, Candidate>();
    const rejected: DeadLetter[] = [];
    if (intake.size >= COPY_MIN_RECORDS) {
      try {
        await batch.timed(() => copyEvents(client, newEvents(intake.valid(), copied)));
      } catch (err) {
        if (!isStatementError(err)) throw err;
        copied.clear(); // the COPY stored none of them
      }
    } else {
      intake.finish();
    }
    const { representatives, followers } = collapseDuplicates(intake.candidates, copied);
    for (const c of copied.values()) batch.settle(c.record, 'inserted');
    const claimed = await this.insert(batch, client, representatives.filter((c) => !copied.has(c.id)), new Set(copied.keys()), rejected);
    await this.healClaims(batch, client, representatives, claimed || copied.size > 0);
    return { followers, rejected };
  }

  /**
   * Once the batch's events are stored (each statement commits on its own), links the
   * stored rows that claim one of them, and the claims the batch stored whose event is
   * stored by now: when `claimed` (a COPY, which cannot look claims up itself, or an
   * INSERT that found a claim on its events), or when the batch stored a claim or a
   * duplicate (both rare). A duplicate (a redelivery) counts as a claimant too, so it
   * repairs a heal that an earlier delivery did not finish. healClaims looks in
   * event_claims first, and heals only when it finds a claim there.
   */
  private async healClaims(batch: Batch, client: Client, representatives: Candidate[], claimed: boolean): Promise<void> {
    const stored: string[] = [];
    const claimants: string[] = [];
    for (const c of representatives) {
      const outcome = batch.outcome(c.record);
      if (outcome !== 'inserted' && outcome !== 'duplicate') continue;
      stored.push(c.id);
      if (outcome === 'duplicate' || batch.isUnlinked(c.record)) claimants.push(c.id);
    }
    if (claimed || claimants.length > 0) await batch.timed(() => healClaims(client, stored, claimants));
  }

  /**
   * Inserts the candidates with their links in one statement, skipping stored events;
   * a statement the database refuses for a row's data is split until that row is
   * isolated in `rejected`. `stored` holds events known to be stored.
   */
  private async insert(batch: Batch, client: Client, candidates: Candidate[], stored: Set<string>, rejected: DeadLetter[]): Promise<boolean> {
    if (candidates.length === 0) return false;
    let claimed = false;
    const ids = new Set(candidates.map((c) => c.id));
    const outside = [...new Set(candidates.flatMap((c) => (c.previous && !ids.has(c.previous) && !stored.has(c.previous) ? [c.previous] : [])))];
    if (outside.length > 0) for (const id of await batch.timed(() => findStoredEvents(client, outside))) stored.add(id);
    const { ordered, closing } = predecessorsFirst(candidates);
    const attempt = async (rows: Candidate[]): Promise<void> => {
      const { linked, deferred } = resolveLinks(rows, stored, closing);
      for (const c of deferred) batch.settle(c.record, 'deferred');
      if (linked.length === 0) return;
      try {
        const eventRows = linked.map(({ candidate, link }) => eventRow(candidate.event, link, candidate.metadata));
        const { inserted, claimed: found } = await batch.timed(() => insertEvents(client, eventRows));
        claimed ||= found;
        for (const { candidate, link } of linked) {
          stored.add(candidate.id);
          batch.settle(candidate.record, inserted.has(candidate.id) ? 'inserted' : 'duplicate', link.claimed !== null);
        }
      } catch (err) {
        if (!isRejectedData(err)) throw err;
        if (linked.length > 1) {
          // Isolate the bad row: each half in its own statement, predecessors first.
          const half = Math.ceil(linked.length / 2);
          await attempt(linked.slice(0, half).map((l) => l.candidate));
          await attempt(linked.slice(half).map((l) => l.candidate));
        } else {
          rejected.push({ record: linked[0].candidate.record, reason: databaseReason(err) });
        }
      }
    };
    await attempt(ordered);
    return claimed;
  }

  /**
   * Puts every stored event of the batch to the bus: those this batch stored, and those stored already,
   * so that a retried batch completes a fan-out that failed. An event EventBridge does not take makes
   * each message that carries it a batch item failure, or, on that message's last receive, a dead letter
   * with the reason. An event too large for an entry stays stored, is never put, and is logged with its eventId.
   */
  private async fanOut(batch: Batch, intake: Intake, deadlines: Deadlines): Promise<void> {
    const { fanOut } = this.options;
    if (!fanOut) return;
    const carriers = new Map<string, Candidate[]>(); // each stored event, and the messages that carry it
    for (const c of intake.candidates) {
      const outcome = batch.outcome(c.record);
      if (outcome === 'inserted' || outcome === 'duplicate') carriers.set(c.id, [...carriers.get(c.id) ?? [], c]);
    }
    if (carriers.size === 0) return;
    const stored = [...carriers.values()];
    const { failed, tooLarge } = await fanOut.put(stored.map(([c]) => c), deadlines.fanOut);
    batch.fannedOut(failed.size, tooLarge.size);
    for (const [index, bytes] of tooLarge) {
      log('ERROR', 'an event too large for an EventBridge entry is stored, and is not fanned out', { eventId: stored[index][0].id, bytes, maxBytes: MAX_PUT_BYTES });
    }
    if (failed.size === 0) return;
    log('WARN', 'EventBridge did not take some stored events: their messages are retried', { count: failed.size, reasons: [...new Set(failed.values())].slice(0, 3) });
    const letters: DeadLetter[] = [];
    for (const [index, reason] of failed) {
      for (const c of stored[index]) {
        if (c.lastReceive) letters.push({ record: c.record, reason: `fan-out: the event is stored, but EventBridge did not take it on the message's last receive (${reason})` });
        else batch.retryFanOut(c.record);
      }
    }
    if (letters.length === 0) return;
    const unsent = await this.options.deadLetterQueue.send(letters, deadlines.deadLetterQueue);
    for (const { record } of letters) if (unsent.has(record.messageId)) batch.retryFanOut(record);
  }

  private async deadLetter(batch: Batch, letters: DeadLetter[], deadline: number): Promise<void> {
    if (letters.length === 0) return;
    const unsent = await this.options.deadLetterQueue.send(letters, deadline);
    if (unsent.size > 0) log('ERROR', 'dead-letter queue unreachable: the messages are left for redelivery', { count: unsent.size });
    for (const { record } of letters) batch.settle(record, unsent.has(record.messageId) ? 'failed' : 'invalid');
  }
}

/** What storing a batch left to do: the messages that repeat an event, and the rows the database rejected. */
interface Stored {
  /** Each message that repeats an event, and the candidate that carried it. */
  readonly followers: Map<SQSRecord, Candidate>;
  readonly rejected: DeadLetter[];
}

function deadlinesWithin(remainingMs: number): Deadlines {
  const now = Date.now();
  const end = now + remainingMs - RESPONSE_MARGIN_MS;
  const afterDatabase = Math.min(DEAD_LETTER_MAX_MS, Math.max(0, end - now) * DEAD_LETTER_SHARE);
  // The fan-out starts when the statements are done, mostly long before their deadline, and leaves
  // half the last share to the dead letters of the events it could not put on their last receive.
  return { database: end - afterDatabase, fanOut: end - afterDatabase / 2, deadLetterQueue: end };
}

/** The batch's records, parsed and validated one at a time, as the database takes them. */
class Intake {
  /** The valid events parsed so far, in the batch's order. */
  readonly candidates: Candidate[] = [];
  /** The messages parsed so far that can never be stored, with their reasons. */
  readonly invalid: DeadLetter[] = [];
  /** How many valid events parsed so far have fields this contract does not know (kept in their metadata). */
  withUnknownFields = 0;
  /** Resolves when the last record is parsed. */
  readonly parsed: Promise<void>;
  /** How many records the batch holds. */
  readonly size: number;
  private next = 0;
  private allParsed!: () => void;

  constructor(private readonly records: readonly SQSRecord[], private readonly maxReceiveCount: number) {
    this.parsed = new Promise((resolve) => { this.allParsed = resolve; });
    this.size = records.length;
    if (records.length === 0) this.allParsed();
  }

  /** Parses until a valid event is found, or the records end: true when the batch holds one. */
  hasCandidates(): boolean {
    while (this.candidates.length === 0 && this.parseNext());
    return this.candidates.length > 0;
  }

  /** Each valid event of the batch, in order: those parsed already, then the others as they are parsed. */
  * valid(): Generator<Candidate> {
    for (let next = 0; ; next++) {
      while (next === this.candidates.length) if (!this.parseNext()) return;
      yield this.candidates[next];
    }
  }

  /** Parses the rest. */
  finish(): void {
    while (this.parseNext());
  }

  /** Parses the next record; false when none was left. */
  private parseNext(): boolean {
    if (this.next === this.records.length) return false;
    const result = parse(this.records[this.next++], this.maxReceiveCount);
    if ('reason' in result) {
      this.invalid.push(result);
    } else {
      this.candidates.push(result);
      if (result.withUnknownFields) this.withUnknownFields++;
    }
    if (this.next === this.records.length) this.allParsed();
    return true;
  }
}

/** A valid event, or the reason the message can never be stored. */
function parse(record: SQSRecord, maxReceiveCount: number): Candidate | DeadLetter {
  let value: unknown;
  try {
    value = JSON.parse(record.body);
  } catch (err) {
    return { record, reason: `body: must be a JSON TrackedEvent, got text that is not JSON (${(err as Error).message})` };
  }
  // The tolerant reading: fields of a newer contract are kept, not dead-lettered (see the contract's versioning rule).
  let reading = readTrackedEvent(value);
  if (!reading.event) {
    // JSON.parse reads a number beyond a double's range (1e400) as ±Infinity, which the contract refuses
    // of a JavaScript producer (JSON.stringify would send null). Metadata is stored from its text, which
    // JSONB takes as it is: within metadata, such a number is no problem.
    const metadata = typeof value === 'object' && value !== null ? (value as { metadata?: unknown }).metadata : undefined;
    const finite = withFiniteNumbers(metadata, MAX_METADATA_DEPTH);
    if (finite !== metadata) reading = readTrackedEvent({ ...(value as object), metadata: finite });
    if (!reading.event) return { record, reason: describeProblems(reading.problems) };
  }
  const { event, unknownFields } = reading;
  return {
    record,
    event,
    metadata: storedMetadata(record.body, unknownFields),
    id: event.eventId.toLowerCase(),
    previous: event.previousEventId?.toLowerCase() ?? null,
    lastReceive: Number(record.attributes.ApproximateReceiveCount) >= maxReceiveCount,
    withUnknownFields: unknownFields.length > 0,
  };
}

/**
 * The metadata to store, as JSON text: the producer's own, with the fields this contract does not
 * know, each as the producer wrote it, under {@link UNKNOWN_FIELDS_KEY}; null when there is neither.
 */
function storedMetadata(body: string, unknownFields: readonly string[]): string | null {
  const metadata = memberText(body, 'metadata');
  if (unknownFields.length === 0) return metadata ?? null;
  const unknown = `{${unknownFields.map((field) => `${JSON.stringify(field)}:${memberText(body, field)}`).join(',')}}`;
  return withMember(metadata ?? '{}', UNKNOWN_FIELDS_KEY, unknown);
}

/** `value` with each ±Infinity down to `depth` levels replaced by 0, or `value` itself when it holds none. */
function withFiniteNumbers(value: unknown, depth: number): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : 0;
  if (typeof value !== 'object' || value === null || depth === 0) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const finite = withFiniteNumbers(item, depth - 1);
    if (finite !== item) (copy ??= (Array.isArray(value) ? [...value] : { ...value }) as Record<string, unknown>)[key] = finite;
  }
  return copy ?? value;
}

/**
 * The rows COPY takes, as the candidates come: each event once, when its predecessor,
 * if any, is streamed too. The FK is checked at the end of the statement, so a follower
 * is streamed at once when its predecessor came before it, or after the batch when it
 * came later. `copied` receives each candidate streamed.
 */
function* newEvents(candidates: Iterable<Candidate>, copied: Map<string, Candidate>): Generator<EventRow> {
  const waiting = new Map<string, Candidate[]>(); // by the predecessor they wait for
  const stream = (c: Candidate): EventRow => {
    copied.set(c.id, c);
    return eventRow(c.event, { previous: c.previous, claimed: null }, c.metadata);
  };
  for (const c of candidates) {
    if (copied.has(c.id)) continue;
    if (!c.previous || copied.has(c.previous)) yield stream(c);
    else if (waiting.has(c.previous)) waiting.get(c.previous)!.push(c);
    else waiting.set(c.previous, [c]);
  }
  for (const id of copied.keys()) { // a Map's iterator also visits the entries added as it goes
    for (const c of waiting.get(id) ?? []) if (!copied.has(c.id)) yield stream(c);
  }
}

/**
 * One candidate per event id: the one already stored, else the one received most often,
 * so that an event on its last receive is never deferred because a fresher copy of it came along.
 */
function collapseDuplicates(
  candidates: Candidate[],
  stored: ReadonlyMap<string, Candidate>,
): { representatives: Candidate[]; followers: Map<SQSRecord, Candidate> } {
  const byId = new Map<string, Candidate>(stored);
  for (const c of candidates) {
    const kept = byId.get(c.id);
    if (!kept || (!stored.has(c.id) && receiveCount(c) > receiveCount(kept))) byId.set(c.id, c);
  }
  const followers = new Map<SQSRecord, Candidate>();
  for (const c of candidates) {
    const kept = byId.get(c.id)!;
    if (kept !== c) followers.set(c.record, kept);
  }
  return { representatives: [...byId.values()], followers };
}

function receiveCount(c: Candidate): number {
  return Number(c.record.attributes.ApproximateReceiveCount) || 0;
}

/**
 * Orders candidates so that each comes after its predecessor when both are in the batch,
 * and finds the links that close a cycle (A follows B, and B follows A, or A itself): walking
 * back from each candidate in the batch's order, the link that leads to an event of the same
 * walk. Such a link is stored as a claim, so that every chain has a head.
 */
function predecessorsFirst(candidates: Candidate[]): { ordered: Candidate[]; closing: Set<Candidate> } {
  const byId = new Map(candidates.map((c) => [c.id, c]));
  const ordered: Candidate[] = [];
  const walkOf = new Map<Candidate, number>(); // the walk that placed each candidate
  const closing = new Set<Candidate>();
  candidates.forEach((start, walk) => {
    const chain: Candidate[] = [];
    let c: Candidate | undefined = start;
    for (; c && !walkOf.has(c); c = c.previous ? byId.get(c.previous) : undefined) {
      walkOf.set(c, walk);
      chain.push(c);
    }
    if (c && walkOf.get(c) === walk) closing.add(chain[chain.length - 1]);
    ordered.push(...chain.reverse());
  });
  return { ordered, closing };
}

interface Link {
  readonly previous: string | null;
  readonly claimed: string | null;
}

interface LinkedCandidate {
  readonly candidate: Candidate;
  readonly link: Link;
}

/**
 * Decides each row's link for one statement. A link that closes a cycle (`closing`) is
 * stored as a claim. Another link is kept when its target is stored or in the same
 * statement. Otherwise the row waits for redelivery, or, on its last receive, is stored
 * unlinked with the claim kept. A row whose target waits, waits too (or goes unlinked),
 * so the statement never breaks the FK.
 */
function resolveLinks(
  rows: Candidate[],
  stored: ReadonlySet<string>,
  closing: ReadonlySet<Candidate>,
): { linked: LinkedCandidate[]; deferred: Candidate[] } {
  const included = new Set(rows.map((c) => c.id));
  const unlinked = new Set(rows.filter((c) => closing.has(c)));
  for (let changed = true; changed;) {
    changed = false;
    for (const c of rows) {
      if (!c.previous || !included.has(c.id) || unlinked.has(c) || stored.has(c.previous) || included.has(c.previous)) continue;
      if (c.lastReceive) unlinked.add(c);
      else included.delete(c.id);
      changed = true;
    }
  }
  return {
    linked: rows.filter((c) => included.has(c.id)).map((candidate) => ({
      candidate,
      link: unlinked.has(candidate) ? { previous: null, claimed: candidate.previous } : { previous: candidate.previous, claimed: null },
    })),
    deferred: rows.filter((c) => !included.has(c.id)),
  };
}

/** A statement the server refused for the rows' own data (class 22 data exception, class 23 integrity). */
function isRejectedData(err: unknown): boolean {
  return isStatementError(err) && /^2[23]/.test((err as { code: string }).code);
}

function databaseReason(err: unknown): string {
  const e = err as { message?: string; code?: string; detail?: string };
  return `database: ${e.message} (SQLSTATE ${e.code}${e.detail ? `; ${e.detail}` : ''})`;
}

/** The batch's bookkeeping: each message's outcome, database time, the fan-out's, and the summary at the end. */
class Batch {
  private readonly outcomes = new Map<SQSRecord, Outcome>();
  private readonly unlinked = new Set<SQSRecord>();
  /** Messages whose event is stored but was not put to the bus: retried, whatever their outcome. */
  private readonly fanOutRetried = new Set<SQSRecord>();
  private fanOut = { failed: 0, tooLarge: 0 };
  private dbMs = 0;

  constructor(private readonly records: SQSRecord[]) {}

  settle(record: SQSRecord, outcome: Outcome, unlinked = false): void {
    this.outcomes.set(record, outcome);
    if (unlinked) this.unlinked.add(record);
  }

  /** How many of the batch's stored events EventBridge did not take, and how many were too large to put. */
  fannedOut(failed: number, tooLarge: number): void {
    this.fanOut = { failed, tooLarge };
  }

  retryFanOut(record: SQSRecord): void {
    this.fanOutRetried.add(record);
  }

  outcome(record: SQSRecord): Outcome | undefined {
    return this.outcomes.get(record);
  }

  /** The message's event was stored without its link, the claim kept. */
  isUnlinked(record: SQSRecord): boolean {
    return this.unlinked.has(record);
  }

  async timed<T>(statement: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await statement();
    } finally {
      this.dbMs += performance.now() - start;
    }
  }

  /** Every message without an outcome failed; deferred and failed ones are retried, and those whose fan-out must be. */
  finish(withUnknownFields: number): SQSBatchResponse {
    const counts = { received: this.records.length, inserted: 0, duplicates: 0, invalid: 0, deferred: 0, failed: 0 };
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of this.records) {
      const outcome = this.outcomes.get(record) ?? 'failed';
      counts[outcome === 'duplicate' ? 'duplicates' : outcome]++;
      if (outcome === 'deferred' || outcome === 'failed' || this.fanOutRetried.has(record)) batchItemFailures.push({ itemIdentifier: record.messageId });
    }
    logBatch({
      ...counts,
      unlinked: this.unlinked.size,
      withUnknownFields,
      fanOutFailed: this.fanOut.failed,
      fanOutTooLarge: this.fanOut.tooLarge,
      dbMs: Math.round(this.dbMs),
    });
    return { batchItemFailures };
  }
}
