/**
 * The largest serialized event, in bytes: the events queue's maximum message size (256 KiB).
 *
 * The same number as `MAX_EVENT_BYTES` in kx-events-decorators (`packages/kx-events-decorators/src/contract.ts`),
 * which producers and the consumer check events against. `src/` is jsii code and cannot import the runtime
 * package, so the value is repeated here; `test/kx-events-pipeline.message-size.test.ts` fails if the two ever differ.
 */
export const MAX_EVENT_BYTES = 262_144;

/**
 * The dead-letter queue's maximum message size: SQS's largest (1 MiB). The consumer moves an invalid
 * event there with its reason as a message attribute, so an event at MAX_EVENT_BYTES must still fit.
 */
export const MAX_DEAD_LETTER_BYTES = 1_048_576;
