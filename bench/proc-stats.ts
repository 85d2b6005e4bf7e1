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

/**
 * CPU time of a server that forks a process per connection (PostgreSQL's postmaster), in ms: its own,
 * its reaped children's (cutime + cstime, so a backend that has exited still counts) and its live
 * children's — a total that only grows, unlike a sum over the children alive at each reading.
 */
export function cpuMsOfTree(pid: number): number {
  const f = statFields(pid);
  const reaped = ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / 100;
  return childrenOf(pid).reduce((sum, child) => {
    try {
      return sum + cpuMsOf(child);
    } catch {
      return sum; // exited between the listing and the reading: its time is in cutime by the next reading
    }
  }, reaped);
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
