// tpm dashboard: a live view of `tpm list` over the server's event stream.
// Every name and log line reaches the page through textContent, never as HTML, so a process
// that prints markup shows it as text. The page loads nothing but this server's files.
'use strict';

const TOKEN_KEY = 'tpm.token';
const HISTORY_MS = 5 * 60 * 1000;
const LOG_LINES = 300;
const ACTIVE = new Set(['launching', 'online', 'waiting', 'stopping']);

const state = {
  processes: [],            // the latest list, as GET /api/processes has it
  described: {},            // of the process shown: what only its description has
  describedOf: null,
  byName: new Map(),
  listening: new Set(),
  cpuNow: {},
  seenAt: Date.now(),       // when the list was read: uptimes count on from here
  selected: null,
  history: new Map(),       // name -> [{time, cpu, mem}], the last 5 minutes
  token: '',
  logAbort: null,
  busy: new Set(),
  picked: false,           // a process was shown once: do not choose for the user again
};

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
};

// ---------- the token: from #token=..., else this browser's storage ----------

function loadToken() {
  try { state.token = localStorage.getItem(TOKEN_KEY) || ''; } catch (_) { state.token = ''; }
  const m = location.hash.match(/(?:^#|&)token=([^&]+)/);
  if (m) {
    saveToken(decodeURIComponent(m[1]));
    // Out of the address bar and the history: the token is a password.
    history.replaceState(null, '', location.pathname + location.search);
  }
  showLock();
}

function saveToken(token) {
  state.token = token.trim();
  try {
    if (state.token) localStorage.setItem(TOKEN_KEY, state.token); else localStorage.removeItem(TOKEN_KEY);
  } catch (_) { /* private mode: kept for this page only */ }
  showLock();
}

function showLock() {
  const b = $('token-button');
  b.textContent = state.token ? 'Unlocked' : 'Unlock';
  b.classList.toggle('primary', !state.token);
}

function authHeaders() {
  return state.token ? { Authorization: 'Bearer ' + state.token } : {};
}

function askToken() {
  const dialog = $('token-dialog');
  const input = $('token-input');
  input.value = state.token;
  return modal(dialog).then((answer) => {
    if (answer === 'ok') saveToken(input.value);
    if (answer === 'forget') saveToken('');
    return Boolean(state.token);
  });
}

// A <dialog> as a promise of the button pressed ('cancel' on Escape). Escape is taken from
// the 'cancel' event, not 'close': the 'close' event of an earlier question arrives after
// it has closed, and would answer the next one.
function modal(dialog) {
  return new Promise((resolve) => {
    const done = (value) => {
      dialog.querySelectorAll('[data-close]').forEach((b) => { b.onclick = null; });
      dialog.oncancel = null;
      if (dialog.open) dialog.close();
      resolve(value);
    };
    dialog.querySelectorAll('[data-close]').forEach((b) => { b.onclick = () => done(b.dataset.close); });
    dialog.oncancel = (e) => { e.preventDefault(); done('cancel'); };
    dialog.showModal();
  });
}

// ---------- formatting ----------

function fmtUptime(s) {
  if (s === null || s === undefined) return '–';
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
  if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
  return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
}

function fmtMem(b) {
  if (b === null || b === undefined) return '–';
  const k = 1024;
  if (b < k * k) return (b / k).toFixed(0) + ' KB';
  if (b < k * k * k) return (b / k / k).toFixed(1) + ' MB';
  return (b / k / k / k).toFixed(2) + ' GB';
}

function fmtCpu(c) {
  return c === null || c === undefined ? '–' : c.toFixed(1) + '%';
}

function fmtAgo(ms) {
  const s = Math.round(ms / 1000);
  return s < 90 ? s + ' s ago' : Math.round(s / 60) + ' min ago';
}

function fmtTime(t) {
  if (!t) return '';
  const d = new Date(t);
  return isNaN(d) ? '' : d.toLocaleTimeString([], { hour12: false });
}

function cpuOf(p) {
  if (!ACTIVE.has(p.status) || p.pid === null) return null;
  return p.name in state.cpuNow ? state.cpuNow[p.name] : p.cpu;
}

function uptimeOf(p) {
  if (p.uptime === null || p.uptime === undefined) return null;
  return p.uptime + Math.floor((Date.now() - state.seenAt) / 1000);
}

// ---------- the table ----------

const COLUMNS = ['name', 'status', 'pid', 'port', 'uptime', 'restarts', 'cpu', 'memory', 'actions'];
const rows = new Map(); // name -> <tr>

function makeRow(name) {
  const tr = el('tr');
  tr.dataset.name = name;
  for (const col of COLUMNS) {
    const td = el('td', col);
    if (['pid', 'port', 'uptime', 'restarts', 'cpu', 'memory'].includes(col)) td.classList.add('num');
    if (col !== 'name' && col !== 'actions') td.dataset.label = col;
    tr.append(td);
  }
  tr.addEventListener('click', (e) => {
    if (e.target.closest('button')) return;
    select(name);
  });
  return tr;
}

function cell(tr, col) { return tr.children[COLUMNS.indexOf(col)]; }

function setText(node, text) {
  const t = String(text);
  if (node.textContent !== t) node.textContent = t;
}

function fillRow(tr, p) {
  const name = cell(tr, 'name');
  if (name.dataset.v !== p.name + '|' + p.id) {
    name.replaceChildren(el('span', 'id', p.id === null ? '–' : p.id), document.createTextNode(p.name));
    name.title = p.name;
    name.dataset.v = p.name + '|' + p.id;
  }
  const status = cell(tr, 'status');
  // A running process that fails its liveness check says so where one looks first.
  const shown = p.status === 'online' && p.health === 'unhealthy' ? 'unhealthy' : p.status;
  if (status.dataset.status !== shown) {
    status.dataset.status = shown;
    status.replaceChildren(badge(shown));
  }
  setText(cell(tr, 'pid'), p.pid === null ? '–' : p.pid);
  const port = cell(tr, 'port');
  const listens = p.port !== null && state.listening.has(p.port);
  if (port.dataset.v !== p.port + '|' + listens) {
    if (p.port === null) {
      // A worker: it listens on no PORT, so there is nothing to show listening.
      port.replaceChildren(document.createTextNode('–'));
      port.title = 'no PORT: it listens on none';
    } else {
      const dot = el('span', 'listen' + (listens ? ' on' : ''));
      dot.title = listens ? 'something listens on this port' : 'nothing listens on this port';
      port.replaceChildren(document.createTextNode(p.port), dot);
      port.title = '';
    }
    port.dataset.v = p.port + '|' + listens;
  }
  setText(cell(tr, 'uptime'), fmtUptime(uptimeOf(p)));
  setText(cell(tr, 'restarts'), p.restarts);
  setText(cell(tr, 'cpu'), fmtCpu(cpuOf(p)));
  setText(cell(tr, 'memory'), fmtMem(p.mem));
  const actions = cell(tr, 'actions');
  const key = p.status + '|' + state.busy.has(p.name);
  if (actions.dataset.v !== key) {
    actions.replaceChildren(...actionButtons(p, true));
    actions.dataset.v = key;
  }
  tr.classList.toggle('selected', state.selected === p.name);
}

function badge(status) {
  const b = el('span', 'badge', status);
  b.dataset.status = status;
  return b;
}

function actionButtons(p, compact) {
  const busy = state.busy.has(p.name);
  const make = (label, action, cls) => {
    const b = el('button', cls || '', label);
    b.type = 'button';
    b.dataset.action = action;
    b.disabled = busy;
    b.setAttribute('aria-label', label + ' ' + p.name);
    b.addEventListener('click', (e) => { e.stopPropagation(); act(p.name, action); });
    return b;
  };
  const out = [];
  if (ACTIVE.has(p.status)) out.push(make('Stop', 'stop'));
  else out.push(make('Start', 'start', compact ? '' : 'primary'));
  // In the table, one button; restarting and deleting are in the process's panel.
  if (!compact) {
    out.push(make('Restart', 'restart'));
    out.push(make('Delete', 'delete', 'danger'));
  }
  return out;
}

function renderTable() {
  const body = $('rows');
  const names = new Set(state.processes.map((p) => p.name));
  for (const [name, tr] of rows) {
    if (!names.has(name)) { tr.remove(); rows.delete(name); }
  }
  let before = body.firstChild;
  for (const p of state.processes) {
    let tr = rows.get(p.name);
    if (!tr) { tr = makeRow(p.name); rows.set(p.name, tr); }
    fillRow(tr, p);
    if (tr !== before) body.insertBefore(tr, before);
    before = tr.nextSibling;
  }
  $('empty').hidden = state.processes.length > 0;
  renderSummary();
}

function renderSummary() {
  const counts = {};
  for (const p of state.processes) counts[p.status] = (counts[p.status] || 0) + 1;
  const pills = Object.keys(counts).sort().map((s) => {
    const pill = el('span', 'pill');
    pill.append(badge(s), document.createTextNode(counts[s]));
    return pill;
  });
  $('summary').replaceChildren(...pills);
  const online = counts.online || 0;
  document.title = 'tpm · ' + online + ' online';
}

// ---------- the selected process ----------

function select(name) {
  if (state.selected === name) return;
  state.selected = name;
  for (const [n, tr] of rows) tr.classList.toggle('selected', n === name);
  $('detail').hidden = false;
  $('events').replaceChildren();
  renderDetail();
  loadHistory(name);
  followLogs(name);
}

function renderDetail() {
  const p = state.byName.get(state.selected);
  if (!p) {
    if (state.selected) { $('detail').hidden = true; state.selected = null; stopLogs(); }
    return;
  }
  setText($('d-name'), p.name);
  const status = $('d-status');
  if (status.dataset.status !== p.status) {
    status.dataset.status = p.status;
    status.textContent = p.status;
  }
  const actions = $('d-actions');
  const key = p.name + '|' + p.status + '|' + state.busy.has(p.name);
  if (actions.dataset.v !== key) {
    actions.replaceChildren(...actionButtons(p, false));
    actions.dataset.v = key;
  }
  const facts = [
    ['pid', p.pid === null ? '–' : p.pid + (p.supervisor ? '  (supervisor ' + p.supervisor + ')' : '')],
    ['port', p.port === null ? 'none (it listens on no PORT)'
      : p.port + (state.listening.has(p.port) ? '  (listening)' : '  (not listening)')],
    ['uptime', fmtUptime(uptimeOf(p))],
    ['restarts', p.restarts],
    ['command', (p.cmd || []).join(' ')],
    ['cwd', p.cwd],
  ];
  if (p.exit_code !== null) facts.push(['last exit', p.exit_code]);
  if (p.reason) facts.push(['reason', p.reason]);
  const extra = state.describedOf === p.name ? state.described : {};
  if (extra.health_check) facts.push(['health', (p.health ? p.health + ': ' : '') + extra.health_check]);
  if (extra.watchdog) facts.push(['watchdog', 'restarted after ' + fmtMs(extra.watchdog) + ' without WATCHDOG=1']);
  if (extra.notify_status && p.pid !== null) facts.push(['status (notify)', extra.notify_status]);
  const dl = $('d-facts');
  const text = JSON.stringify(facts);
  if (dl.dataset.v !== text) {
    dl.replaceChildren(...facts.flatMap(([k, v]) => [el('dt', '', k), el('dd', '', v)]));
    dl.dataset.v = text;
  }
  renderCharts();
}

async function loadHistory(name) {
  try {
    const res = await fetch('/api/processes/' + encodeURIComponent(name) + '/metrics', { headers: authHeaders() });
    if (!res.ok) return;
    const points = await res.json();
    const mine = state.history.get(name) || [];
    const first = mine.length ? mine[0].time : Infinity;
    state.history.set(name, points.filter((pt) => pt.time < first).concat(mine));
    if (state.selected === name) renderCharts();
  } catch (_) { /* the charts fill from the stream */ }
}

function record(snapshot) {
  for (const p of snapshot.processes) {
    let h = state.history.get(p.name);
    if (!h) { h = []; state.history.set(p.name, h); }
    const cpu = ACTIVE.has(p.status) && p.name in snapshot.cpu_now ? snapshot.cpu_now[p.name] : (p.pid === null ? null : undefined);
    if (cpu === undefined) continue;
    h.push({ time: snapshot.time, cpu, mem: p.mem });
    while (h.length && h[0].time < snapshot.time - HISTORY_MS) h.shift();
  }
  for (const name of state.history.keys()) if (!state.byName.has(name)) state.history.delete(name);
}

function renderCharts() {
  const h = state.history.get(state.selected) || [];
  const p = state.byName.get(state.selected);
  chart($('chart-cpu'), h, 'cpu', p ? fmtCpu(cpuOf(p)) : '–', (v) => fmtCpu(v), 5);
  chart($('chart-mem'), h, 'mem', p ? fmtMem(p.mem) : '–', fmtMem, 1024 * 1024);
}

// Draws the last 5 minutes of one value (or as much as there is, at least 30 s) as a line
// with a soft area under it.
function chart(fig, points, key, now, fmt, floor) {
  fig.querySelector('.now').textContent = now;
  const end = Date.now();
  const oldest = points.length ? points[0].time : end;
  const span = Math.min(HISTORY_MS, Math.max(30 * 1000, end - oldest));
  const start = end - span;
  const pts = points.filter((pt) => pt.time >= start);
  fig.querySelector('.axis span').textContent = fmtAgo(span);
  let max = floor;
  for (const pt of pts) if (pt[key] !== null && pt[key] * 1.15 > max) max = pt[key] * 1.15;
  fig.querySelector('.max').textContent = 'max ' + fmt(max);
  const W = 300, H = 80;
  let line = '', area = '', run = [];
  const flush = () => {
    if (run.length) {
      line += 'M' + run.map((q) => q.join(',')).join('L');
      area += 'M' + run[0][0] + ',' + H + 'L' + run.map((q) => q.join(',')).join('L') + 'L' + run[run.length - 1][0] + ',' + H + 'Z';
    }
    run = [];
  };
  for (const pt of pts) {
    if (pt[key] === null || pt[key] === undefined) { flush(); continue; }
    const x = ((pt.time - start) / span) * W;
    const y = H - (pt[key] / max) * (H - 4) - 1;
    run.push([x.toFixed(1), y.toFixed(1)]);
  }
  flush();
  fig.querySelector('.line').setAttribute('d', line);
  fig.querySelector('.area').setAttribute('d', area);
}

// ---------- the event history ----------

const EVENT_WORDS = {
  start_requested: 'start asked', spawned: 'spawned', spawn_failed: 'spawn failed', exited: 'exited',
  restart_scheduled: 'restart scheduled', errored: 'errored', stop_requested: 'stop asked',
  killed: 'killed', stopped: 'stopped', listening: 'listening', supervisor_lost: 'supervisor lost', restart_requested: 'restart requested', reload_failed: 'reload failed',
  ready: 'ready', log_rotated: 'log rotated', reloaded: 'reloaded',
  health: 'health', notify: 'notify',
};

function eventDetail(e) {
  const parts = [];
  if (e.pid !== undefined) parts.push('pid ' + e.pid);
  if (e.code !== undefined) parts.push('code ' + e.code);
  if (e.signal) parts.push(e.signal);
  if (e.ran_ms !== undefined) parts.push('after ' + fmtMs(e.ran_ms));
  if (e.after_ms !== undefined) parts.push('in ' + fmtMs(e.after_ms));
  if (e.count !== undefined) parts.push(e.count + (e.event === 'log_rotated' ? ' rotations' : ' processes'));
  if (e.by) parts.push('by ' + e.by);
  if (e.reason) parts.push(e.reason);
  return parts.join(' · ');
}

function fmtMs(ms) {
  return ms < 1000 ? ms + ' ms' : ms < 60000 ? (ms / 1000).toFixed(1) + ' s' : fmtUptime(Math.round(ms / 1000));
}

function showEvents(events, replace) {
  const list = $('events');
  if (replace) list.replaceChildren();
  list.querySelector('.none')?.remove();
  for (const e of events) {
    const li = el('li');
    li.dataset.kind = e.event;
    li.append(el('span', 't', fmtTime(e.time_ms)), el('span', 'k', EVENT_WORDS[e.event] || e.event), el('span', 'd', eventDetail(e)));
    list.append(li);
  }
  while (list.childElementCount > 50) list.firstElementChild.remove();
  if (!list.childElementCount) list.append(el('li', 'none', 'nothing recorded yet'));
  list.scrollTop = list.scrollHeight;
}

// ---------- logs ----------

function logLine(l) {
  const row = el('span', 'l ' + l.stream + (l.line.includes('[tpm]') ? ' tpm' : ''));
  row.append(el('span', 't', fmtTime(l.time)), el('span', 'x', l.line));
  return row;
}

function appendLogs(lines) {
  const box = $('log');
  const follow = $('follow').checked;
  box.querySelector('.none')?.remove();
  box.append(...lines.map(logLine));
  while (box.childElementCount > LOG_LINES) box.firstElementChild.remove();
  if (follow) box.scrollTop = box.scrollHeight;
}

function stopLogs() {
  if (state.logAbort) state.logAbort.abort();
  state.logAbort = null;
}

// The last lines, then every new one. The stream is opened first, so nothing written
// while the backlog loads is missed; a line in both is shown once.
async function followLogs(name) {
  stopLogs();
  const ctl = new AbortController();
  state.logAbort = ctl;
  const box = $('log');
  box.replaceChildren(el('span', 'none', 'loading…'));
  let backlog = null;
  const early = [];
  const key = (l) => l.time + '|' + l.stream + '|' + l.line;
  let described = null;
  const earlyEvents = [];
  const onEvent = (type, data) => {
    if (type === 'event') {
      const e = JSON.parse(data);
      if (described === null) earlyEvents.push(e); else showEvents([e], false);
      return;
    }
    if (type !== 'log') return;
    const l = JSON.parse(data);
    if (backlog === null) early.push(l); else appendLogs([l]);
  };
  const opened = new Promise((resolve) => {
    sse('/api/events?name=' + encodeURIComponent(name), onEvent, ctl.signal, resolve).catch(() => resolve());
  });
  await opened;
  if (ctl.signal.aborted) return;
  try {
    // The last events, from `describe`; those that came on the stream meanwhile follow.
    const res = await fetch('/api/processes/' + encodeURIComponent(name), { headers: authHeaders(), signal: ctl.signal });
    const body = res.ok ? await res.json() : {};
    described = body.events || [];
    // What the list does not carry: the liveness check, the watchdog, the last STATUS=.
    state.described = { health_check: body.health_check, watchdog: body.watchdog, notify_status: body.notify_status };
    state.describedOf = name;
  } catch (_) {
    described = [];
  }
  if (ctl.signal.aborted) return;
  const last = described.length ? described[described.length - 1].time_ms : 0;
  showEvents(described.concat(earlyEvents.filter((e) => e.time_ms > last)), true);
  try {
    const res = await fetch('/api/processes/' + encodeURIComponent(name) + '/logs?lines=' + LOG_LINES, { headers: authHeaders(), signal: ctl.signal });
    backlog = res.ok ? await res.json() : [];
  } catch (_) {
    backlog = [];
  }
  if (ctl.signal.aborted) return;
  box.replaceChildren();
  const seen = new Set(backlog.slice(-50).map(key));
  appendLogs(backlog.concat(early.filter((l) => !seen.has(key(l)))));
  if (!box.childElementCount) box.append(el('span', 'none', 'no log lines yet'));
}

// ---------- actions ----------

const VERBS = { start: 'started', stop: 'stopped', restart: 'restarted', delete: 'deleted' };

async function act(name, action) {
  if (!state.token && !(await askToken())) return;
  if (action === 'delete') {
    $('confirm-name').textContent = name;
    if ((await modal($('confirm-dialog'))) !== 'ok') return;
    // Its panel asks nothing more of a process about to go.
    if (state.selected === name) stopLogs();
  }
  const path = '/api/processes/' + encodeURIComponent(name);
  const url = action === 'delete' ? path : path + '/' + action;
  state.busy.add(name);
  refresh();
  try {
    const res = await fetch(url, { method: action === 'delete' ? 'DELETE' : 'POST', headers: authHeaders() });
    const body = await res.json().catch(() => null);
    if (res.ok) {
      // 202: this server's own process, restarted by its supervisor after the answer.
      toast(res.status === 202 && body && body.message ? body.message : VERBS[action] + ' ' + name);
    } else {
      toast((body && body.error) || 'HTTP ' + res.status, body && body.help, true);
      if (res.status === 401) saveToken('');
    }
  } catch (e) {
    toast('the server did not answer: ' + e.message, 'is `tpm serve` still running?', true);
  } finally {
    state.busy.delete(name);
    refresh();
  }
}

function toast(text, help, error) {
  const t = el('div', 'toast' + (error ? ' error' : ''));
  t.append(document.createTextNode(text));
  if (help) t.append(el('span', 'help', help));
  $('toasts').append(t);
  setTimeout(() => t.remove(), error ? 8000 : 3500);
}

// ---------- the event stream ----------

// Server-sent events over fetch (EventSource cannot send the token header).
async function sse(url, onEvent, signal, onOpen) {
  const res = await fetch(url, { headers: { ...authHeaders(), Accept: 'text/event-stream' }, signal, cache: 'no-store' });
  if (!res.ok) {
    const err = new Error('HTTP ' + res.status);
    err.status = res.status;
    throw err;
  }
  if (onOpen) onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let type = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (!line || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let v = colon < 0 ? '' : line.slice(colon + 1);
        if (v.startsWith(' ')) v = v.slice(1);
        if (field === 'event') type = v;
        else if (field === 'data') data.push(v);
      }
      if (data.length) onEvent(type, data.join('\n'));
    }
  }
}

