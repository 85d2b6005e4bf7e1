// The log verification's progress bar (console, integrity page): polls the run's JSON on this origin and
// moves the bar; when a run the page showed running ends, reloads the page to show the result. Served as
// a file: the console's CSP allows no inline script.
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
      // Ended: the page shows the result once reloaded (at once, if it was rendered after the end).
      if (run.state !== 'running') {
        if (bar.dataset.state === 'running') window.location.reload();
        return;
      }
      bar.max = Math.max(run.total, 1);
      bar.value = run.checked;
      bar.textContent = run.checked + '/' + run.total;
      if (status) status.textContent = run.text;
    } catch {
      // A missed poll is retried with the next one.
    }
    setTimeout(poll, 400);
  }
  setTimeout(poll, 200);
})();
