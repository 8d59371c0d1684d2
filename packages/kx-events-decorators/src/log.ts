/**
 * The package's log records: one JSON object a line on stdout, with stable keys
 * (`timestamp`, `level`, `marker`, `message`, then the record's own data). Written to the stream
 * directly, not through `console`, so the Lambda runtime adds no prefix and a log query can
 * parse every line.
 */

/** The markers this package logs under. `kx-events.unpublished` carries the whole event, for recovery. */
export type LogMarker =
  | 'kx-events.unpublished'
  | 'kx-events.no-client-id'
  | 'kx-events.previous-event-id-dropped'
  | 'kx-events.no-queue-url'
  | 'kx-events.invalid-setting'
  | 'kx-events.tracking-failed';

export function writeLog(level: 'WARN' | 'ERROR', marker: LogMarker, message: string, data: Record<string, unknown> = {}): void {
  const head = { timestamp: new Date().toISOString(), level, marker, message };
  const record = { ...head, ...data };
  let line: string;
  try {
    line = JSON.stringify(record);
  } catch {
    try {
      line = JSON.stringify(record, lenientValue()); // a BigInt or a cycle in an invalid event: keep the rest
    } catch (err) {
      // A getter that throws: keep the line, its plain values, and why the rest is missing.
      const plain = Object.entries(data).filter(([, value]) => typeof value !== 'object' && typeof value !== 'bigint');
      line = JSON.stringify({ ...head, ...Object.fromEntries(plain), unserializable: describeError(err) });
    }
  }
  process.stdout.write(`${line}\n`);
}

/** A JSON replacer that writes BigInts as strings and a repeated object as "[circular]", instead of throwing. */
function lenientValue(): (key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return (_key, value) => {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return '[circular]';
      seen.add(value);
    }
    return value;
  };
}

/** An error as a log value: its name, message and data, never its stack. */
export function describeError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const data = (err as { data?: unknown }).data;
    return { name: err.name, message: err.message, ...(data === undefined ? {} : { data }) };
  }
  return { name: typeof err, message: String(err) };
}
