/**
 * Where a request's clientId and previousEventId come from. By default (`clientIdFrom: 'request'`), in order:
 * 1. headers, case-insensitive, in `headers` and then `multiValueHeaders`;
 * 2. the JSON body (base64 when `isBase64Encoded`; a body that is not JSON is ignored);
 * 3. the authorizer context: `requestContext.authorizer.<field>`, then `.lambda.<field>`
 *    (HTTP API Lambda authorizers), then `.jwt.claims.<field>` (HTTP API JWT authorizers);
 * 4. the event itself (`event.<field>`, for workers);
 * and, for clientId only, 5. the Lambda context's client context (`context.clientContext.custom.clientId`),
 * for direct invocations that pass one.
 * `'authorizer-first'` reads the authorizer context first; `'trusted-only'` never reads what the caller
 * sends (headers and body), only the authorizer context, the event and the client context.
 */
import { isUuid } from './contract';
import { writeLog } from './log';

/**
 * Which sources of a clientId (and previousEventId) are trusted, and in what order:
 * - `'request'`: headers, body, authorizer context, event, client context (the documented order);
 * - `'authorizer-first'`: the authorizer context's value wins whenever the request has one, then that order;
 * - `'trusted-only'`: the authorizer context, the event, the client context; headers and body are ignored.
 * Behind an authorizer, the default lets a caller choose the clientId (and the event it links to) by header or body.
 */
export type ClientIdFrom = 'request' | 'authorizer-first' | 'trusted-only';

/** What extraction reads: {@link ClientIdFrom}. */
export interface ExtractionOptions {
  /**
   * Which sources are trusted for clientId and previousEventId, and in what order.
   * @default - the `EVENTS_CLIENT_ID_FROM` environment variable, else 'request'
   */
  readonly clientIdFrom?: ClientIdFrom;
}

type Source = 'headers' | 'body' | 'authorizer' | 'event';

/** The sources of each mode, in order. */
const ORDERS: { readonly [K in ClientIdFrom]: readonly Source[] } = {
  'request': ['headers', 'body', 'authorizer', 'event'],
  'authorizer-first': ['authorizer', 'headers', 'body', 'event'],
  'trusted-only': ['authorizer', 'event'],
};
const MODES = Object.keys(ORDERS) as ClientIdFrom[];
const warnedModes = new Set<string>();

/**
 * The mode: `clientIdFrom`, else EVENTS_CLIENT_ID_FROM, else 'request'. An invalid setting is warned
 * about once and read as the strictest mode, 'trusted-only': a typo must not open what it meant to close.
 * @internal
 */
export function clientIdFrom(options: ExtractionOptions = {}): ClientIdFrom {
  const [setting, given] = options.clientIdFrom !== undefined
    ? ['clientIdFrom', options.clientIdFrom]
    : ['EVENTS_CLIENT_ID_FROM', process.env.EVENTS_CLIENT_ID_FROM];
  if (given === undefined || given === '') return 'request';
  if ((MODES as string[]).includes(given)) return given as ClientIdFrom;
  if (!warnedModes.has(`${setting}=${given}`)) {
    warnedModes.add(`${setting}=${given}`);
    writeLog('WARN', 'kx-events.invalid-setting', `${setting} must be one of ${MODES.join(', ')}: using trusted-only, the strictest`, { setting, given });
  }
  return 'trusted-only';
}

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

/** @internal Every source a clientId is read from in `mode`, in order, as the `kx-events.no-client-id` warning names them. */
export function clientIdLookedIn(mode: ClientIdFrom): string {
  return `${describeSources(CLIENT_ID, mode)}; ${CLIENT_CONTEXT_SOURCE}`;
}

function describeSources({ field, headers }: FieldSources, mode: ClientIdFrom): string {
  const nested = AUTHORIZER_PLACES.filter((place) => place.length > 0).map((place) => `.${place.join('.')}`);
  const names: { readonly [S in Source]: string } = {
    headers: `headers ${headers.map(({ label }) => label).join(', ')}`,
    body: `body.${field}`,
    authorizer: `requestContext.authorizer[${nested.join('|')}].${field}`,
    event: `event.${field}`,
  };
  return ORDERS[mode].map((source) => names[source]).join('; ');
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

  private readonly sources: readonly Source[];

  constructor(private readonly event: unknown, private readonly context?: unknown, readonly mode: ClientIdFrom = 'request') {
    this.sources = ORDERS[mode];
  }

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
    for (const source of this.sources) {
      const found = this.findIn(source, event, sources);
      if (found) return found;
    }
    return undefined;
  }

  private findIn(source: Source, event: Json, { field, headers }: FieldSources): Found | undefined {
    switch (source) {
      case 'headers':
        for (const { label, lowerName } of headers) {
          const value = headerValue(event.headers, lowerName) ?? firstOf(headerValue(event.multiValueHeaders, lowerName));
          if (present(value)) return { value, source: `header ${label}` };
        }
        return undefined;
      case 'body': {
        const value = this.bodyField(event, field);
        return present(value) ? { value, source: `body.${field}` } : undefined;
      }
      case 'authorizer': {
        const authorizer = asObject(asObject(event.requestContext)?.authorizer);
        for (const place of authorizer ? AUTHORIZER_PLACES : []) {
          const context = place.reduce<Json | undefined>((object, key) => asObject(object?.[key]), authorizer);
          if (present(context?.[field])) return { value: context![field], source: ['requestContext.authorizer', ...place, field].join('.') };
        }
        return undefined;
      }
      case 'event':
        return present(event[field]) ? { value: event[field], source: `event.${field}` } : undefined;
    }
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

/** The clientId of a Lambda event, or null; see {@link ClientIdFrom} for the sources, in order. */
export function extractClientId(event: unknown, context?: unknown, options?: ExtractionOptions): string | null {
  return new LambdaRequest(event, context, clientIdFrom(options)).clientId();
}

/** The previousEventId of a Lambda event, or null; a value that is not a UUID is dropped with a warning. The sources follow {@link ClientIdFrom}. */
export function extractPreviousEventId(event: unknown, options?: ExtractionOptions): string | null {
  return new LambdaRequest(event, undefined, clientIdFrom(options)).previousEventId();
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
    return null; // not JSON: ignored, as documented
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
