// The log verification's progress bar (console, integrity page): polls the run's JSON on this origin and
// moves the bar; once the run ends, reloads the page to show the result. Served as a file: the console's
// CSP allows no inline script.
/* global document, window, fetch, setTimeout */
(function () {
  const bar = document.getElementById('verify-progress');
  const status = document.getElementById('verify-status');
  if (!bar || !bar.dataset.poll) return;
  const url = bar.dataset.poll;
  async function poll() {
    try {
      const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
      if (!res.ok) return;
      const run = await res.json();
      bar.max = Math.max(run.total, 1);
      bar.value = run.state === 'running' ? run.checked : bar.max;
      bar.textContent = run.checked + '/' + run.total;
      if (status) status.textContent = run.text;
      if (run.state !== 'running') return window.location.reload();
    } catch {
      // A missed poll is retried with the next one.
    }
    setTimeout(poll, 400);
  }
  setTimeout(poll, 200);
})();
