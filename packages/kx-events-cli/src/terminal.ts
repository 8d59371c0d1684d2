/**
 * What the commands write to: results on stdout (tables, or one JSON document with `--json`),
 * messages and the progress bar on stderr. The progress bar is drawn only on a terminal.
 */
export interface Terminal {
  /** Whether stderr is a terminal, where a progress bar can be drawn. */
  readonly interactive: boolean;
  /** Writes results. */
  out(text: string): void;
  /** Writes messages for people: warnings, errors, what was done. */
  err(text: string): void;
}

export function processTerminal(): Terminal {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    interactive: Boolean(process.stderr.isTTY),
  };
}

/** A table: a header row, then the rows, each column as wide as its widest cell. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Cuts text to `max` characters, marking the cut; newlines become spaces. */
export function cut(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= max ? flat : `${[...flat].slice(0, max - 1).join('')}…`;
}

/** A progress bar on stderr, redrawn at most every 100 ms; nothing at all off a terminal. */
export class ProgressBar {
  private drawnAt = 0;
  private drawn = false;

  constructor(private readonly terminal: Terminal, private readonly label: string, private total: number) {}

  update(done: number, total = this.total): void {
    this.total = total;
    if (!this.terminal.interactive || Date.now() - this.drawnAt < 100) return;
    this.drawnAt = Date.now();
    this.drawn = true;
    const width = 30;
    const share = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(share * width);
    this.terminal.err(`\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`);
  }

  done(): void {
    if (this.drawn) this.terminal.err('\r\x1b[K');
  }
}

/** An age for people: `42 s`, `5 min`, `3 h`, `2 d`. */
export function age(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}
