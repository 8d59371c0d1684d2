import * as fs from 'fs';
import * as path from 'path';
import { CHARACTERS, validateTrackedEvent } from '../src/contract';
import { trackedEventJsonSchema, trackedEventJsonSchemaText } from '../src/json-schema';

const SCHEMA_FILE = path.join(__dirname, '..', 'tracked-event.schema.json');

describe('tracked-event.schema.json', () => {
  test('is current: the file is what the contract generates (the build rewrites it; commit the result)', () => {
    expect(fs.readFileSync(SCHEMA_FILE, 'utf8')).toBe(trackedEventJsonSchemaText());
  });

  test('is exported by the package', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
    expect(pkg.exports['./tracked-event.schema.json']).toBe('./tracked-event.schema.json');
    expect(pkg.exports['./contract']).toEqual({ types: './lib/contract.d.ts', default: './lib/contract.js' });
  });

  test('names every field, requires the required ones, and refuses others', () => {
    type Schema = { required: string[]; properties: Record<string, { maxLength?: number }>; additionalProperties: boolean };
    const schema = trackedEventJsonSchema() as Schema;
    expect(schema.required).toEqual(['eventId', 'clientId', 'entityType', 'eventType', 'occurredAt']);
    expect(Object.keys(schema.properties)).toEqual(['eventId', 'clientId', 'previousEventId', 'userId', 'entityId', 'entityType',
      'eventType', 'source', 'campaignId', 'pointsAwarded', 'sessionId', 'occurredAt', 'metadata']);
    expect(schema.properties.eventType.maxLength).toBe(48);
    expect(schema.additionalProperties).toBe(false);
  });

  test.each(Object.keys(CHARACTERS) as Array<keyof typeof CHARACTERS>)('its %s pattern agrees with the validator on every code point but the surrogates', (kind) => {
    const field = kind === 'attribute' ? 'clientId' : 'userId';
    const pattern = new RegExp(CHARACTERS[kind].pattern, 'u');
    const disagree: string[] = [];
    for (let code = 0; code <= 0x10ffff; code += code < 0x20000 ? 1 : 0x1001) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const value = `a${String.fromCodePoint(code)}`;
      const valid = validateTrackedEvent({
        eventId: '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b',
        clientId: 'c',
        entityType: 'e',
        eventType: 't',
        occurredAt: '2025-01-31T12:00:00Z',
        [field]: value,
      }).length === 0;
      if (pattern.test(value) !== valid) disagree.push(code.toString(16));
    }
    expect(disagree).toEqual([]);
  });
});
