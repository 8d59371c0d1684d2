/**
 * The log writer, at `kx-events-decorators/log`, shared by this package and the kx-events Lambda
 * handlers: one JSON object a line on stdout, with stable keys (`timestamp`, `level`, then the
 * record's own keys). Written to the stream directly, not through `console`, so the Lambda runtime
 * adds no prefix and a log query can parse every line.
 */

export type LogLevel = 'INFO' | 'WARN' | 'ERROR';

/** The markers this package logs under. `kx-events.unpublished` carries the whole event, for recovery. */
export type LogMarker =
  | 'kx-events.unpublished'
  | 'kx-events.no-client-id'
  | 'kx-events.previous-event-id-dropped'
  | 'kx-events.no-queue-url'
  | 'kx-events.invalid-setting'
  | 'kx-events.tracking-failed';

/**
 * One of this package's records: `timestamp`, `level`, `marker`, `message`, then its data. A value
 * JSON cannot write (a BigInt, a cycle, in an invalid event) is written leniently instead of throwing;
 * when even that fails (a getter that throws), the line keeps the plain values and says why the rest is missing.
 */
export function writeLog(level: 'WARN' | 'ERROR', marker: LogMarker, message: string, data: Record<string, unknown> = {}): void {
  const record = { marker, message, ...data };
  try {
    writeRecord(level, record);
  } catch {
    try {
      writeRecord(level, record, lenientValue());
    } catch (err) {
      const plain = Object.entries(record).filter(([, value]) => typeof value !== 'object' && typeof value !== 'bigint');
      writeRecord(level, { ...Object.fromEntries(plain), unserializable: describeError(err) });
    }
  }
}

/** Writes one line: `timestamp`, `level`, then `record`. Throws, writing nothing, when JSON cannot write a value. */
export function writeRecord(level: LogLevel, record: Record<string, unknown>, replacer?: (key: string, value: unknown) => unknown): void {
  process.stdout.write(`${JSON.stringify({ timestamp: new Date().toISOString(), level, ...record }, replacer)}\n`);
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

/**
 * An error as a log value: its name, its code and data when it has them, and its message (unless
 * `withMessage` is false: a database error's message can quote the row), never its stack.
 * Absent ones are undefined, which JSON leaves out. Any object with these fields is read, not only an
 * `Error` of this realm: a socket's error can come from another one (a VM context, such as Jest's).
 */
export function describeError(err: unknown, withMessage = true): Record<string, unknown> {
  const e: { name?: string; code?: unknown; message?: string; data?: unknown } = typeof err === 'object' && err !== null ? err : {};
  return { name: e.name ?? typeof err, code: e.code, ...(withMessage ? { message: e.message ?? String(err) } : {}), data: e.data };
}
