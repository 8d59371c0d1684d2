import { LogRecorder, recordLogs } from './log-records';
import { extractClientId, extractPreviousEventId } from '../src/extraction';
import { createTrackedEvent } from '../src/tracked-event';

const UUID_A = '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b';
const UUID_B = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';
const UUID_C = 'c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f';
const UUID_D = 'd4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a';

let logs: LogRecorder;
beforeEach(() => { logs = recordLogs(); });
afterEach(() => logs.restore());

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('extractClientId', () => {
  describe('headers', () => {
    test.each(['X-Client-Id', 'x-client-id', 'X-CLIENT-ID', 'Client-Id', 'client-id', 'cLiEnT-iD'])('%s, in any case', (name) => {
      expect(extractClientId({ headers: { [name]: 'acme' } })).toBe('acme');
    });

    test('X-Client-Id wins over Client-Id', () => {
      expect(extractClientId({ headers: { 'Client-Id': 'second', 'x-client-id': 'first' } })).toBe('first');
    });

    test('multiValueHeaders, in any case, first non-blank value', () => {
      expect(extractClientId({ multiValueHeaders: { 'X-Client-ID': ['acme', 'other'] } })).toBe('acme');
      expect(extractClientId({ multiValueHeaders: { 'client-id': ['', 'acme'] } })).toBe('acme');
    });

    test('headers are read before multiValueHeaders for the same name', () => {
      expect(extractClientId({ headers: { 'X-Client-Id': 'single' }, multiValueHeaders: { 'X-Client-Id': ['multi'] } })).toBe('single');
    });

    test('a header wins over the body, the authorizer and the event', () => {
      const event = {
        headers: { 'X-Client-Id': 'header' },
        body: JSON.stringify({ clientId: 'body' }),
        requestContext: { authorizer: { clientId: 'authorizer' } },
        clientId: 'event',
      };
      expect(extractClientId(event)).toBe('header');
    });

    test('null headers (API Gateway sends them for no headers) are skipped', () => {
      expect(extractClientId({ headers: null, multiValueHeaders: null, clientId: 'event' })).toBe('event');
    });

    test('surrounding whitespace is trimmed; a blank header is skipped', () => {
      expect(extractClientId({ headers: { 'X-Client-Id': '  acme ' } })).toBe('acme');
      expect(extractClientId({ headers: { 'X-Client-Id': '   ', 'Client-Id': 'next' } })).toBe('next');
    });
  });

  describe('body', () => {
    test('JSON body.clientId', () => {
      expect(extractClientId({ headers: {}, body: JSON.stringify({ clientId: 'acme' }) })).toBe('acme');
    });

    test('a base64 JSON body, when isBase64Encoded', () => {
      expect(extractClientId({ body: base64(JSON.stringify({ clientId: 'acmé' })), isBase64Encoded: true })).toBe('acmé');
    });

    test('base64 text is not decoded unless isBase64Encoded is true', () => {
      expect(extractClientId({ body: base64(JSON.stringify({ clientId: 'acme' })), isBase64Encoded: false })).toBeNull();
    });

    test.each([
      ['plain text', 'clientId=acme'],
      ['broken JSON', '{"clientId": "acme"'],
      ['a JSON array', '[{"clientId":"acme"}]'],
      ['a JSON string', '"acme"'],
      ['empty', ''],
    ])('a body that is %s is ignored, not thrown on', (_name, body) => {
      expect(extractClientId({ body, clientId: 'event' })).toBe('event');
    });

    test('invalid base64 JSON is ignored', () => {
      expect(extractClientId({ body: '!!!not base64', isBase64Encoded: true, clientId: 'event' })).toBe('event');
    });

    test('a body that a middleware already parsed into an object', () => {
      expect(extractClientId({ body: { clientId: 'acme' } })).toBe('acme');
    });

    test('a numeric clientId becomes its string', () => {
      expect(extractClientId({ body: JSON.stringify({ clientId: 42 }) })).toBe('42');
    });

    test('the body wins over the authorizer and the event', () => {
      expect(extractClientId({ body: '{"clientId":"body"}', requestContext: { authorizer: { clientId: 'authorizer' } }, clientId: 'event' })).toBe('body');
    });
  });

  describe('authorizer context', () => {
    test('requestContext.authorizer.clientId (REST API authorizers)', () => {
      expect(extractClientId({ requestContext: { authorizer: { clientId: 'acme' } } })).toBe('acme');
    });

    test('requestContext.authorizer.lambda.clientId (HTTP API Lambda authorizers)', () => {
      expect(extractClientId({ requestContext: { authorizer: { lambda: { clientId: 'acme' } } } })).toBe('acme');
    });

    test('requestContext.authorizer.jwt.claims.clientId (HTTP API JWT authorizers)', () => {
      expect(extractClientId({ requestContext: { authorizer: { jwt: { claims: { clientId: 'acme' }, scopes: [] } } } })).toBe('acme');
    });

    test('in that order', () => {
      const authorizer = { clientId: 'plain', lambda: { clientId: 'lambda' }, jwt: { claims: { clientId: 'jwt' } } };
      expect(extractClientId({ requestContext: { authorizer } })).toBe('plain');
      expect(extractClientId({ requestContext: { authorizer: { ...authorizer, clientId: undefined } } })).toBe('lambda');
      expect(extractClientId({ requestContext: { authorizer: { jwt: authorizer.jwt } } })).toBe('jwt');
    });

    test('the authorizer wins over event.clientId', () => {
      expect(extractClientId({ requestContext: { authorizer: { clientId: 'authorizer' } }, clientId: 'event' })).toBe('authorizer');
    });
  });

  describe('event and context', () => {
    test('event.clientId (worker Lambdas)', () => {
      expect(extractClientId({ clientId: 'acme', jobId: 'j1' })).toBe('acme');
    });

    test("the Lambda context's client context, last", () => {
      const context = { clientContext: { custom: { clientId: 'mobile' } } };
      expect(extractClientId({}, context)).toBe('mobile');
      expect(extractClientId({ clientId: 'event' }, context)).toBe('event');
    });

    test.each([
      ['no source', {}],
      ['a blank clientId', { clientId: '  ' }],
      ['a non-string clientId', { clientId: { id: 1 } }],
      ['a boolean clientId', { clientId: true }],
      ['null', null],
      ['a string event', 'acme'],
      ['undefined', undefined],
    ])('null for %s', (_name, event) => {
      expect(extractClientId(event)).toBeNull();
    });
  });
});

