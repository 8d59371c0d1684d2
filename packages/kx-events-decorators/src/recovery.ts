/**
 * Reading unpublished records back: `kx-events-decorators/recovery`. Given the log lines of a
 * producer, it returns each unpublished event, an event written in parts joined again, and says
 * which records cannot give their event back, and why. It does not validate the events: that is
 * the contract's job (`validateTrackedEvent`), before they are published again.
 */
import { UNPUBLISHED_MARKER, type UnpublishedPart } from './unpublished-record';

export { MAX_UNPUBLISHED_LINE_BYTES, UNPUBLISHED_MARKER } from './unpublished-record';
export type { UnpublishedPart } from './unpublished-record';

/** One log line, and where it was found (for messages: a log stream and a time, say). */
export interface UnpublishedLine {
  readonly text: string;
  readonly source?: string;
}

/** An event read back from its record, as it was logged. */
export interface RecoveredEvent {
  readonly event: unknown;
  /** Why it was not published: `invalid`, `failed`, `timeout` or `rejected`. */
  readonly reason?: string;
  /** The source of its record (of its first part). */
  readonly source?: string;
}

/** A record that does not give its event back. */
export interface UnrecoverableRecord {
  readonly source?: string;
  readonly problem: string;
}

export interface Recovery {
  readonly events: RecoveredEvent[];
  readonly unrecoverable: UnrecoverableRecord[];
}

interface PartGroup {
  readonly part: UnpublishedPart;
  readonly slices: Map<number, string>;
  readonly reason?: string;
  readonly source?: string;
  /** Where the event goes among `events`, so the order is the order the records were found in. */
  readonly position: number;
}

/**
 * The events of the unpublished records among `lines`. Lines without the marker are ignored. A line
 * may carry a prefix before its JSON (a log agent's timestamp, say). A part seen twice counts once.
 */
export function recoverUnpublishedEvents(lines: Iterable<string | UnpublishedLine>): Recovery {
  const found: Array<RecoveredEvent | PartGroup> = [];
  const groups = new Map<string, PartGroup>();
  const unrecoverable: UnrecoverableRecord[] = [];
  for (const line of lines) {
    const { text, source } = typeof line === 'string' ? { text: line, source: undefined } : line;
    if (!text.includes(UNPUBLISHED_MARKER)) continue;
    const record = parseRecord(text);
    if (typeof record === 'string') {
      unrecoverable.push({ source, problem: record });
      continue;
    }
    if (record.marker !== UNPUBLISHED_MARKER) continue; // another record that mentions the marker
    const reason = typeof record.reason === 'string' ? record.reason : undefined;
    if ('event' in record) {
      found.push({ event: record.event, reason, source });
      continue;
    }
    const part = record.part as UnpublishedPart | undefined;
    if (!isPart(part) || typeof record.eventPart !== 'string') {
      unrecoverable.push({ source, problem: 'an unpublished record with neither an event nor a well-formed part (part: {id, index, count}, eventPart)' });
      continue;
    }
    let group = groups.get(part.id);
    if (!group) {
      group = { part, slices: new Map(), reason, source, position: found.length };
      groups.set(part.id, group);
      found.push(group);
    }
    if (part.count !== group.part.count) {
      unrecoverable.push({ source, problem: `part ${part.index} of ${part.id} says ${part.count} parts, its first part ${group.part.count}` });
      continue;
    }
    if (!group.slices.has(part.index)) group.slices.set(part.index, record.eventPart);
  }
  const events: RecoveredEvent[] = [];
  for (const item of found) {
    if (!('slices' in item)) {
      events.push(item);
      continue;
    }
    const { part, slices, reason, source } = item;
    const missing = Array.from({ length: part.count }, (_, i) => i + 1).filter((index) => !slices.has(index));
    if (missing.length > 0) {
      unrecoverable.push({ source, problem: `event in ${part.count} parts (${part.id}) is missing part ${missing.join(', ')}: search a longer time range, or the log group's retention has dropped it` });
      continue;
    }
    const text = [...slices.entries()].sort(([a], [b]) => a - b).map(([, slice]) => slice).join('');
    try {
      events.push({ event: JSON.parse(text), reason, source });
    } catch (err) {
      unrecoverable.push({ source, problem: `the ${part.count} parts of ${part.id} do not join into JSON (${(err as Error).message})` });
    }
  }
  return { events, unrecoverable };
}

/** The record's JSON object, or what is wrong with the line. */
function parseRecord(text: string): Record<string, unknown> | string {
  const start = text.indexOf('{');
  if (start < 0) return 'a line with the unpublished marker but no JSON record';
  try {
    const value: unknown = JSON.parse(text.slice(start));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    return 'a line with the unpublished marker whose JSON is not an object';
  } catch (err) {
    return `a line with the unpublished marker that is not a whole JSON record (${(err as Error).message}): it may have been cut`;
  }
}

function isPart(part: unknown): part is UnpublishedPart {
  const p = part as UnpublishedPart | undefined;
  return typeof p === 'object' && p !== null && typeof p.id === 'string'
    && Number.isInteger(p.count) && p.count >= 1 && Number.isInteger(p.index) && p.index >= 1 && p.index <= p.count;
}
