/** V8 CPU profiles of child node processes a benchmark starts (`--cpu-prof DIR`), and their summaries. */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatSummary, readProfile, summariseProfile } from './cpu-profile-summary.js';

/**
 * A script that runs node with --cpu-prof, writing into `dir`. Node 20 refuses --cpu-prof in NODE_OPTIONS;
 * the demo starts each node with process.execPath, so a profiled run points that at this script, which
 * execs node with the flag (same pid: /proc still sees the node).
 */
export function profilingNode(node: string, dir: string, root: string): string {
  mkdirSync(dir, { recursive: true });
  const script = join(root, 'node-cpu-prof.sh');
  writeFileSync(script, `#!/bin/sh\nexec '${node}' --cpu-prof --cpu-prof-dir='${dir}' "$@"\n`, { mode: 0o755 });
  return script;
}

/** The profiles the nodes wrote (one per thread: the main one and each worker) on their way out, summarised. */
export function summariseProfiles(dir: string, pids: Readonly<Record<string, number>>, say: (s: string) => void): void {
  if (!existsSync(dir)) return;
  for (const [name, pid] of Object.entries(pids)) {
    const files = readdirSync(dir).filter((f) => f.includes(`.${pid}.`) && f.endsWith('.cpuprofile'));
    for (const f of files) say(`\n${formatSummary(`${name} (${f})`, summariseProfile(readProfile(join(dir, f)), 15))}`);
  }
}
