/** What a benchmark reads of other processes from /proc (Linux): memory, CPU time, children. */
import { readdirSync, readFileSync } from 'node:fs';

/** VmRSS of a process, in MiB. */
export function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? Number.NaN) / 1024;
}

/** User + system CPU time of a process (all its threads), in ms. */
export function cpuMsOf(pid: number): number {
  const fields = statFields(pid);
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** The processes whose parent is `pid` (a node's own redis-server). */
export function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(statFields(Number(entry))[1]) === pid) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** /proc/PID/stat after the command name (which may hold spaces): state, ppid, … */
function statFields(pid: number): string[] {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
}