describe('extractPreviousEventId', () => {
  test.each(['X-Previous-Event-Id', 'x-previous-event-id', 'Previous-Event-Id', 'PREVIOUS-EVENT-ID'])('header %s', (name) => {
    expect(extractPreviousEventId({ headers: { [name]: UUID_A } })).toBe(UUID_A);
  });

  test('X-Previous-Event-Id wins over Previous-Event-Id', () => {
    expect(extractPreviousEventId({ headers: { 'Previous-Event-Id': UUID_B, 'X-Previous-Event-Id': UUID_A } })).toBe(UUID_A);
  });

  test('multiValueHeaders', () => {
    expect(extractPreviousEventId({ multiValueHeaders: { 'x-previous-event-id': [UUID_A] } })).toBe(UUID_A);
  });

  test('JSON body, plain and base64', () => {
    expect(extractPreviousEventId({ body: JSON.stringify({ previousEventId: UUID_A }) })).toBe(UUID_A);
    expect(extractPreviousEventId({ body: base64(JSON.stringify({ previousEventId: UUID_A })), isBase64Encoded: true })).toBe(UUID_A);
  });

  test('authorizer context, in the same order as clientId', () => {
    expect(extractPreviousEventId({ requestContext: { authorizer: { previousEventId: UUID_A } } })).toBe(UUID_A);
    expect(extractPreviousEventId({ requestContext: { authorizer: { lambda: { previousEventId: UUID_A } } } })).toBe(UUID_A);
    expect(extractPreviousEventId({ requestContext: { authorizer: { jwt: { claims: { previousEventId: UUID_A } } } } })).toBe(UUID_A);
  });

  test('event.previousEventId', () => {
    expect(extractPreviousEventId({ previousEventId: UUID_A })).toBe(UUID_A);
  });

  test('the order: header, body, authorizer, event', () => {
    const event = {
      headers: { 'X-Previous-Event-Id': UUID_A },
      body: JSON.stringify({ previousEventId: UUID_B }),
      requestContext: { authorizer: { previousEventId: UUID_C } },
      previousEventId: UUID_D,
    };
    expect(extractPreviousEventId(event)).toBe(UUID_A);
    const { headers: _header, ...fromBody } = event;
    expect(extractPreviousEventId(fromBody)).toBe(UUID_B);
    const { body: _body, ...fromAuthorizer } = fromBody;
    expect(extractPreviousEventId(fromAuthorizer)).toBe(UUID_C);
    const { requestContext: _authorizer, ...fromEvent } = fromAuthorizer;
    expect(extractPreviousEventId(fromEvent)).toBe(UUID_D);
  });

  test('a body key spelled with \\u escapes is read', () => {
    expect(extractPreviousEventId({ body: `{"previous\\u0045ventId":"${UUID_A}"}` })).toBe(UUID_A);
    expect(extractClientId({ body: '{"client\\u0049d":"acme"}' })).toBe('acme');
  });

  test('the body is parsed once, and not at all when its text cannot hold the key', () => {
    const parse = jest.spyOn(JSON, 'parse'); // observed: the real parse runs
    try {
      const body = JSON.stringify({ name: 'Ada', items: ['a', 'b'] });
      expect(createTrackedEvent('user', 'user_created', { headers: { 'X-Client-Id': 'acme' }, body })).toMatchObject({ clientId: 'acme' });
      expect(parse).not.toHaveBeenCalled();
      const withBoth = JSON.stringify({ clientId: 'acme', previousEventId: UUID_A });
      expect(createTrackedEvent('user', 'user_created', { body: withBoth })).toMatchObject({ clientId: 'acme', previousEventId: UUID_A });
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  test('null, without a warning, when absent', () => {
    expect(extractPreviousEventId({ headers: {}, body: 'not json' })).toBeNull();
    expect(logs.records()).toEqual([]);
  });

  test('a value that is not a UUID is dropped, with one warning naming its source', () => {
    expect(extractPreviousEventId({ headers: { 'X-Previous-Event-Id': 'evt-123' }, previousEventId: UUID_A })).toBeNull();
    expect(logs.records()).toEqual([expect.objectContaining({
      level: 'WARN',
      marker: 'kx-events.previous-event-id-dropped',
      source: 'header X-Previous-Event-Id',
      given: 'evt-123',
    })]);
  });

  test('the warning names each authorizer place by its path', () => {
    const places: Array<[Record<string, unknown>, string]> = [
      [{ previousEventId: 'evt-1' }, 'requestContext.authorizer.previousEventId'],
      [{ lambda: { previousEventId: 'evt-1' } }, 'requestContext.authorizer.lambda.previousEventId'],
      [{ jwt: { claims: { previousEventId: 'evt-1' } } }, 'requestContext.authorizer.jwt.claims.previousEventId'],
    ];
    for (const [authorizer] of places) expect(extractPreviousEventId({ requestContext: { authorizer } })).toBeNull();
    expect(logs.records('kx-events.previous-event-id-dropped').map((r) => r.source)).toEqual(places.map(([, source]) => source));
  });

  test('a number is not a UUID either', () => {
    expect(extractPreviousEventId({ previousEventId: 12 })).toBeNull();
    expect(logs.records('kx-events.previous-event-id-dropped')).toEqual([expect.objectContaining({ source: 'event.previousEventId', given: 'number' })]);
  });
});
