import { createHash } from 'crypto';

/** The namespace of every id {@link eventIdFrom} derives (a UUID of its own, so the ids collide with no other name-based UUIDs). */
export const EVENT_ID_NAMESPACE = '7dcbea4f-5c67-47c5-a59b-df7d26b10b81';
const NAMESPACE_BYTES = Buffer.from(EVENT_ID_NAMESPACE.replace(/-/g, ''), 'hex');

/**
 * A stable eventId: the same parts give the same UUID, every time and in every container, so a
 * retried request or a redelivered message publishes the event again under the same id, and the
 * consumer stores it once. Give what identifies the attempt's operation, not the attempt: an
 * idempotency key (scoped by the tenant, so that two tenants' keys cannot meet), an SQS messageId,
 * or the Lambda context's `awsRequestId` (kept by Lambda's own retries of an asynchronous invocation).
 *
 * The id is a name-based UUID (RFC 9562 version 5, SHA-1) in {@link EVENT_ID_NAMESPACE}, whose name
 * is the parts as a JSON array, such as `["acme","key-1"]`: other languages derive the same id
 * (Python: `uuid.uuid5(uuid.UUID(EVENT_ID_NAMESPACE), json.dumps(parts, separators=(",", ":"), ensure_ascii=False))`).
 */
export function eventIdFrom(...parts: string[]): string {
  if (parts.length === 0) throw new TypeError('eventIdFrom needs at least one part, such as an idempotency key');
  const hash = createHash('sha1').update(NAMESPACE_BYTES).update(JSON.stringify(parts), 'utf8').digest();
  hash[6] = 0x50 + (hash[6] % 0x10); // version 5, in the high 4 bits
  hash[8] = 0x80 + (hash[8] % 0x40); // RFC 9562 variant 0b10, in the high 2 bits
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
