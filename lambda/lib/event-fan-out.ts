/**
 * Fans stored events out to an EventBridge bus with PutEvents: one entry an event,
 * whose Source is the pipeline's (EVENT_SOURCE), DetailType `${entityType}.${eventType}`,
 * Detail the TrackedEvent as stored, and Time its occurredAt. The requests, each within
 * PutEvents' limits, go out at once, in parallel.
 */
import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { batchedRequests } from './batched-requests';
import { AWS_CLIENT_CONFIG } from './configuration';
import { withMember } from './json-text';
import type { TrackedEvent } from 'kx-events-decorators/contract';

/** PutEvents takes at most 10 entries a request. */
const MAX_ENTRIES = 10;
/**
 * EventBridge's limit on an entry, and on a request's entries together: less than 256 KB,
 * as it counts an entry's size (see {@link entryBytes}).
 */
export const MAX_PUT_BYTES = 262_144;
/** What an entry's Time counts towards its size, however it is written. */
const TIME_BYTES = 14;

/** A stored event to fan out: the TrackedEvent, and its metadata as the JSON text that is stored. */
export interface StoredEvent {
  readonly event: TrackedEvent;
  /** The stored metadata's JSON text (the producer's own, with unknown fields kept in it), or null. */
  readonly metadata: string | null;
}

/** What became of the events of one {@link EventFanOut.put}, by their index in its `events`. */
export interface FanOutResult {
  /** The events EventBridge did not take, each with the reason: they must be put again. */
  readonly failed: Map<number, string>;
  /** The events whose entry is over EventBridge's limit, each with its size in bytes: they can never be put. */
  readonly tooLarge: Map<number, number>;
}

/**
 * The EventBridge SDK, loaded when the first events are put, as the dead-letter queue loads
 * SQS's: a container of a pipeline without fan-out never loads it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const eventBridgeSdk = (): typeof import('@aws-sdk/client-eventbridge') => require('@aws-sdk/client-eventbridge');

export class EventFanOut {
  /** Created when the first events are put. */
  private eventBridge?: EventBridgeClient;

  /** `eventBusName`: the bus's name or ARN; `source`: every entry's Source. */
  constructor(private readonly eventBusName: string, private readonly source: string) {}

  /** Puts the events by `deadline` (epoch milliseconds), in parallel requests; what was not put is in the result. */
  async put(events: readonly StoredEvent[], deadline: number): Promise<FanOutResult> {
    const result: FanOutResult = { failed: new Map(), tooLarge: new Map() };
    const entries: Array<{ index: number; entry: PutEventsRequestEntry; bytes: number }> = [];
    events.forEach((stored, index) => {
      const entry = this.entry(stored);
      const bytes = entryBytes(entry);
      if (bytes >= MAX_PUT_BYTES) result.tooLarge.set(index, bytes);
      else entries.push({ index, entry, bytes });
    });
    const requests = batchedRequests(entries, { maxEntries: MAX_ENTRIES, maxBytes: MAX_PUT_BYTES - 1, bytes: (e) => e.bytes });
    await Promise.all(requests.map(async (request) => {
      try {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('the invocation\'s deadline has passed');
        const { EventBridgeClient: Client, PutEventsCommand } = eventBridgeSdk();
        this.eventBridge ??= new Client(AWS_CLIENT_CONFIG);
        const command = new PutEventsCommand({ Entries: request.map((e) => e.entry) });
        const out = await this.eventBridge.send(command, { abortSignal: AbortSignal.timeout(left) });
        // The answer's entries are in the request's order; an entry with an ErrorCode was not put.
        request.forEach(({ index }, i) => {
          const answer = out.Entries?.[i];
          if (!answer?.EventId) result.failed.set(index, `${answer?.ErrorCode ?? 'NoEventId'}: ${answer?.ErrorMessage ?? 'EventBridge returned no event id'}`);
        });
      } catch (err) {
        const e = err as { name?: string; message?: string };
        for (const { index } of request) result.failed.set(index, `${e.name ?? 'Error'}: ${e.message ?? String(err)}`);
      }
    }));
    return result;
  }

  private entry({ event, metadata }: StoredEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.eventBusName,
      Source: this.source,
      DetailType: `${event.entityType}.${event.eventType}`,
      Detail: detailText(event, metadata),
      Time: new Date(event.occurredAt),
    };
  }
}

/**
 * The TrackedEvent as stored, as JSON text: its ids in lowercase, as the uuid columns keep them,
 * and its metadata as the stored JSON text, so that its numbers are exactly the producer's.
 */
function detailText(event: TrackedEvent, metadata: string | null): string {
  const { metadata: _parsed, ...fields } = event;
  const text = JSON.stringify({
    ...fields,
    eventId: event.eventId.toLowerCase(),
    previousEventId: event.previousEventId?.toLowerCase(),
  });
  return metadata === null ? text : withMember(text, 'metadata', metadata);
}

/**
 * An entry's size as EventBridge counts it (its user guide, "Calculating PutEvents event entry size"):
 * 14 bytes for Time, and the UTF-8 bytes of Source, DetailType, Detail and each of Resources.
 */
function entryBytes(entry: PutEventsRequestEntry): number {
  return (entry.Time ? TIME_BYTES : 0) + Buffer.byteLength(entry.Source ?? '') + Buffer.byteLength(entry.DetailType ?? '')
    + Buffer.byteLength(entry.Detail ?? '') + (entry.Resources ?? []).reduce((n, r) => n + Buffer.byteLength(r), 0);
}
