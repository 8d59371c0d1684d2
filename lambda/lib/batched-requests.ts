/**
 * Groups the entries of a batch API (SQS SendMessageBatch, EventBridge PutEvents) into
 * requests within its limits: at most `maxEntries` entries, and at most `maxBytes` of
 * them together, as the service counts an entry's size.
 */
export function batchedRequests<T>(entries: readonly T[], limits: { maxEntries: number; maxBytes: number; bytes: (entry: T) => number }): T[][] {
  const requests: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = limits.bytes(entry);
    if (current.length === limits.maxEntries || (current.length > 0 && bytes + size > limits.maxBytes)) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}
