/**
 * The event contract: the one definition of a tracked event, shared by the producer
 * (this package) and the consumer Lambda, which imports this file by relative path.
 *
 * Pure by design: no SDK imports and no Node-only APIs beyond Buffer, so it bundles anywhere.
 * Every limit follows the column that stores the field (see the `events` table).
 */

/** A business event, as published to the events queue and stored as one row. */
export interface TrackedEvent {
  /** UUID (any version); generated as a time-ordered UUIDv7. */
  eventId: string;
  /** Required, 1..128 characters. Extracted from the request. */
  clientId: string;
  /** Optional UUID of the event this one follows. */
  previousEventId?: string;
  /** Optional, 1..128 characters. */
  userId?: string;
  /** Optional, 1..128 characters. */
  entityId?: string;
  /** Required, 1..48 characters. */
  entityType: string;
  /** Required, 1..48 characters. */
  eventType: string;
  /** Optional, 1..32 characters. */
  source?: string;
  /** Optional, 1..128 characters. */
  campaignId?: string;
  /** Optional integer within PostgreSQL INTEGER (-2147483648..2147483647). */
  pointsAwarded?: number;
  /** Optional, 1..128 characters. */
  sessionId?: string;
  /** ISO 8601 date and time with a time zone, e.g. `2025-01-31T12:00:00.000Z`. */
  occurredAt: string;
  /** Optional plain JSON object (not an array, not null, not a class instance). */
  metadata?: object;
}

/** The largest serialized event, in UTF-8 bytes: the events queue's maximum message size (256 KiB). */
export const MAX_EVENT_BYTES = 262_144;

/** How deep `metadata` may nest (objects and arrays), counting `metadata` itself as level 1. */
export const MAX_METADATA_DEPTH = 32;

/** One thing wrong with an event: the field (a path such as `metadata.items[2]`) and what is wrong. */
export interface ContractProblem {
  readonly field: string;
  readonly message: string;
}

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|([+-])(\d{2})(?::?(\d{2}))?)$/;
const NUL_OR_SURROGATE = /[\u0000\uD800-\uDFFF]/;
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

type FieldRule = (value: unknown) => string | undefined;

interface FieldSpec {
  readonly required: boolean;
  readonly rule: FieldRule;
}

const text = (max: number): FieldRule => (value) => checkText(value, max);
const uuid: FieldRule = (value) => checkUuid(value);

/** Every field of the contract, in the order the seed lists them. Anything else is unknown. */
const FIELDS: { readonly [K in keyof Required<TrackedEvent>]: FieldSpec } = {
  eventId: { required: true, rule: uuid },
  clientId: { required: true, rule: text(128) },
  previousEventId: { required: false, rule: uuid },
  userId: { required: false, rule: text(128) },
  entityId: { required: false, rule: text(128) },
  entityType: { required: true, rule: text(48) },
  eventType: { required: true, rule: text(48) },
  source: { required: false, rule: text(32) },
  campaignId: { required: false, rule: text(128) },
  pointsAwarded: { required: false, rule: checkPoints },
  sessionId: { required: false, rule: text(128) },
  occurredAt: { required: true, rule: checkOccurredAt },
  metadata: { required: false, rule: () => undefined }, // checked by walkMetadata, which reports paths
};
const FIELD_ENTRIES = Object.entries(FIELDS) as Array<[string, FieldSpec]>;
const FIELD_NAMES = Object.keys(FIELDS);

/**
 * Every problem with `value` as a TrackedEvent; an empty array means it is valid.
 * Checks each field's type and limit, unknown fields, U+0000 anywhere (PostgreSQL rejects it),
 * and the serialized size against {@link MAX_EVENT_BYTES}.
 */
export function validateTrackedEvent(value: unknown): ContractProblem[] {
  return inspectTrackedEvent(value).problems;
}

/**
 * Validates and serializes in one pass: the producer sends `body` (the JSON it measured, `bodyBytes`
 * long in UTF-8), so an event is stringified and measured once. `body` and `bodyBytes` are present
 * only when there are no problems.
 * @internal
 */
export function inspectTrackedEvent(value: unknown): { problems: ContractProblem[]; body?: string; bodyBytes?: number } {
  if (!isPlainObject(value)) {
    return { problems: [{ field: 'event', message: `must be a plain JSON object, got ${describeValue(value)}` }] };
  }
  const problems: ContractProblem[] = [];
  const record = value as Record<string, unknown>;
  for (const [field, spec] of FIELD_ENTRIES) {
    const fieldValue = record[field];
    if (fieldValue === undefined) {
      if (spec.required) problems.push({ field, message: 'is required' });
      continue;
    }
    const message = spec.rule(fieldValue);
    if (message) problems.push({ field, message });
  }
  if (record.metadata !== undefined) {
    if (isPlainObject(record.metadata)) {
      walkMetadata(record.metadata, 'metadata', [], problems);
    } else {
      problems.push({ field: 'metadata', message: `must be a plain JSON object, got ${describeValue(record.metadata)}` });
    }
  }
  for (const key of Object.keys(record)) {
    if (!Object.prototype.hasOwnProperty.call(FIELDS, key)) {
      problems.push({ field: fieldPath('', key), message: `is not a field of TrackedEvent (allowed: ${FIELD_NAMES.join(', ')})` });
    }
  }
  const body = serialize(value);
  const bodyBytes = body === undefined ? undefined : Buffer.byteLength(body, 'utf8');
  if (bodyBytes !== undefined && bodyBytes > MAX_EVENT_BYTES) {
    problems.push({ field: 'event', message: `must serialize to at most ${MAX_EVENT_BYTES} bytes of UTF-8 JSON, got ${bodyBytes}` });
  }
  return problems.length > 0 ? { problems } : { problems, body, bodyBytes };
}

