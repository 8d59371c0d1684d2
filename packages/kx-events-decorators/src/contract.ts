/**
 * The event contract, at `kx-events-decorators/contract`: the one definition of a tracked event,
 * shared by the producer (this package) and the consumer Lambda, which imports it by that name.
 * The JSON Schema that the package ships (`tracked-event.schema.json`) is generated from it.
 *
 * Pure by design: no SDK imports and no Node-only APIs beyond Buffer, so it bundles anywhere.
 * Every limit follows the column that stores the field (see the `events` table), and every string
 * must be one that SQS carries.
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
/** @internal */
export const INT32 = { min: INT32_MIN, max: INT32_MAX } as const;
/** @internal */
export const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** @internal */
export const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|([+-])(\d{2})(?::?(\d{2}))?)$/;

/**
 * What a string may hold. Every string travels in the message body, as JSON, which escapes the
 * control characters but leaves U+FFFE and U+FFFF raw, which SQS refuses; PostgreSQL refuses U+0000
 * and unpaired surrogates. The fields that are also message attributes travel raw, so they are held
 * to SQS's set: tab, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD, U+10000..U+10FFFF.
 * @internal
 */
export const CHARACTERS = {
  body: {
    refused: /[\u0000\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/,
    allowed: 'any character but U+0000, U+FFFE, U+FFFF and unpaired surrogates',
    /** The JSON Schema's pattern: the same set, but for unpaired surrogates, which a pattern cannot state in every language. */
    pattern: '^[^\\u0000\\uFFFE\\uFFFF]*$',
  },
  attribute: {
    refused: /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u,
    allowed: 'tab, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD, U+10000..U+10FFFF (what SQS carries in a message attribute)',
    pattern: '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\uFFFE\\uFFFF]*$',
  },
} as const;
type Characters = keyof typeof CHARACTERS;
const MAY_BE_REFUSED_IN_BODY = /[\u0000\uD800-\uDFFF\uFFFE\uFFFF]/;

/** One field's kind, with its limits: the validator and the JSON Schema are both built from these. @internal */
export type FieldSpec = { readonly required: boolean; readonly description: string } & (
  | { readonly kind: 'text'; readonly max: number; readonly characters: Characters }
  | { readonly kind: 'uuid' }
  | { readonly kind: 'integer' }
  | { readonly kind: 'timestamp' }
  | { readonly kind: 'metadata' }
);

const text = (max: number, required: boolean, description: string, characters: Characters = 'body'): FieldSpec =>
  ({ kind: 'text', max, characters, required, description });

/** Every field of the contract, in the order the `events` table has them. Anything else is unknown. @internal */
export const FIELDS: { readonly [K in keyof Required<TrackedEvent>]: FieldSpec } = {
  eventId: { kind: 'uuid', required: true, description: 'The event\'s id, unique: the key that stores it once.' },
  clientId: text(128, true, 'The client (tenant) the event belongs to. Also a message attribute.', 'attribute'),
  previousEventId: { kind: 'uuid', required: false, description: 'The event this one follows; never the event\'s own eventId.' },
  userId: text(128, false, 'The user who acted.'),
  entityId: text(128, false, 'The entity the event is about.'),
  entityType: text(48, true, 'The kind of entity, such as "user". Also a message attribute.', 'attribute'),
  eventType: text(48, true, 'What happened, such as "user_created". Also a message attribute.', 'attribute'),
  source: text(32, false, 'Where the event comes from, such as "api".'),
  campaignId: text(128, false, 'The campaign the event belongs to.'),
  pointsAwarded: { kind: 'integer', required: false, description: 'Points, an integer within PostgreSQL INTEGER.' },
  sessionId: text(128, false, 'The session the event happened in.'),
  occurredAt: { kind: 'timestamp', required: true, description: 'When it happened: ISO 8601 date and time with a time zone.' },
  metadata: { kind: 'metadata', required: false, description: `A plain JSON object, nesting at most ${MAX_METADATA_DEPTH} levels.` },
};
const FIELD_ENTRIES = Object.entries(FIELDS) as Array<[string, FieldSpec]>;
const FIELD_NAMES = Object.keys(FIELDS);

/**
 * The metadata key under which the consumer keeps the fields it does not know (see {@link readTrackedEvent}).
 * Reserved: an event's own metadata may not use it.
 */
export const UNKNOWN_FIELDS_KEY = 'kx-events.unknownFields';

/**
 * Every problem with `value` as a TrackedEvent, as a producer must send it; an empty array means it
 * is valid. Checks each field's type and limit, the characters of every string, a self-link,
 * unknown fields, and the serialized size against {@link MAX_EVENT_BYTES}.
 */
export function validateTrackedEvent(value: unknown): ContractProblem[] {
  return inspectTrackedEvent(value).problems;
}

/** What {@link readTrackedEvent} read. */
export interface TrackedEventReading {
  /** Every problem; when there is one, `event` is absent. */
  readonly problems: ContractProblem[];
  /** The event to store: the fields of this contract, with the unknown ones kept in its metadata under {@link UNKNOWN_FIELDS_KEY}. */
  readonly event?: TrackedEvent;
  /** The top-level fields this version of the contract does not know, in the order they came. */
  readonly unknownFields: string[];
}

/**
 * The tolerant reading, for a consumer: a field this version of the contract does not know (one that
 * a newer producer sends) is no problem. It is kept, in the event's metadata under
 * {@link UNKNOWN_FIELDS_KEY}, and named in `unknownFields`. Every other rule is the producer's.
 */
export function readTrackedEvent(value: unknown): TrackedEventReading {
  const unknown: Record<string, unknown> = {};
  const { problems } = inspectTrackedEvent(value, unknown);
  const unknownFields = Object.keys(unknown);
  if (problems.length > 0) return { problems, unknownFields };
  if (unknownFields.length === 0) return { problems, event: value as TrackedEvent, unknownFields };
  const record = value as Record<string, unknown>;
  const event: Record<string, unknown> = {};
  for (const field of FIELD_NAMES) if (record[field] !== undefined) event[field] = record[field];
  event.metadata = { ...(event.metadata as object | undefined), [UNKNOWN_FIELDS_KEY]: unknown };
  return { problems, event: event as unknown as TrackedEvent, unknownFields };
}

/**
 * Validates and serializes in one pass: the producer sends `body` (the JSON it measured, `bodyBytes`
 * long in UTF-8), so an event is stringified and measured once. `body` and `bodyBytes` are present
 * only when there are no problems. With `unknown`, the tolerant reading: each unknown field is
 * checked as a JSON value and collected there, instead of being a problem.
 * @internal
 */
export function inspectTrackedEvent(
  value: unknown,
  unknown?: Record<string, unknown>,
): { problems: ContractProblem[]; body?: string; bodyBytes?: number } {
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
    if (spec.kind === 'metadata') {
      checkMetadata(fieldValue, problems);
      continue;
    }
    const message = checkField(spec, fieldValue);
    if (message) problems.push({ field, message });
  }
  if (record.previousEventId !== undefined && typeof record.eventId === 'string'
    && typeof record.previousEventId === 'string' && record.previousEventId.toLowerCase() === record.eventId.toLowerCase()) {
    problems.push({ field: 'previousEventId', message: 'must not be the event\'s own eventId (an event cannot follow itself)' });
  }
  for (const key of Object.keys(record)) {
    if (Object.prototype.hasOwnProperty.call(FIELDS, key)) continue;
    if (!unknown) {
      problems.push({ field: fieldPath('', key), message: `is not a field of TrackedEvent (allowed: ${FIELD_NAMES.join(', ')})` });
      continue;
    }
    const item = record[key];
    if (item === undefined) continue; // dropped by JSON, like an absent field
    const path = fieldPath('', key);
    const keyProblem = checkCharacters(key, 'body');
    if (keyProblem) problems.push({ field: path, message: `name ${keyProblem}` });
    const message = checkJsonValue(item, []);
    if (message) problems.push({ field: path, message });
    else if (typeof item === 'object' && item !== null) walkMetadata(item, path, [], problems);
    unknown[key] = item;
  }
  const body = serialize(value);
  const bodyBytes = body === undefined ? undefined : Buffer.byteLength(body, 'utf8');
  if (bodyBytes !== undefined && bodyBytes > MAX_EVENT_BYTES) {
    problems.push({ field: 'event', message: `must serialize to at most ${MAX_EVENT_BYTES} bytes of UTF-8 JSON, got ${bodyBytes}` });
  }
  return problems.length > 0 ? { problems } : { problems, body, bodyBytes };
}

