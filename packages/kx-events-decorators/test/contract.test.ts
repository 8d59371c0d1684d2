import { describeProblems, MAX_EVENT_BYTES, MAX_METADATA_DEPTH, readTrackedEvent, TrackedEvent, UNKNOWN_FIELDS_KEY, validateTrackedEvent } from '../src/contract';

/** A valid event with every field set; each test changes one thing. */
function fullEvent(): TrackedEvent {
  return {
    eventId: '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b',
    clientId: 'client-1',
    previousEventId: '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d',
    userId: 'user_123',
    entityId: 'payment_456',
    entityType: 'payment',
    eventType: 'payment_completed',
    source: 'api',
    campaignId: 'spring',
    pointsAwarded: 50,
    sessionId: 'session-9',
    occurredAt: '2025-01-31T12:00:00.000Z',
    metadata: { amount: 99.99, currency: 'USD', tags: ['a', 'b'], nested: { ok: true, none: null } },
  };
}

function problemsWith(change: Record<string, unknown>): ReturnType<typeof validateTrackedEvent> {
  return validateTrackedEvent({ ...fullEvent(), ...change });
}

function fieldsOf(change: Record<string, unknown>): string[] {
  return problemsWith(change).map((p) => p.field);
}

describe('validateTrackedEvent', () => {
  test('a full event is valid', () => {
    expect(validateTrackedEvent(fullEvent())).toEqual([]);
  });

  test('a minimal event (required fields only) is valid', () => {
    const { eventId, clientId, entityType, eventType, occurredAt } = fullEvent();
    expect(validateTrackedEvent({ eventId, clientId, entityType, eventType, occurredAt })).toEqual([]);
  });

  test('optional fields set to undefined count as absent', () => {
    expect(problemsWith({ userId: undefined, metadata: undefined, pointsAwarded: undefined })).toEqual([]);
  });

  describe('the value itself', () => {
    test.each([
      ['null', null, 'null'],
      ['an array', [fullEvent()], 'an array'],
      ['a string', '{"eventId":"x"}', '"{\\"eventId\\":\\"x\\"}"'],
      ['a class instance', new (class Payment {})(), 'an instance of Payment'],
      ['undefined', undefined, 'undefined'],
    ])('rejects %s', (_name, value, got) => {
      expect(validateTrackedEvent(value)).toEqual([{ field: 'event', message: `must be a plain JSON object, got ${got}` }]);
    });

    test('accepts an object without a prototype', () => {
      expect(validateTrackedEvent(Object.assign(Object.create(null), fullEvent()))).toEqual([]);
    });
  });

  describe('required fields', () => {
    test.each(['eventId', 'clientId', 'entityType', 'eventType', 'occurredAt'])('%s is required', (field) => {
      const event: Record<string, unknown> = { ...fullEvent() };
      delete event[field];
      expect(validateTrackedEvent(event)).toEqual([{ field, message: 'is required' }]);
    });

    test('every missing field is reported at once, with its name', () => {
      expect(validateTrackedEvent({}).map((p) => p.field)).toEqual(['eventId', 'clientId', 'entityType', 'eventType', 'occurredAt']);
    });
  });

  describe('UUID fields', () => {
    test.each(['eventId', 'previousEventId'])('%s accepts a UUID in either case', (field) => {
      expect(problemsWith({ [field]: 'ABCDEF01-2345-4678-9ABC-DEF012345678' })).toEqual([]);
      expect(problemsWith({ [field]: '00000000-0000-0000-0000-000000000000' })).toEqual([]);
    });

    test.each([
      ['not-a-uuid'],
      ['6f1c2a9e3b4d4e5f8a7b9c0d1e2f3a4b'],
      ['{6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b}'],
      ['6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4g'],
      [' 6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b'],
      [''],
    ])('rejects %j', (value) => {
      for (const field of ['eventId', 'previousEventId']) {
        expect(problemsWith({ [field]: value })).toEqual([
          { field, message: `must be a UUID (8-4-4-4-12 hexadecimal digits), got ${JSON.stringify(value)}` },
        ]);
      }
    });

    test('rejects a non-string', () => {
      expect(problemsWith({ eventId: 42 })).toEqual([{ field: 'eventId', message: 'must be a UUID string, got number 42' }]);
      expect(problemsWith({ previousEventId: null })).toEqual([{ field: 'previousEventId', message: 'must be a UUID string, got null' }]);
    });
  });

  describe('text fields and their lengths', () => {
    const limits: Array<[string, number]> = [
      ['clientId', 128], ['userId', 128], ['entityId', 128], ['campaignId', 128], ['sessionId', 128],
      ['entityType', 48], ['eventType', 48], ['source', 32],
    ];

    test.each(limits)('%s accepts 1 and %i characters', (field, max) => {
      expect(problemsWith({ [field]: 'x' })).toEqual([]);
      expect(problemsWith({ [field]: 'x'.repeat(max) })).toEqual([]);
    });

    test.each(limits)('%s rejects an empty string and %i + 1 characters', (field, max) => {
      expect(problemsWith({ [field]: '' })).toEqual([{ field, message: `must be 1..${max} characters, got 0` }]);
      expect(problemsWith({ [field]: 'x'.repeat(max + 1) })).toEqual([{ field, message: `must be 1..${max} characters, got ${max + 1}` }]);
    });

    test.each(limits)('%s rejects a non-string', (field, max) => {
      expect(problemsWith({ [field]: 7 })).toEqual([{ field, message: `must be a string of 1..${max} characters, got number 7` }]);
      expect(problemsWith({ [field]: null })).toEqual([{ field, message: `must be a string of 1..${max} characters, got null` }]);
    });

    test('length counts characters (code points) as PostgreSQL VARCHAR does, not UTF-16 units', () => {
      expect(problemsWith({ eventType: '😀'.repeat(48) })).toEqual([]);
      expect(problemsWith({ eventType: '😀'.repeat(49) })).toEqual([{ field: 'eventType', message: 'must be 1..48 characters, got 49' }]);
    });
  });

  describe('pointsAwarded', () => {
    test.each([0, -1, 50, 2_147_483_647, -2_147_483_648])('accepts %d', (points) => {
      expect(problemsWith({ pointsAwarded: points })).toEqual([]);
    });

    test.each([
      [2_147_483_648, 'number 2147483648'],
      [-2_147_483_649, 'number -2147483649'],
      [1.5, 'number 1.5'],
      [Number.NaN, 'number NaN'],
      [Number.POSITIVE_INFINITY, 'number Infinity'],
      ['50', '"50"'],
      [null, 'null'],
    ])('rejects %p', (points, got) => {
      expect(problemsWith({ pointsAwarded: points })).toEqual([
        { field: 'pointsAwarded', message: `must be an integer from -2147483648 to 2147483647, got ${got}` },
      ]);
    });
  });

  describe('occurredAt', () => {
    test.each([
      '2025-01-31T12:00:00.000Z',
      '2025-01-31T12:00:00Z',
      '2025-01-31T12:00Z',
      '2025-01-31T12:00:00.123456+02:00',
      '2025-01-31T12:00:00-0530',
      '2025-01-31T12:00:00+01',
      '2024-02-29T23:59:59Z',
      '2000-02-29T00:00:00Z',
      '0001-01-01T00:00:00Z',
      '2025-12-31T00:00:00+15:59',
    ])('accepts %s', (occurredAt) => {
      expect(problemsWith({ occurredAt })).toEqual([]);
    });

    test.each([
      '2025-01-31T12:00:00', // no time zone
      '2025-01-31', // no time
      '2025-01-31 12:00:00Z', // not ISO 8601's separator
      'yesterday',
      '1738324800000',
      '2025-1-31T12:00:00Z',
    ])('rejects %s: not ISO 8601 with a time zone', (occurredAt) => {
      expect(problemsWith({ occurredAt })).toEqual([{
        field: 'occurredAt',
        message: `must be an ISO 8601 date and time with a time zone, such as 2025-01-31T12:00:00.000Z, got ${JSON.stringify(occurredAt)}`,
      }]);
    });

    test.each([
      '2025-02-29T12:00:00Z', // not a leap year
      '1900-02-29T12:00:00Z', // century, not a leap year
      '2025-04-31T12:00:00Z',
      '2025-13-01T12:00:00Z',
      '2025-00-10T12:00:00Z',
      '2025-01-00T12:00:00Z',
      '2025-01-31T24:00:00Z',
      '2025-01-31T12:60:00Z',
      '2025-01-31T12:00:60Z',
      '0000-01-01T00:00:00Z',
      '2025-01-31T12:00:00+16:00',
      '2025-01-31T12:00:00+01:60',
    ])('rejects %s: not a real date and time', (occurredAt) => {
      expect(problemsWith({ occurredAt })).toEqual([{
        field: 'occurredAt',
        message: `must be a real date and time (month 01..12, a day the month has, 00:00:00..23:59:59, offset up to ±15:59), got ${JSON.stringify(occurredAt)}`,
      }]);
    });

    test('rejects a Date object', () => {
      expect(fieldsOf({ occurredAt: new Date() })).toEqual(['occurredAt']);
    });
  });

  describe('metadata', () => {
    test('accepts nested JSON: objects, arrays, strings, finite numbers, booleans, null', () => {
      expect(problemsWith({ metadata: { a: [1, 'two', false, null, { b: [[]] }], c: {}, d: -0.5 } })).toEqual([]);
    });

    test('accepts an empty object and keys that are not identifiers', () => {
      expect(problemsWith({ metadata: {} })).toEqual([]);
      expect(problemsWith({ metadata: { 'with space': 1, '': 2 } })).toEqual([]);
    });

    test('drops an undefined property like JSON does', () => {
      expect(problemsWith({ metadata: { kept: 1, dropped: undefined } })).toEqual([]);
    });

    test.each([
      [[1, 2], 'an array'],
      [null, 'null'],
      ['{}', '"{}"'],
      [new Date(0), 'an instance of Date'],
      [new Map(), 'an instance of Map'],
    ])('rejects %p at the top', (metadata, got) => {
      expect(problemsWith({ metadata })).toEqual([{ field: 'metadata', message: `must be a plain JSON object, got ${got}` }]);
    });

    test('reports each value JSON would lose, by path', () => {
      const problems = problemsWith({
        metadata: {
          'when': new Date(0),
          'count': Number.NaN,
          'big': BigInt(1),
          'callback': () => 1,
          'list': [1, undefined, Number.POSITIVE_INFINITY],
          'odd key': { deep: Symbol('s') },
        },
      });
      expect(problems.map((p) => p.field)).toEqual([
        'metadata.when', 'metadata.count', 'metadata.big', 'metadata.callback',
        'metadata.list[1]', 'metadata.list[2]', 'metadata["odd key"].deep',
      ]);
      expect(problems[0].message).toBe('must be a JSON value (string, finite number, boolean, null, array or plain object), got an instance of Date');
      expect(problems[1].message).toBe('must be a finite number, got number NaN');
    });

    test('rejects a circular reference instead of looping', () => {
      const metadata: Record<string, unknown> = { a: 1 };
      metadata.self = metadata;
      expect(problemsWith({ metadata })).toEqual([
        { field: 'metadata.self', message: 'must not refer back to an enclosing object (circular reference)' },
      ]);
    });

    test('accepts the same object twice when it is not circular', () => {
      const shared = { x: 1 };
      expect(problemsWith({ metadata: { a: shared, b: shared } })).toEqual([]);
    });

    test(`accepts ${MAX_METADATA_DEPTH} levels of nesting, rejects deeper`, () => {
      const nest = (levels: number): Record<string, unknown> => {
        let value: Record<string, unknown> = {};
        for (let i = 1; i < levels; i++) value = { n: value };
        return value;
      };
      expect(problemsWith({ metadata: nest(MAX_METADATA_DEPTH) })).toEqual([]);
      const problems = problemsWith({ metadata: nest(MAX_METADATA_DEPTH + 1) });
      expect(problems).toEqual([{ field: `metadata${'.n'.repeat(MAX_METADATA_DEPTH)}`, message: `must nest at most ${MAX_METADATA_DEPTH} levels deep` }]);
    });
  });

  describe('characters that cannot travel', () => {
    const BODY = 'must hold only any character but U+0000, U+FFFE, U+FFFF and unpaired surrogates';
    const ATTRIBUTE = 'must hold only tab, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD, U+10000..U+10FFFF (what SQS carries in a message attribute)';

    test.each(['userId', 'entityId', 'source', 'campaignId', 'sessionId'])('rejects U+0000 in %s', (field) => {
      expect(problemsWith({ [field]: 'a\u0000b' })).toEqual([{ field, message: `${BODY}, got U+0000 (the NUL character) at index 1` }]);
    });

    test.each(['clientId', 'entityType', 'eventType'])('%s, also a message attribute, holds only what SQS carries', (field) => {
      for (const [character, name] of [['\u0000', 'the NUL character'], ['\u0001', 'a control character'], ['\u001F', 'a control character'],
        ['\uFFFE', 'a noncharacter'], ['\uFFFF', 'a noncharacter'], ['\uD83D', 'an unpaired surrogate']]) {
        const hex = character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
        expect(problemsWith({ [field]: `ab${character}` })).toEqual([{ field, message: `${ATTRIBUTE}, got U+${hex} (${name}) at index 2` }]);
      }
      expect(problemsWith({ [field]: 'tab\tnew\nline\r\uD7FF\uE000\uFFFD\u{10000}\u{10FFFF}' })).toEqual([]);
    });

    test('rejects U+FFFE and U+FFFF anywhere in the body, which JSON.stringify leaves raw', () => {
      expect(JSON.stringify({ k: '\uFFFE' })).toContain('\uFFFE');
      expect(problemsWith({ userId: 'x\uFFFF', metadata: { note: '\uFFFE', ['k\uFFFF']: 1, list: ['ok', 'a\uFFFE'] } })).toEqual([
        { field: 'userId', message: `${BODY}, got U+FFFF (a noncharacter) at index 1` },
        { field: 'metadata.note', message: `${BODY}, got U+FFFE (a noncharacter) at index 0` },
        { field: 'metadata["k\\uffff"]', message: `key ${BODY}, got U+FFFF (a noncharacter) at index 1` },
        { field: 'metadata.list[1]', message: `${BODY}, got U+FFFE (a noncharacter) at index 1` },
      ]);
    });

    test('accepts control characters in body-only strings: JSON escapes them, and they travel', () => {
      expect(problemsWith({ userId: 'a\u0001b', metadata: { note: '\u001b[0m', ['k\u0007']: 1 } })).toEqual([]);
    });

    test('rejects U+0000 in a UUID field and occurredAt', () => {
      expect(fieldsOf({ eventId: '\u0000', occurredAt: '2025-01-31T12:00:00Z\u0000' })).toEqual(['eventId', 'occurredAt']);
    });

    test('rejects U+0000 in nested metadata keys and values', () => {
      expect(problemsWith({ metadata: { 'ok': 'fine', 'bad': ['x', { deep: 'a\u0000' }], 'k\u0000': 1 } })).toEqual([
        { field: 'metadata.bad[1].deep', message: `${BODY}, got U+0000 (the NUL character) at index 1` },
        { field: 'metadata["k\\u0000"]', message: `key ${BODY}, got U+0000 (the NUL character) at index 1` },
      ]);
    });

    test('rejects an unpaired surrogate, accepts a pair', () => {
      expect(problemsWith({ userId: 'a\uD83D' })).toEqual([{ field: 'userId', message: `${BODY}, got U+D83D (an unpaired surrogate) at index 1` }]);
      expect(problemsWith({ metadata: { note: '\uDE00x' } })).toEqual([{ field: 'metadata.note', message: `${BODY}, got U+DE00 (an unpaired surrogate) at index 0` }]);
      expect(problemsWith({ userId: '\uD83D\uDE00', clientId: '\uD83D\uDE00' })).toEqual([]);
    });
  });

  describe('links', () => {
    test('rejects a self-link: previousEventId is the event\'s own eventId, in any case', () => {
      const { eventId } = fullEvent();
      for (const previousEventId of [eventId, eventId.toUpperCase()]) {
        expect(problemsWith({ previousEventId })).toEqual([
          { field: 'previousEventId', message: 'must not be the event\'s own eventId (an event cannot follow itself)' },
        ]);
      }
    });
  });

  describe('unknown fields', () => {
    test('each unknown top-level field is a problem naming it and the allowed fields', () => {
      const problems = problemsWith({ user_id: 'x', extra: 1 });
      expect(problems.map((p) => p.field)).toEqual(['user_id', 'extra']);
      expect(problems[0].message).toBe('is not a field of TrackedEvent (allowed: eventId, clientId, previousEventId, userId, '
        + 'entityId, entityType, eventType, source, campaignId, pointsAwarded, sessionId, occurredAt, metadata)');
    });

    test('unknown keys inside metadata are fine', () => {
      expect(problemsWith({ metadata: { user_id: 'x' } })).toEqual([]);
    });
  });

  describe('serialized size', () => {
    const sizeOf = (event: unknown) => Buffer.byteLength(JSON.stringify(event), 'utf8');
    const padded = (bytes: number, character: string): TrackedEvent => {
      const event = { ...fullEvent(), metadata: { pad: '' } };
      const room = bytes - sizeOf(event);
      event.metadata.pad = character.repeat(Math.floor(room / Buffer.byteLength(character)));
      return event;
    };

    test(`accepts exactly ${MAX_EVENT_BYTES} bytes`, () => {
      const event = padded(MAX_EVENT_BYTES, 'x');
      expect(sizeOf(event)).toBe(MAX_EVENT_BYTES);
      expect(validateTrackedEvent(event)).toEqual([]);
    });

    test('rejects one byte more', () => {
      const event = padded(MAX_EVENT_BYTES + 1, 'x');
      expect(validateTrackedEvent(event)).toEqual([
        { field: 'event', message: `must serialize to at most ${MAX_EVENT_BYTES} bytes of UTF-8 JSON, got ${MAX_EVENT_BYTES + 1}` },
      ]);
    });

    test('counts UTF-8 bytes, not characters', () => {
      const event = padded(MAX_EVENT_BYTES + 3, 'é'); // 2 bytes each in UTF-8
      expect(event.metadata && JSON.stringify(event).length).toBeLessThan(MAX_EVENT_BYTES);
      expect(fieldsOf(event as unknown as Record<string, unknown>)).toEqual(['event']);
    });

    test('reports the size together with other problems', () => {
      const event = { ...padded(MAX_EVENT_BYTES + 100, 'x'), eventType: '' };
      expect(validateTrackedEvent(event).map((p) => p.field)).toEqual(['eventType', 'event']);
    });
  });
});