/** JSON text, or undefined when the value cannot be serialized (already reported as a problem). */
function serialize(value: object): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/** One line for logs and errors: `eventType: must be 1..48 characters, got 49; clientId: is required`. */
export function describeProblems(problems: readonly ContractProblem[]): string {
  const shown = problems.slice(0, DESCRIBED_PROBLEMS).map((p) => `${p.field}: ${p.message}`);
  const hidden = problems.length - shown.length;
  return hidden > 0 ? `${shown.join('; ')}; and ${hidden} more` : shown.join('; ');
}
const DESCRIBED_PROBLEMS = 20;

function checkText(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return `must be a string of 1..${max} characters, got ${describeValue(value)}`;
  const problem = checkCharacters(value);
  if (problem) return problem;
  const length = characterCount(value);
  if (length < 1 || length > max) return `must be 1..${max} characters, got ${length}`;
  return undefined;
}

/** True for a UUID in its canonical 8-4-4-4-12 form, in either case (any version). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

function checkUuid(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be a UUID string, got ${describeValue(value)}`;
  return checkCharacters(value) ?? (isUuid(value) ? undefined : `must be a UUID (8-4-4-4-12 hexadecimal digits), got ${describeValue(value)}`);
}

function checkPoints(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) return undefined;
  return `must be an integer from ${INT32_MIN} to ${INT32_MAX}, got ${describeValue(value)}`;
}

function checkOccurredAt(value: unknown): string | undefined {
  const expected = 'must be an ISO 8601 date and time with a time zone, such as 2025-01-31T12:00:00.000Z';
  if (typeof value !== 'string') return `${expected}, got ${describeValue(value)}`;
  const match = ISO_8601.exec(value);
  if (!match) return `${expected}, got ${describeValue(value)}`;
  const part = (i: number): number => (match[i] === undefined ? 0 : Number(match[i]));
  const [year, month, day, hour, minute, second] = [part(1), part(2), part(3), part(4), part(5), part(6)];
  const [offsetHours, offsetMinutes] = [part(8), part(9)]; // 7 is the sign
  const real = year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)
    && hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 15 && offsetMinutes <= 59;
  return real ? undefined : `must be a real date and time (month 01..12, a day the month has, 00:00:00..23:59:59, offset up to ±15:59), got ${describeValue(value)}`;
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** Walks metadata, reporting each value that JSON or PostgreSQL JSONB would lose or reject. */
function walkMetadata(value: object, path: string, ancestors: object[], problems: ContractProblem[]): void {
  if (ancestors.length >= MAX_METADATA_DEPTH) {
    problems.push({ field: path, message: `must nest at most ${MAX_METADATA_DEPTH} levels deep` });
    return;
  }
  ancestors.push(value);
  const isArray = Array.isArray(value);
  const keys = isArray ? value.keys() : Object.keys(value);
  for (const key of keys) {
    const item = (value as Record<string | number, unknown>)[key];
    // The path is built only for a problem or a nested value: most keys need none.
    const itemPath = () => (isArray ? `${path}[${key}]` : fieldPath(path, key as string));
    const keyProblem = isArray ? undefined : checkCharacters(key as string);
    if (keyProblem) problems.push({ field: itemPath(), message: `key ${keyProblem}` });
    if (item === undefined && !isArray) continue; // dropped by JSON, like an absent key
    const message = checkJsonValue(item, ancestors);
    if (message) problems.push({ field: itemPath(), message });
    else if (typeof item === 'object' && item !== null) walkMetadata(item, itemPath(), ancestors, problems);
  }
  ancestors.pop();
}

function checkJsonValue(value: unknown, ancestors: object[]): string | undefined {
  switch (typeof value) {
    case 'string': return checkCharacters(value);
    case 'boolean': return undefined;
    case 'number': return Number.isFinite(value) ? undefined : `must be a finite number, got ${describeValue(value)}`;
    case 'object':
      if (value === null) return undefined;
      if (ancestors.includes(value)) return 'must not refer back to an enclosing object (circular reference)';
      if (Array.isArray(value) || isPlainObject(value)) return undefined;
  }
  return `must be a JSON value (string, finite number, boolean, null, array or plain object), got ${describeValue(value)}`;
}

/** U+0000 and unpaired surrogates cannot be stored by PostgreSQL text or JSONB. */
function checkCharacters(value: string): string | undefined {
  if (!NUL_OR_SURROGATE.test(value)) return undefined; // one scan for the common case
  if (value.includes('\u0000')) return 'must not contain U+0000 (the NUL character)';
  if (UNPAIRED_SURROGATE.test(value)) return 'must be well-formed Unicode (no unpaired surrogate)';
  return undefined;
}

/** Characters as PostgreSQL counts them for VARCHAR(n): code points, not UTF-16 units. */
function characterCount(value: string): number {
  let count = value.length;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) count--;
  }
  return count;
}

function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function fieldPath(parent: string, key: string): string {
  const name = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(truncate(key));
  if (!parent) return name;
  return name.startsWith('"') ? `${parent}[${name}]` : `${parent}.${name}`;
}

/** A short, safe rendering of what was given, for messages. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': return JSON.stringify(truncate(value));
    case 'number': case 'boolean': case 'bigint': return `${typeof value} ${String(value)}`;
    case 'undefined': return 'undefined';
    case 'function': return 'a function';
    case 'symbol': return 'a symbol';
  }
  const constructorName = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
  return constructorName && constructorName !== 'Object' ? `an instance of ${constructorName}` : 'an object';
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