function checkField(spec: FieldSpec, value: unknown): string | undefined {
  switch (spec.kind) {
    case 'text': return checkText(value, spec.max, spec.characters);
    case 'uuid': return checkUuid(value);
    case 'integer': return checkPoints(value);
    case 'timestamp': return checkOccurredAt(value);
    case 'metadata': return undefined; // checkMetadata, which reports paths
  }
}

function checkMetadata(value: unknown, problems: ContractProblem[]): void {
  if (!isPlainObject(value)) {
    problems.push({ field: 'metadata', message: `must be a plain JSON object, got ${describeValue(value)}` });
    return;
  }
  if (Object.prototype.hasOwnProperty.call(value, UNKNOWN_FIELDS_KEY)) {
    problems.push({ field: fieldPath('metadata', UNKNOWN_FIELDS_KEY), message: 'is reserved: the consumer keeps the fields it does not know there' });
  }
  walkMetadata(value, 'metadata', [], problems);
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

function checkText(value: unknown, max: number, characters: Characters): string | undefined {
  if (typeof value !== 'string') return `must be a string of 1..${max} characters, got ${describeValue(value)}`;
  const problem = checkCharacters(value, characters);
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
  return checkCharacters(value, 'body') ?? (isUuid(value) ? undefined : `must be a UUID (8-4-4-4-12 hexadecimal digits), got ${describeValue(value)}`);
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
    const keyProblem = isArray ? undefined : checkCharacters(key as string, 'body');
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
    case 'string': return checkCharacters(value, 'body');
    case 'boolean': return undefined;
    case 'number': return Number.isFinite(value) ? undefined : `must be a finite number, got ${describeValue(value)}`;
    case 'object':
      if (value === null) return undefined;
      if (ancestors.includes(value)) return 'must not refer back to an enclosing object (circular reference)';
      if (Array.isArray(value) || isPlainObject(value)) return undefined;
  }
  return `must be a JSON value (string, finite number, boolean, null, array or plain object), got ${describeValue(value)}`;
}

