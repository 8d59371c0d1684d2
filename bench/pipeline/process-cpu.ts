/**
 * CPU time of the pipeline's processes, read from /proc (Linux): the emulator,
 * the database server with its backends, and the consumer containers. A process
 * that cannot be found (a server named by DATABASE_URL or AWS_ENDPOINT_URL may run
 * elsewhere) counts as unknown.
 */
import * as fs from 'fs';

interface ProcessStat {
  readonly pid: number;
  readonly ppid: number;
  /** User and system CPU time, in seconds. */
  readonly cpuSeconds: number;
  readonly args: string;
}

const TICKS_PER_SECOND = 100;

function processes(): ProcessStat[] {
  const list: ProcessStat[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command (which may contain spaces and parentheses).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      list.push({
        pid: Number(name),
        ppid: Number(fields[1]),
        cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
        args: fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' '),
      });
    } catch {
      // The process ended while it was read.
    }
  }
  return list;
}

/** The processes whose CPU time is measured, each group by a predicate on the process table. */
export type ProcessGroups = Record<string, (p: ProcessStat, all: readonly ProcessStat[]) => boolean>;

/** CPU seconds of each group now; undefined for a group with no process. */
export function cpuSeconds(groups: ProcessGroups): Record<string, number | undefined> {
  const all = processes();
  return Object.fromEntries(Object.entries(groups).map(([name, belongs]) => {
    const members = all.filter((p) => belongs(p, all));
    return [name, members.length ? members.reduce((sum, p) => sum + p.cpuSeconds, 0) : undefined];
  }));
}

/** The process listening as `-p <port>` whose arguments contain `marker`, and its children. */
export function serverOnPort(marker: string, port: string): (p: ProcessStat, all: readonly ProcessStat[]) => boolean {
  const isServer = (p: ProcessStat) => p.args.includes(marker) && new RegExp(`-p ${port}( |$)`).test(p.args);
  return (p, all) => isServer(p) || all.some((parent) => parent.pid === p.ppid && isServer(parent));
}

/** Children of this process running `script`. */
export function childrenRunning(script: string): (p: ProcessStat) => boolean {
  return (p) => p.ppid === process.pid && p.args.includes(script);
}