describe('readTrackedEvent: the tolerant reading of a consumer', () => {
  test('unknown top-level fields are no problem: they are kept in metadata under kx-events.unknownFields, and named', () => {
    const reading = readTrackedEvent({ ...fullEvent(), region: 'eu-west-1', tier: { level: 2, tags: ['a'] } });
    expect(reading.problems).toEqual([]);
    expect(reading.unknownFields).toEqual(['region', 'tier']);
    expect(reading.event).toEqual({ ...fullEvent(), metadata: { ...fullEvent().metadata, [UNKNOWN_FIELDS_KEY]: { region: 'eu-west-1', tier: { level: 2, tags: ['a'] } } } });
  });

  test('an event without metadata gets one to keep them in; an event without unknown fields is read as it is', () => {
    const { metadata, ...rest } = fullEvent();
    expect(readTrackedEvent({ ...rest, region: 'eu' }).event!.metadata).toEqual({ [UNKNOWN_FIELDS_KEY]: { region: 'eu' } });
    const event = fullEvent();
    expect(readTrackedEvent(event)).toEqual({ problems: [], event, unknownFields: [] });
  });

  test('every other rule still holds, and an unknown field\'s value must be storable JSON', () => {
    const reading = readTrackedEvent({ ...fullEvent(), eventType: '', region: 'a\u0000', deep: { n: Number.NaN } });
    expect(reading.event).toBeUndefined();
    expect(reading.problems.map((p) => p.field)).toEqual(['eventType', 'region', 'deep.n']);
  });

  test('the reserved metadata key is refused, by the producer\'s and the consumer\'s reading', () => {
    const problem = { field: 'metadata["kx-events.unknownFields"]', message: 'is reserved: the consumer keeps the fields it does not know there' };
    expect(problemsWith({ metadata: { [UNKNOWN_FIELDS_KEY]: {} } })).toEqual([problem]);
    expect(readTrackedEvent({ ...fullEvent(), metadata: { [UNKNOWN_FIELDS_KEY]: {} } }).problems).toEqual([problem]);
  });

  test('the producer\'s validation stays strict: it sends only the fields of its version', () => {
    expect(fieldsOf({ region: 'eu' })).toEqual(['region']);
  });
});

describe('describeProblems', () => {
  test('one line naming each field and what is wrong', () => {
    const problems = validateTrackedEvent({ ...fullEvent(), eventType: 'x'.repeat(49), clientId: undefined });
    expect(describeProblems(problems)).toBe('clientId: is required; eventType: must be 1..48 characters, got 49');
  });

  test('empty for no problems', () => {
    expect(describeProblems([])).toBe('');
  });

  test('shows the first 20 problems and counts the rest', () => {
    const problems = Array.from({ length: 25 }, (_, i) => ({ field: `f${i}`, message: 'bad' }));
    const line = describeProblems(problems);
    expect(line.split('; ')).toHaveLength(21);
    expect(line.endsWith('f19: bad; and 5 more')).toBe(true);
    expect(line).not.toContain('\n');
  });
});
