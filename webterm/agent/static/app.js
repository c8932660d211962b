// labctl web terminal: tabs of xterm.js terminals, each a websocket to a
// tmux session on the node (a reload reattaches to the same shells).
"use strict";
const $ = (id) => document.getElementById(id);
const terms = new Map(); // number -> {term, fit, ws, el, tab, closed}
let current = 0;

function saved() {
  try { return JSON.parse(localStorage.getItem("labctl-terms")) || [1]; } catch (e) { return [1]; }
}
function save() { localStorage.setItem("labctl-terms", JSON.stringify([...terms.keys()])); }

async function start() {
  const r = await fetch("/whoami", { cache: "no-store" });
  if (r.ok) { desk(await r.text()); } else { loginForm(""); }
}

function loginForm(msg) {
  for (const t of terms.values()) { t.closed = true; if (t.ws) t.ws.close(); t.term.dispose(); t.el.remove(); t.tab.remove(); }
  terms.clear();
  $("desk").hidden = true;
  $("login").hidden = false;
  $("error").textContent = msg;
  $("user").focus();
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("go").disabled = true;
  $("error").textContent = "";
  const body = new URLSearchParams({ user: $("user").value, password: $("password").value });
  $("password").value = "";
  try {
    const r = await fetch("/login", { method: "POST", body });
    const text = (await r.text()).trim();
    if (r.ok) { desk(text); } else { $("error").textContent = text; }
  } catch (e) {
    $("error").textContent = "the node did not answer: " + e;
  } finally {
    $("go").disabled = false;
  }
});

$("logout").addEventListener("click", async () => {
  await fetch("/logout", { method: "POST" });
  loginForm("");
});

$("add").addEventListener("click", () => {
  let n = 1;
  while (terms.has(n)) n++;
  open(n);
  show(n);
  save();
});

function desk(user) {
  $("login").hidden = true;
  $("desk").hidden = false;
  $("who").textContent = user;
  const list = saved();
  for (const n of list) open(n);
  show(list[0]);
}

function open(n) {
  const el = document.createElement("div");
  el.className = "term";
  el.id = "term-" + n;
  $("terms").appendChild(el);
  const tab = document.createElement("button");
  tab.textContent = "Terminal " + n;
  tab.id = "tab-" + n;
  tab.addEventListener("click", () => show(n));
  $("list").appendChild(tab);
  const term = new Terminal({ cursorBlink: true, scrollback: 5000, fontSize: 14,
    fontFamily: "ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace" });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(el);
  // Copy and paste: the browser's own paste works in the terminal; these
  // add the keys a Linux terminal uses.
  term.attachCustomKeyEventHandler((ev) => {
    if (ev.type !== "keydown" || !ev.ctrlKey || !ev.shiftKey) return true;
    if (ev.code === "KeyC" && term.hasSelection()) {
      navigator.clipboard.writeText(term.getSelection());
      return false;
    }
    if (ev.code === "KeyV") {
      navigator.clipboard.readText().then((t) => term.paste(t)).catch(() => {});
      return false;
    }
    return true;
  });
  const t = { term, fit, ws: null, el, tab, closed: false };
  terms.set(n, t);
  term.onData((d) => send(t, new TextEncoder().encode(d)));
  term.onBinary((d) => send(t, Uint8Array.from(d, (c) => c.charCodeAt(0))));
  term.onResize(({ cols, rows }) => {
    if (t.ws && t.ws.readyState === WebSocket.OPEN) t.ws.send(JSON.stringify({ cols, rows }));
  });
  connect(n, t);
}

function send(t, bytes) {
  if (t.ws && t.ws.readyState === WebSocket.OPEN) t.ws.send(bytes);
}

function connect(n, t) {
  if (!t.el.hidden) t.fit.fit();
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/term/${n}?cols=${t.term.cols}&rows=${t.term.rows}`);
  ws.binaryType = "arraybuffer";
  t.ws = ws;
  let opened = false;
  ws.onopen = () => { opened = true; };
  ws.onmessage = (ev) => t.term.write(new Uint8Array(ev.data));
  ws.onclose = async () => {
    if (t.closed) return;
    // Dropped Wi-Fi or a node restart: try again; tmux kept the shell.
    const r = await fetch("/whoami", { cache: "no-store" }).catch(() => null);
    if (r && r.status === 401) { loginForm("Your session ended: log in again."); return; }
    if (opened) t.term.write("\r\n\x1b[33m[reconnecting...]\x1b[0m\r\n");
    setTimeout(() => { if (!t.closed) connect(n, t); }, opened ? 500 : 2000);
  };
}

function show(n) {
  current = n;
  for (const [k, t] of terms) {
    t.el.hidden = k !== n;
    t.tab.classList.toggle("on", k === n);
  }
  const t = terms.get(n);
  if (t) { t.fit.fit(); t.term.focus(); }
}

window.addEventListener("resize", () => { const t = terms.get(current); if (t) t.fit.fit(); });
start();
