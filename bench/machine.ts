/** What the benchmarks print about the machine they ran on. */
import * as os from 'os';

/** Node's version, the CPUs and the load average, on one line. */
export function machine(): string {
  return `node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), load average ${os.loadavg()[0].toFixed(1)}`;
}