function setConn(s, text) {
  $('conn').dataset.state = s;
  $('conn-text').textContent = text || s;
}

function onMain(type, data) {
  if (type === 'processes') {
    const snap = JSON.parse(data);
    state.processes = snap.processes;
    state.byName = new Map(snap.processes.map((p) => [p.name, p]));
    state.listening = new Set(snap.listening);
    state.cpuNow = snap.cpu_now;
    state.seenAt = Date.now();
    record(snap);
    setText($('updated'), 'updated ' + fmtTime(snap.time));
    refresh();
    // First load: show a process (the first online one) rather than an empty panel.
    if (!state.selected && !state.picked && snap.processes.length) {
      state.picked = true;
      const first = snap.processes.find((p) => p.status === 'online') || snap.processes[0];
      select(first.name);
    }
  } else if (type === 'status') {
    // A change reaches the row at once; the snapshot that follows fills in the rest.
    const c = JSON.parse(data);
    const p = state.byName.get(c.name);
    if (c.status === null) {
      state.processes = state.processes.filter((q) => q.name !== c.name);
      state.byName.delete(c.name);
      if (state.selected === c.name) stopLogs();
    } else if (p) {
      p.status = c.status;
      p.pid = c.pid;
      p.restarts = c.restarts;
      if (!ACTIVE.has(c.status)) { p.uptime = null; p.mem = null; }
    }
    refresh();
  }
}

function refresh() {
  renderTable();
  if (state.selected) renderDetail();
}

async function connect() {
  let delay = 500;
  for (;;) {
    try {
      await sse('/api/events?logs=false', onMain, undefined, () => { setConn('live'); delay = 500; });
      setConn('connecting', 'reconnecting');
    } catch (e) {
      if (e.status === 401) {
        setConn('offline', 'needs the token');
        if (!(await askToken())) { await sleep(5000); }
        continue;
      }
      setConn('offline', 'offline, retrying');
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 8000);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function start() {
  $('host').textContent = location.host;
  loadToken();
  $('token-button').addEventListener('click', () => askToken());
  $('follow').addEventListener('change', () => { if ($('follow').checked) { const b = $('log'); b.scrollTop = b.scrollHeight; } });
  setInterval(() => {
    for (const p of state.processes) {
      const tr = rows.get(p.name);
      if (tr) setText(cell(tr, 'uptime'), fmtUptime(uptimeOf(p)));
    }
    if (state.selected) renderCharts();
  }, 1000);
  connect();
}

start();
