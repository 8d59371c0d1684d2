/**
 * The record of an event that was not published: the whole event, on stdout, under the marker
 * `kx-events.unpublished`, so it can be recovered (`kx-events-decorators/recovery` reads it back).
 *
 * An event too large for one log line is written as numbered parts instead: CloudWatch Logs keeps at
 * most 256 KB as one log event, and Lambda has been seen to split stdout lines at 65,536 characters.
 * Each part carries a slice of the event's JSON text (`eventPart`), and every part of one event the
 * same `part.id`; joined in `part.index` order, the slices are the event's JSON.
 */
import { randomUUID } from 'crypto';
import { writeLog } from './log';

/** The marker of every unpublished record, whole or in parts. */
export const UNPUBLISHED_MARKER = 'kx-events.unpublished';

/** The longest line an unpublished record is written as, in UTF-8 bytes: below Lambda's 65,536-character split. */
export const MAX_UNPUBLISHED_LINE_BYTES = 60_000;

/** Why an event was not published. */
export type UnpublishedReason = 'invalid' | 'failed' | 'timeout' | 'rejected';

/** Where a part sits among the parts of one event. `index` counts from 1. */
export interface UnpublishedPart {
  readonly id: string;
  readonly index: number;
  readonly count: number;
}

/** What a part's line holds besides the slice itself (`timestamp`, `level` and `message` included), with room to spare. */
const PART_LINE_OVERHEAD_BYTES = 600;

/** Logs `event` as unpublished: one line when it fits in MAX_UNPUBLISHED_LINE_BYTES, else numbered parts. */
export function logUnpublished(event: unknown, reason: UnpublishedReason, data: Record<string, unknown>): void {
  const message = `event not published (${reason}): recover it from this record`;
  const record = { reason, ...data, event };
  const eventText = jsonText(event);
  const dataText = jsonText(data);
  if (eventText === undefined || dataText === undefined
    || Buffer.byteLength(eventText) + Buffer.byteLength(dataText) + PART_LINE_OVERHEAD_BYTES <= MAX_UNPUBLISHED_LINE_BYTES) {
    writeLog('ERROR', UNPUBLISHED_MARKER, message, record); // writeLog copes with what JSON cannot carry
    return;
  }
  const slices = sliceJson(eventText, MAX_UNPUBLISHED_LINE_BYTES - Buffer.byteLength(dataText) - PART_LINE_OVERHEAD_BYTES);
  const id = randomUUID();
  const eventId = (event as { eventId?: unknown }).eventId;
  slices.forEach((eventPart, i) => {
    const part: UnpublishedPart = { id, index: i + 1, count: slices.length };
    writeLog('ERROR', UNPUBLISHED_MARKER, `event not published (${reason}): part ${part.index} of ${part.count}; recover it by joining the eventPart of every part ${id}, in index order`, {
      reason, ...data, ...(typeof eventId === 'string' ? { eventId: eventId.slice(0, 64) } : {}), part, eventPart,
    });
  });
}

function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/**
 * Cuts `text` into slices whose JSON string literals take at most `maxBytes` of UTF-8 each. A slice
 * never ends between the two halves of a surrogate pair, so each slice is well-formed text.
 */
function sliceJson(text: string, maxBytes: number): string[] {
  const slices: string[] = [];
  let start = 0;
  let bytes = 2; // the quotes
  for (let i = 0; i < text.length;) {
    const code = text.charCodeAt(i);
    const pair = code >= 0xd800 && code <= 0xdbff && i + 1 < text.length;
    const units = pair ? 2 : 1;
    const cost = escapedBytes(code, pair);
    if (bytes + cost > maxBytes && i > start) {
      slices.push(text.slice(start, i));
      start = i;
      bytes = 2;
    }
    bytes += cost;
    i += units;
  }
  slices.push(text.slice(start));
  return slices;
}

/** The UTF-8 bytes one character takes inside a JSON string literal. */
function escapedBytes(code: number, pair: boolean): number {
  if (pair) return 4;
  if (code === 0x22 || code === 0x5c) return 2; // \" and \\
  if (code < 0x20 || (code >= 0xd800 && code <= 0xdfff)) return 6; // \u00XX, and a lone surrogate as \uXXXX
  if (code < 0x80) return 1;
  return code < 0x800 ? 2 : 3;
}
