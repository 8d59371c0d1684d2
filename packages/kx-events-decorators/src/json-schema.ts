/**
 * The event contract as a JSON Schema (draft 2020-12), for producers in other languages. Built from
 * the contract's one definition (FIELDS and its limits); the build writes it to
 * `tracked-event.schema.json`, which the package exports, and a test proves that file is current.
 */
import { CHARACTERS, FIELDS, FieldSpec, INT32, ISO_8601, MAX_EVENT_BYTES, MAX_METADATA_DEPTH, UNKNOWN_FIELDS_KEY, UUID } from './contract';

const DESCRIPTION = [
  'A business event, as a producer sends it to the kx-events queue: the message body is this object as JSON.',
  `Rules that JSON Schema cannot state: the serialized event is at most ${MAX_EVENT_BYTES} bytes of UTF-8;`,
  `metadata nests at most ${MAX_METADATA_DEPTH} levels; previousEventId is never the event's own eventId;`,
  'occurredAt is a real date and time; no string holds an unpaired surrogate.',
  'Versioning: a new version of the contract may add optional fields and nothing else. A consumer stores',
  `an event with fields it does not know, keeping them in its metadata under "${UNKNOWN_FIELDS_KEY}",`,
  'so a producer may be upgraded before the consumer. A producer sends only the fields of its version.',
].join(' ');

/** The contract as a JSON Schema object. */
export function trackedEventJsonSchema(): Record<string, unknown> {
  const fields = Object.entries(FIELDS) as Array<[string, FieldSpec]>;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $comment: 'Generated from src/contract.ts of kx-events-decorators by its build: do not edit.',
    title: 'TrackedEvent',
    description: DESCRIPTION,
    type: 'object',
    required: fields.filter(([, spec]) => spec.required).map(([field]) => field),
    properties: Object.fromEntries(fields.map(([field, spec]) => [field, { description: spec.description, ...fieldSchema(spec) }])),
    additionalProperties: false,
    $defs: {
      jsonValue: {
        anyOf: [
          { type: 'string', pattern: CHARACTERS.body.pattern },
          { type: 'number' },
          { type: 'boolean' },
          { type: 'null' },
          { type: 'array', items: { $ref: '#/$defs/jsonValue' } },
          { $ref: '#/$defs/jsonObject' },
        ],
      },
      jsonObject: {
        type: 'object',
        propertyNames: { pattern: CHARACTERS.body.pattern },
        additionalProperties: { $ref: '#/$defs/jsonValue' },
      },
    },
  };
}

/** The schema as the file holds it: two-space JSON and a final newline. */
export function trackedEventJsonSchemaText(): string {
  return `${JSON.stringify(trackedEventJsonSchema(), null, 2)}\n`;
}

function fieldSchema(spec: FieldSpec): Record<string, unknown> {
  switch (spec.kind) {
    // minLength and maxLength count code points, as PostgreSQL's VARCHAR does.
    case 'text': return { type: 'string', minLength: 1, maxLength: spec.max, pattern: CHARACTERS[spec.characters].pattern };
    case 'uuid': return { type: 'string', pattern: UUID.source };
    case 'integer': return { type: 'integer', minimum: INT32.min, maximum: INT32.max };
    case 'timestamp': return { type: 'string', pattern: ISO_8601.source };
    case 'metadata': return { $ref: '#/$defs/jsonObject', not: { required: [UNKNOWN_FIELDS_KEY] } };
  }
}
