/**
 * Where a request's clientId and previousEventId come from, in the seed's order:
 * 1. headers, case-insensitive, in `headers` and then `multiValueHeaders`;
 * 2. the JSON body (base64 when `isBase64Encoded`; a body that is not JSON is ignored);
 * 3. the authorizer context: `requestContext.authorizer.<field>`, then `.lambda.<field>`
 *    (HTTP API Lambda authorizers), then `.jwt.claims.<field>` (HTTP API JWT authorizers);
 * 4. the event itself (`event.<field>`, for workers);
 * and, for clientId only, 5. the Lambda context's client context (`context.clientContext.custom.clientId`),
 * for direct invocations that pass one.
 */
import { isUuid } from './contract';
import { writeLog } from './log';

interface FieldSources {
  readonly field: 'clientId' | 'previousEventId';
  /** The headers, most specific first: `label` names one in warnings, `lowerName` is matched. */
  readonly headers: ReadonlyArray<{ readonly label: string; readonly lowerName: string }>;
}

function fieldSources(field: FieldSources['field'], headerLabels: readonly string[]): FieldSources {
  return { field, headers: headerLabels.map((label) => ({ label, lowerName: label.toLowerCase() })) };
}

/** @internal The headers a clientId is read from, most specific first. */
export const CLIENT_ID_HEADERS: readonly string[] = ['X-Client-Id', 'Client-Id'];

const CLIENT_ID = fieldSources('clientId', CLIENT_ID_HEADERS);
const PREVIOUS_EVENT_ID = fieldSources('previousEventId', ['X-Previous-Event-Id', 'Previous-Event-Id']);

/** Where in `requestContext.authorizer` a field is read, in order: there, then `.lambda` (HTTP API Lambda authorizers), then `.jwt.claims` (HTTP API JWT authorizers). */
const AUTHORIZER_PLACES: ReadonlyArray<readonly string[]> = [[], ['lambda'], ['jwt', 'claims']];

/** The last source of a clientId, and only of a clientId. */
const CLIENT_CONTEXT_SOURCE = 'context.clientContext.custom.clientId';

/** @internal Every source a clientId is read from, in order, as the `kx-events.no-client-id` warning names them. */
export const CLIENT_ID_LOOKED_IN = `${describeSources(CLIENT_ID)}; ${CLIENT_CONTEXT_SOURCE}`;

function describeSources({ field, headers }: FieldSources): string {
  const nested = AUTHORIZER_PLACES.filter((place) => place.length > 0).map((place) => `.${place.join('.')}`);
  return [
    `headers ${headers.map(({ label }) => label).join(', ')}`,
    `body.${field}`,
    `requestContext.authorizer[${nested.join('|')}].${field}`,
    `event.${field}`,
  ].join('; ');
}

/** Where a value was found, for warnings. */
interface Found {
  readonly value: unknown;
  readonly source: string;
}

type Json = Record<string, unknown>;

/**
 * One Lambda invocation's event (and context), read on demand: the body is decoded and
 * parsed at most once, only when no header answered, and only when its text can hold the field.
 */
export class LambdaRequest {
  private body?: Json | null;
  /** The body's text, decoded, until it is parsed. */
  private bodyText?: string;

  constructor(private readonly event: unknown, private readonly context?: unknown) {}

  /** The request's clientId, or null when no source has one. */
  clientId(): string | null {
    const found = this.find(CLIENT_ID) ?? this.fromClientContext();
    return found ? textOf(found.value) : null;
  }

  /** The request's previousEventId; a value that is not a UUID is dropped with a warning. */
  previousEventId(): string | null {
    const found = this.find(PREVIOUS_EVENT_ID);
    if (!found) return null;
    const value = textOf(found.value);
    if (isUuid(value)) return value;
    writeLog('WARN', 'kx-events.previous-event-id-dropped', 'previousEventId is not a UUID: the event is tracked without it', {
      source: found.source,
      given: typeof found.value === 'string' ? found.value.slice(0, 64) : typeof found.value,
    });
    return null;
  }

  private find(sources: FieldSources): Found | undefined {
    const event = asObject(this.event);
    if (!event) return undefined;
    for (const { label, lowerName } of sources.headers) {
      const value = headerValue(event.headers, lowerName) ?? firstOf(headerValue(event.multiValueHeaders, lowerName));
      if (present(value)) return { value, source: `header ${label}` };
    }
    const field = sources.field;
    const body = this.bodyField(event, field);
    if (present(body)) return { value: body, source: `body.${field}` };
    const authorizer = asObject(asObject(event.requestContext)?.authorizer);
    if (authorizer) {
      for (const place of AUTHORIZER_PLACES) {
        const context = place.reduce<Json | undefined>((object, key) => asObject(object?.[key]), authorizer);
        if (present(context?.[field])) return { value: context![field], source: ['requestContext.authorizer', ...place, field].join('.') };
      }
    }
    return present(event[field]) ? { value: event[field], source: `event.${field}` } : undefined;
  }

  private fromClientContext(): Found | undefined {
    const clientContext = asObject(asObject(this.context)?.clientContext);
    const value = asObject(clientContext?.custom ?? clientContext?.Custom)?.clientId;
    return present(value) ? { value, source: CLIENT_CONTEXT_SOURCE } : undefined;
  }

  /**
   * `field` of the JSON body. A string body is not parsed while its text cannot hold the key: most
   * requests carry no previousEventId, and parsing a large body on every call costs more than the search.
   */
  private bodyField(event: Json, field: string): unknown {
    if (this.body === undefined) {
      const body = event.body;
      if (typeof body !== 'string') {
        this.body = asObject(body) ?? null; // already parsed, e.g. by a body-parser middleware
      } else {
        this.bodyText ??= event.isBase64Encoded === true ? Buffer.from(body, 'base64').toString('utf8') : body;
        if (!mayHoldKey(this.bodyText, field)) return undefined;
        this.body = parseJson(this.bodyText);
        this.bodyText = undefined;
      }
    }
    return this.body?.[field];
  }
}

/** The clientId of a Lambda event, or null; see {@link LambdaRequest} for the sources, in order. */
export function extractClientId(event: unknown, context?: unknown): string | null {
  return new LambdaRequest(event, context).clientId();
}

/** The previousEventId of a Lambda event, or null; a value that is not a UUID is dropped with a warning. */
export function extractPreviousEventId(event: unknown): string | null {
  return new LambdaRequest(event).previousEventId();
}

/**
 * Whether JSON `text` can have the key `field`: only when it holds the name as is, or holds a `\u`
 * escape, the one JSON escape that can spell a letter.
 */
function mayHoldKey(text: string, field: string): boolean {
  return text.includes(field) || text.includes('\\u');
}

function parseJson(text: string): Json | null {
  try {
    return asObject(JSON.parse(text)) ?? null;
  } catch {
    return null; // not JSON: ignored, as the seed promises
  }
}

function headerValue(headers: unknown, lowerName: string): unknown {
  const map = asObject(headers);
  if (!map) return undefined;
  if (map[lowerName] !== undefined) return map[lowerName]; // HTTP APIs send lower-case names
  for (const name of Object.keys(map)) {
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return map[name];
  }
  return undefined;
}

function firstOf(value: unknown): unknown {
  return Array.isArray(value) ? value.find(present) : value;
}

/** A usable identifier: a non-blank string or a finite number. */
function present(value: unknown): boolean {
  return (typeof value === 'string' && value.trim() !== '') || (typeof value === 'number' && Number.isFinite(value));
}

function textOf(value: unknown): string {
  return typeof value === 'string' ? value.trim() : String(value);
}

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Json : undefined;
}