/** The first character of `value` that cannot travel (see {@link CHARACTERS}), named with its position. */
function checkCharacters(value: string, characters: Characters): string | undefined {
  if (characters === 'body' && !MAY_BE_REFUSED_IN_BODY.test(value)) return undefined; // one scan for the common case
  const { refused, allowed } = CHARACTERS[characters];
  const match = refused.exec(value);
  if (!match) return undefined;
  const code = match[0].codePointAt(0)!;
  const name = code >= 0xd800 && code <= 0xdfff ? 'an unpaired surrogate' : code === 0 ? 'the NUL character' : code >= 0xfffe ? 'a noncharacter' : 'a control character';
  const hex = code.toString(16).toUpperCase().padStart(4, '0');
  return `must hold only ${allowed}, got U+${hex} (${name}) at index ${match.index}`;
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
  const name = /^[A-Za-z_$][\w$]*$/.test(key) ? key : quote(key);
  if (!parent) return name;
  return name.startsWith('"') ? `${parent}[${name}]` : `${parent}.${name}`;
}

/** A short, safe rendering of what was given, for messages. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': return quote(value);
    case 'number': case 'boolean': case 'bigint': return `${typeof value} ${String(value)}`;
    case 'undefined': return 'undefined';
    case 'function': return 'a function';
    case 'symbol': return 'a symbol';
  }
  const constructorName = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
  return constructorName && constructorName !== 'Object' ? `an instance of ${constructorName}` : 'an object';
}

/**
 * A string as a JSON literal, cut to 40 characters, that SQS carries even in a message attribute:
 * JSON escapes control characters and unpaired surrogates, and this escapes U+FFFE and U+FFFF too.
 */
function quote(value: string): string {
  return JSON.stringify(truncate(value)).replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
