/**
 * Work to do, synchronously, when this process exits (process.exit, the end of the event loop, an
 * uncaught exception): signalling child servers and removing their temporary folders, so that a
 * run that ends without stopping them leaves nothing behind. One 'exit' listener serves every hook, so
 * many daemons do not trip Node's listener-count warning. A SIGKILL of this process runs no hook: a
 * launcher whose child must not outlive a killed parent needs its own way (none of ours does).
 */
const hooks = new Set<() => void>();
let installed = false;

/** Runs `hook` when the process exits; call the returned function to cancel it (the work was done). */
export function onProcessExit(hook: () => void): () => void {
  if (!installed) {
    process.on('exit', runHooks);
    installed = true;
  }
  hooks.add(hook);
  return () => {
    hooks.delete(hook);
  };
}

function runHooks(): void {
  for (const hook of [...hooks]) {
    hooks.delete(hook);
    try {
      hook();
    } catch {
      // The process is exiting: one failed clean-up must not keep the others from running.
    }
  }
}
