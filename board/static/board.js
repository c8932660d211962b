// The board's live part: each server-sent event is every cluster's view
// as JSON; cells are updated with textContent only (whatever a cluster
// said stays text).
"use strict";
(function () {
  const grid = document.getElementById("grid");
  const chapter = grid.dataset.chapter;
  const checks = Array.from(grid.querySelectorAll("thead th.check")).map(th => th.dataset.check);
  const conn = document.getElementById("conn");
  const pad = n => String(n).padStart(2, "0");
  const ago = s => {
    if (!s) return "-";
    const d = Math.max(0, Math.round((Date.now() - Date.parse(s)) / 1000));
    return d < 60 ? d + "s ago" : d < 3600 ? Math.floor(d / 60) + "m" + (d % 60) + "s ago" : Math.floor(d / 3600) + "h ago";
  };
  const set = (row, col, text) => {
    const td = row.querySelector('[data-col="' + col + '"]');
    if (!td) return;
    const a = td.querySelector("a");
    (a || td).textContent = text;
  };
  const link = (cluster, r) => {
    const a = document.createElement("a");
    a.href = "/detail?cluster=" + encodeURIComponent(cluster) + "&check=" + encodeURIComponent(r.id) + "#check-" + encodeURIComponent(r.chapter) + "-" + encodeURIComponent(r.id);
    a.title = r.saw;
    a.textContent = r.ok ? "ok" : "FAIL";
    return a;
  };
  function update(views) {
    let finished = 0;
    for (const v of views) {
      const row = grid.querySelector('tr[data-cluster="' + v.cluster + '"]');
      const note = grid.querySelector('tr[data-note="' + v.cluster + '"]');
      if (!row) continue;
      row.classList.toggle("down", !!v.error);
      set(row, "login", v.user + " / " + v.password);
      set(row, "ready", v.ready === null ? "-" : v.ready + "/" + v.total);
      set(row, "reachable", v.reachable + "/" + v.total);
      set(row, "health", v.health);
      set(row, "sessions", v.sessions === null ? "-" : String(v.sessions));
      set(row, "activity", ago(v.lastActivity));
      set(row, "hashing", v.hashRate === null ? "-" : v.hashRate.toFixed(1) + " H/s");
      const done = v.done.includes(chapter);
      if (done) finished++;
      set(row, "done", done ? "yes" : "no");
      if (note) set(note, "error", v.error || "");
      for (const id of checks) {
        const td = row.querySelector('td.check[data-check="' + id + '"]');
        const r = v.results.find(x => x.chapter === chapter && x.id === id);
        td.replaceChildren();
        td.className = "check " + (!r ? "none" : r.ok ? "ok" : "fail");
        if (r) td.appendChild(link(v.cluster, r)); else td.textContent = "-";
      }
    }
    document.getElementById("finished").textContent = String(finished);
    document.getElementById("total").textContent = String(views.length);
  }
  const es = new EventSource("/events");
  es.onopen = () => { conn.textContent = "live"; conn.className = "live"; };
  es.onerror = () => { conn.textContent = "reconnecting"; conn.className = "lost"; };
  es.onmessage = e => { update(JSON.parse(e.data)); conn.textContent = "live, updated " + new Date().toLocaleTimeString(); conn.className = "live"; };
})();
