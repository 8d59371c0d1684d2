/**
 * Reads what the package logs: its JSON lines on stdout, parsed, while a test runs.
 * Used by this package's tests and by the root's integration tests.
 */
export interface LogRecord {
  readonly level: string;
  readonly marker: string;
  readonly message: string;
  readonly [key: string]: unknown;
}

export interface LogRecorder {
  /** The package's records so far, optionally only those with `marker`. */
  records(marker?: string): LogRecord[];
  /** Stops recording and lets stdout through again. */
  restore(): void;
}

/** Records the `kx-events.*` JSON lines written to stdout (and keeps them off the test output). */
export function recordLogs(): LogRecorder {
  const records: LogRecord[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.startsWith('{"timestamp"') && text.includes('"marker":"kx-events.')) {
      records.push(JSON.parse(text) as LogRecord);
      return true;
    }
    return (write as (...args: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  }) as typeof process.stdout.write;
  return {
    records: (marker) => records.filter((record) => marker === undefined || record.marker === marker),
    restore: () => { process.stdout.write = write; },
  };
}
