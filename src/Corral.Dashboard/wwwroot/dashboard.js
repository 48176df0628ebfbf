// Corral dashboard: renders the frames pushed on `events` (see DashboardFrame.cs for their shape; the tree inside is the
// documented JSON schema corral.tasktree/N of docs/concepts/introspection.md).
//
// Rules this file keeps:
// - Every name, reason, site and frame is put into the page with textContent, never as HTML: a task named
//   <img src=x onerror=alert(1)> shows as those characters. No innerHTML, no inline handlers, no eval; the page's
//   Content-Security-Policy forbids inline script and style anyway (styles are set through CSSOM only).
// - The tree is virtualised: only the rows in view (plus a margin) exist in the DOM, so 10,000 nodes cost a JSON.parse
//   and a walk per update, not 10,000 elements.
// - Times tick between updates: ages, deadlines and "cancelled … ago" are computed from the snapshot's values plus the
//   time since it arrived, on the server's clock (deadline minus takenAt), so a skewed browser clock does not matter.
'use strict';

(() => {
  const ROW = 24;
  const OVERSCAN = 12;
  const $ = (id) => document.getElementById(id);

  const ui = {
    title: $('title'), status: $('status'), tree: $('tree'), spacer: $('spacer'), empty: $('empty'),
    search: $('search'), stateFilter: $('state-filter'), expandAll: $('expand-all'), collapseAll: $('collapse-all'),
    pause: $('pause'), shown: $('shown'), watchdog: $('watchdog'), watchdogList: $('watchdog-list'),
    chart: $('chart'), chartLabel: $('chart-label'),
    counts: {
      running: $('count-running'), cancelling: $('count-cancelling'), cancelledScopes: $('count-cancelled-scopes'),
      reports: $('count-reports'), nodes: $('count-nodes'),
    },
    details: $('details'), detailsTitle: $('details-title'), detailsFields: $('details-fields'), detailsClose: $('details-close'),
    awaiting: $('details-awaiting'), awaitingText: $('details-awaiting-text'), frames: $('details-frames'), framesList: $('details-frames-list'), framesNote: $('details-frames-note'),
    cancelForm: $('cancel-form'), cancelReason: $('cancel-reason'), cancelResult: $('cancel-result'),
  };

  const state = {
    frame: null,          // the last frame with a snapshot
    receivedAt: 0,        // performance.now() when it arrived
    entries: [],          // every node, depth first: { key, node, depth, parent, childKeys }
    byKey: new Map(),
    reported: new Map(),  // task id -> watchdog report
    collapsed: new Set(), // keys the user collapsed; they stay collapsed across updates
    rows: [],             // the entries shown, in order
    selected: null,       // key of the node in the details panel
    filterText: '',
    filterState: 'all',
    paused: false,
    source: null,
    lastError: null,
    antiforgery: null,
  };

  // ---- formatting -------------------------------------------------------------------------------------------------

  const KIND = { taskGroup: 'group', task: 'task', scope: 'scope', shield: 'shield' };

  function duration(ms) {
    if (ms == null || !isFinite(ms)) return '';
    const s = ms / 1000;
    if (Math.abs(s) < 1) return Math.round(ms) + 'ms';
    if (Math.abs(s) < 60) return s.toFixed(1) + 's';
    const m = Math.floor(s / 60);
    if (m < 60) return m + 'm' + String(Math.floor(s % 60)).padStart(2, '0') + 's';
    return Math.floor(m / 60) + 'h' + String(m % 60).padStart(2, '0') + 'm';
  }

  function elapsed() { return state.frame ? performance.now() - state.receivedAt : 0; }

  function ageOf(node) { return node.ageMs + elapsed(); }

  function cancelledForOf(node) { return node.cancelledForMs == null ? null : node.cancelledForMs + elapsed(); }

  function remainingOf(node) {
    if (!node.deadline || !state.frame) return null;
    const deadline = Date.parse(node.deadline);
    return isNaN(deadline) ? null : deadline - (state.frame.takenAtMs + elapsed());
  }

  // Stacks (schema corral.tasktree/2: node.stack = { status, frames: [{ method, kind, type, file, line, column }],
  // awaiting: { kind, description, timeLeftMs, targetId, call } | null, note }). Older snapshots have no stack.
  // A frame reads as the text form writes it (TaskTreeFrame.ToString): `method` already holds the type as written
  // (Exporter.FlushAsync), `type` the namespace too, `file` the full path; the page shows the file name and keeps the
  // rest in the tooltip. `description` already says the time left when the snapshot was taken.
  function stackOf(node) {
    const stack = node.stack;
    return stack && typeof stack === 'object' ? stack : null;
  }

  function fileName(path) {
    return typeof path === 'string' ? path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1) : null;
  }

  function frameText(f) {
    if (f == null) return '';
    if (typeof f === 'string') return f;
    const method = (f.kind === 'lambda' ? 'lambda in ' : '') + (typeof f.method === 'string' ? f.method : '?');
    const where = typeof f.line === 'number' ? (fileName(f.file) || '?') + ':' + f.line : 'line unknown';
    return method + ' (' + where + ')';
  }

  function frameTitle(f) {
    if (f == null || typeof f !== 'object') return '';
    const parts = [];
    if (typeof f.type === 'string') parts.push(f.type);
    if (typeof f.file === 'string') parts.push(f.file + (typeof f.line === 'number' ? ':' + f.line + (typeof f.column === 'number' ? ':' + f.column : '') : ''));
    return parts.join('\n');
  }

  // Where a task is, as a watchdog report says it (WatchdogReport.ToString): the innermost frame whose line is known
  // (else the innermost frame), then what it awaits; null when the stack says neither.
  function whereText(stack) {
    if (!stack) return null;
    const frames = Array.isArray(stack.frames) ? stack.frames : [];
    const objects = frames.filter((f) => f && typeof f === 'object');
    const known = objects.find((f) => typeof f.line === 'number') || objects[0];
    const at = known
      ? 'at ' + (typeof known.line === 'number' ? (fileName(known.file) || '?') + ':' + known.line : 'line unknown') + ' in ' + (known.kind === 'lambda' ? 'lambda in ' : '') + known.method
      : null;
    const what = stack.status === 'running' ? 'running' : (stack.awaiting ? 'awaiting ' + awaitingText(stack.awaiting) : null);
    return at && what ? at + ', ' + what : at || what;
  }

  function awaitingText(a) {
    if (a == null) return null;
    if (typeof a === 'string') return a;
    return typeof a.description === 'string' && a.description ? a.description : (typeof a.kind === 'string' ? a.kind : 'something');
  }

  // ---- the model ----------------------------------------------------------------------------------------------------

  function index(snapshot) {
    const entries = [];
    const byKey = new Map();
    const stack = [];
    const roots = snapshot.roots || [];
    for (let i = roots.length - 1; i >= 0; i--) stack.push({ node: roots[i], depth: 0, parent: null, pos: i });
    while (stack.length) {
      const { node, depth, parent, pos } = stack.pop();
      let key = node.id > 0 ? String(node.id) : (parent ? parent.key : 'root') + '/' + pos;
      if (byKey.has(key)) key = key + '~' + entries.length; // ids are unique; guard anyway
      const entry = { key, node, depth, parent, childKeys: [] };
      entries.push(entry);
      byKey.set(key, entry);
      if (parent) parent.childKeys.push(key);
      const children = node.children || [];
      for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i], depth: depth + 1, parent: entry, pos: i });
    }
    return { entries, byKey };
  }

  function isReported(entry) { return entry.node.kind === 'task' && state.reported.has(entry.node.id); }

  function matches(entry) {
    const n = entry.node;
    switch (state.filterState) {
      case 'running': if (n.state !== 'running') return false; break;
      case 'cancelling': if (n.state !== 'cancelling') return false; break;
      case 'reported': if (!isReported(entry)) return false; break;
      case 'deadline': if (!n.deadline) return false; break;
      default: break;
    }
    if (!state.filterText) return true;
    const q = state.filterText;
    const st = stackOf(n);
    return [n.name, n.site, n.cancelReason, KIND[n.kind], n.state, st && awaitingText(st.awaiting)].some((v) => typeof v === 'string' && v.toLowerCase().includes(q));
  }

  // A new search opens the collapsed ancestors of what it finds; collapsing again while it stays is the user's choice.
  function expandToMatches() {
    if (!filtering()) return;
    for (const e of state.entries) {
      if (matches(e)) for (let a = e.parent; a; a = a.parent) state.collapsed.delete(a.key);
    }
  }

  function filtering() { return state.filterText !== '' || state.filterState !== 'all'; }

  // The rows to show: depth first; the subtrees the user collapsed hidden. While filtering: only the matches and their
  // ancestors (a collapsed ancestor still hides its matches: the toggle shows it has some).
  function computeRows() {
    let keep = null;
    if (filtering()) {
      keep = new Set();
      for (const e of state.entries) {
        if (matches(e)) {
          for (let a = e; a && !keep.has(a.key); a = a.parent) keep.add(a.key);
        }
      }
    }
    const rows = [];
    let skipBelow = -1;
    for (const e of state.entries) {
      if (skipBelow >= 0) {
        if (e.depth > skipBelow) continue;
        skipBelow = -1;
      }
      if (keep && !keep.has(e.key)) continue;
      rows.push(e);
      if (e.childKeys.length && state.collapsed.has(e.key)) skipBelow = e.depth;
    }
    state.rows = rows;
  }

  // ---- rendering ----------------------------------------------------------------------------------------------------

  const pool = [];

  function makeRow() {
    const el = document.createElement('div');
    el.className = 'row';
    el.setAttribute('role', 'treeitem');
    for (const part of ['toggle', 'kind', 'name', 'state', 'age', 'shield', 'deadline', 'reason', 'awaiting', 'site']) {
      const span = document.createElement('span');
      span.className = part;
      el.appendChild(span);
    }
    el.addEventListener('click', onRowClick);
    ui.tree.appendChild(el);
    return el;
  }

  function fillRow(el, entry, index) {
    const n = entry.node;
    const [toggle, kind, name, stateEl, age, shield, deadline, reason, awaiting, site] = el.children;
    el.dataset.key = entry.key;
    el.dataset.id = String(n.id);
    el.dataset.kind = n.kind;
    el.dataset.state = n.state;
    el.style.transform = 'translateY(' + (index * ROW) + 'px)';
    el.style.paddingLeft = (6 + entry.depth * 16) + 'px';
    el.classList.toggle('reported', isReported(entry));
    el.classList.toggle('selected', state.selected === entry.key);
    el.setAttribute('aria-level', String(entry.depth + 1));
    if (entry.childKeys.length) {
      const collapsed = state.collapsed.has(entry.key);
      toggle.textContent = collapsed ? '▸' : '▾';
      el.setAttribute('aria-expanded', String(!collapsed));
    } else {
      toggle.textContent = '';
      el.removeAttribute('aria-expanded');
    }
    kind.textContent = KIND[n.kind] || String(n.kind);
    name.textContent = n.name == null ? '(unnamed)' : n.name;
    name.title = n.name == null ? '' : n.name;
    stateEl.textContent = isReported(entry) ? 'ignoring cancellation' : n.state;
    shield.textContent = n.shield || n.kind === 'shield' ? 'shielded' : '';
    reason.textContent = n.cancelReason == null ? '' : (n.cancelCalled ? '' : 'from above: ') + n.cancelReason;
    reason.title = reason.textContent;
    const stack = stackOf(n);
    const awaits = stack ? awaitingText(stack.awaiting) : null;
    awaiting.textContent = awaits == null ? '' : 'awaits ' + awaits;
    awaiting.title = awaiting.textContent;
    site.textContent = n.site == null ? '' : n.site;
    fillTimes(el, entry);
  }

  function fillTimes(el, entry) {
    const n = entry.node;
    const age = el.children[4];
    const deadline = el.children[6];
    const since = cancelledForOf(n);
    age.textContent = duration(ageOf(n)) + (since != null ? ', cancelled ' + duration(since) + ' ago' : '');
    const left = remainingOf(n);
    if (left == null) {
      deadline.textContent = '';
      deadline.classList.remove('soon');
    } else {
      deadline.textContent = left >= 0 ? 'deadline in ' + duration(left) : 'deadline passed ' + duration(-left) + ' ago';
      deadline.classList.toggle('soon', left < 5000);
    }
  }

  function renderRows() {
    const total = state.rows.length;
    ui.spacer.style.height = (total * ROW) + 'px';
    ui.empty.hidden = !(state.frame && state.entries.length === 0);
    const top = ui.tree.scrollTop;
    const height = ui.tree.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(total, Math.ceil((top + height) / ROW) + OVERSCAN);
    const needed = Math.max(0, last - first);
    while (pool.length < needed) pool.push(makeRow());
    for (let i = 0; i < pool.length; i++) {
      const el = pool[i];
      if (i < needed) {
        el.hidden = false;
        fillRow(el, state.rows[first + i], first + i);
      } else {
        el.hidden = true;
      }
    }
    ui.shown.textContent = filtering()
      ? state.rows.length + ' of ' + state.entries.length + ' nodes shown'
      : state.entries.length + ' nodes';
  }

  function tick() {
    for (const el of pool) {
      if (!el.hidden && state.byKey.has(el.dataset.key)) fillTimes(el, state.byKey.get(el.dataset.key));
    }
    renderStatus();
    if (state.selected && !ui.details.hidden) renderDetailTimes();
  }

  function renderCounts() {
    let running = 0; let cancelling = 0; let cancelledScopes = 0;
    for (const e of state.entries) {
      const n = e.node;
      if (n.kind === 'task') {
        if (n.state === 'running') running++;
        else if (n.state === 'cancelling') cancelling++;
      } else if (n.state === 'cancelling') {
        cancelledScopes++;
      }
    }
    ui.counts.running.textContent = String(running);
    ui.counts.cancelling.textContent = String(cancelling);
    ui.counts.cancelledScopes.textContent = String(cancelledScopes);
    ui.counts.reports.textContent = String(state.reported.size);
    ui.counts.reports.parentElement.classList.toggle('on', state.reported.size > 0);
    ui.counts.nodes.textContent = String(state.entries.length);
  }

  function renderWatchdog(reports) {
    ui.watchdog.hidden = reports.length === 0;
    ui.watchdogList.replaceChildren();
    for (const r of reports) {
      const li = document.createElement('li');
      li.dataset.taskId = String(r.taskId);
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = r.taskName;
      button.addEventListener('click', () => reveal(String(r.taskId)));
      li.appendChild(button);
      const group = r.group == null ? '' : " in group '" + r.group + "'";
      const site = r.site == null ? '' : ' (started at ' + r.site + ')';
      const what = r.source === 'watchdog'
        ? ' still running ' + duration(r.sinceCancelledMs) + ' after it was cancelled; report #' + r.reportNumber
        : ' running ' + duration(r.sinceCancelledMs) + ' after it was cancelled';
      const entry = state.byKey && state.byKey.get(String(r.taskId));
      const now = entry ? whereText(stackOf(entry.node)) : null; // from the tree just received, so it follows the task
      li.appendChild(document.createTextNode(group + site + what + (r.reason == null ? '' : ' (' + r.reason + ')') + (now ? '; now ' + now : '')));
      ui.watchdogList.appendChild(li);
    }
  }

  function renderChart(chart) {
    if (!chart) return;
    ui.chartLabel.textContent = chart.label + (chart.points.length ? ': ' + chart.points[chart.points.length - 1][1] : '');
    const canvas = ui.chart;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 280;
    const height = canvas.clientHeight || 60;
    if (canvas.width !== Math.round(width * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    const points = chart.points;
    if (points.length === 0) return;
    const max = Math.max(1, ...points.map((p) => p[1]));
    const t1 = points[points.length - 1][0];
    const t0 = Math.min(points[0][0], t1 - 60000);
    const x = (t) => 4 + ((t - t0) / Math.max(1, t1 - t0)) * (width - 8);
    const y = (v) => height - 12 - (v / max) * (height - 20);
    g.fillStyle = '#6b7378';
    g.font = '10px system-ui, sans-serif';
    g.fillText(String(max), 4, 10);
    g.fillText(duration(t1 - t0) + ' ago', 4, height - 2);
    g.strokeStyle = '#2f5fa8';
    g.lineWidth = 1.5;
    g.beginPath();
    points.forEach((p, i) => (i === 0 ? g.moveTo(x(p[0]), y(p[1])) : g.lineTo(x(p[0]), y(p[1]))));
    g.stroke();
  }

  function renderStatus() {
    if (state.paused) {
      setStatus('paused: nothing is pushed or computed until you resume', false);
    } else if (state.lastError) {
      setStatus(state.lastError + (state.frame ? ' (showing the tree from ' + duration(elapsed()) + ' ago)' : ''), true);
    } else if (state.frame) {
      setStatus('live: updated ' + duration(elapsed()) + ' ago, every ' + duration(state.frame.intervalMs), false);
    }
  }

  function setStatus(text, error) {
    ui.status.textContent = text;
    ui.status.classList.toggle('error', error);
  }

  // ---- details ------------------------------------------------------------------------------------------------------

  function addField(label, value) {
    if (value == null || value === '') return null;
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = String(value);
    ui.detailsFields.append(dt, dd);
    return dd;
  }

  function renderDetails() {
    const entry = state.selected ? state.byKey.get(state.selected) : null;
    if (!state.selected) {
      ui.details.hidden = true;
      return;
    }
    ui.details.hidden = false;
    ui.detailsFields.replaceChildren();
    if (!entry) {
      ui.detailsTitle.textContent = 'ended';
      addField('node', state.selected);
      ui.awaiting.hidden = true;
      ui.frames.hidden = true;
      ui.cancelForm.hidden = true;
      return;
    }
    const n = entry.node;
    ui.detailsTitle.textContent = (KIND[n.kind] || n.kind) + ' ' + (n.name == null ? '(unnamed)' : n.name);
    addField('state', isReported(entry) ? n.state + ' (reported by the watchdog)' : n.state);
    addField('id', n.id);
    addField('started at', n.site);
    addField('age', duration(ageOf(n))).dataset.time = 'age';
    if (n.deadline) addField('deadline', n.deadline);
    const left = remainingOf(n);
    if (left != null) addField('time left', duration(left)).dataset.time = 'left';
    addField('shield', n.shield ? 'yes' : null);
    addField('cancel called', n.cancelCalled ? 'yes (its own cancel or deadline)' : null);
    addField('reason', n.cancelReason == null ? null : (n.cancelCalled ? '' : 'from above: ') + n.cancelReason);
    const since = cancelledForOf(n);
    if (since != null) addField('cancelled', duration(since) + ' ago').dataset.time = 'since';
    const report = n.kind === 'task' ? state.reported.get(n.id) : null;
    if (report) addField('watchdog', report.source === 'watchdog' ? 'report #' + report.reportNumber : 'past the grace period');
    addField('children', entry.childKeys.length || null);

    const stack = stackOf(n);
    const awaiting = stack ? awaitingText(stack.awaiting) : null;
    ui.awaiting.hidden = awaiting == null;
    ui.awaitingText.replaceChildren();
    if (awaiting != null) {
      ui.awaitingText.appendChild(document.createTextNode(awaiting));
      const target = stack.awaiting && stack.awaiting.targetId;
      if (typeof target === 'number' && state.byKey.has(String(target))) {
        const link = document.createElement('button');
        link.type = 'button';
        link.className = 'link';
        const t = state.byKey.get(String(target)).node;
        link.textContent = 'show ' + (KIND[t.kind] || t.kind) + ' ' + (t.name == null ? '(unnamed)' : t.name);
        link.addEventListener('click', () => reveal(String(target)));
        ui.awaitingText.append(' ', link);
      }
      if (stack.awaiting && typeof stack.awaiting.call === 'string' && stack.awaiting.call) {
        ui.awaitingText.append(document.createElement('br'), 'call: ' + stack.awaiting.call);
      }
    }
    const frames = stack && Array.isArray(stack.frames) ? stack.frames : null;
    ui.frames.hidden = !stack;
    ui.framesList.replaceChildren();
    ui.framesNote.textContent = !stack ? ''
      : (stack.status === 'running' ? 'running now: a running task has no stack to read' : '')
        + (stack.note ? (stack.status === 'running' ? '; ' : '') + stack.note : '');
    if (frames) {
      for (const f of frames) {
        const li = document.createElement('li');
        li.textContent = frameText(f);
        li.title = frameTitle(f);
        ui.framesList.appendChild(li);
      }
    }
    const cancellable = state.frame && state.frame.canCancel && n.kind !== 'task' && n.state !== 'finished' && n.id > 0;
    if (ui.cancelForm.hidden === !!cancellable || ui.cancelForm.dataset.key !== entry.key) {
      ui.cancelResult.textContent = '';
    }
    ui.cancelForm.hidden = !cancellable;
    ui.cancelForm.dataset.key = entry.key;
  }

  function renderDetailTimes() {
    const entry = state.byKey.get(state.selected);
    if (!entry) return;
    for (const dd of ui.detailsFields.querySelectorAll('dd[data-time]')) {
      const n = entry.node;
      if (dd.dataset.time === 'age') dd.textContent = duration(ageOf(n));
      else if (dd.dataset.time === 'left') dd.textContent = duration(remainingOf(n));
      else if (dd.dataset.time === 'since') dd.textContent = duration(cancelledForOf(n)) + ' ago';
    }
  }

  async function onCancelSubmit(event) {
    event.preventDefault();
    const entry = state.byKey.get(ui.cancelForm.dataset.key);
    const reason = ui.cancelReason.value.trim();
    if (!entry || !reason) return;
    ui.cancelResult.textContent = 'cancelling…';
    try {
      if (!state.antiforgery) {
        const response = await fetch('api/antiforgery', { credentials: 'same-origin', cache: 'no-store' });
        if (!response.ok) throw new Error('no antiforgery token (' + response.status + ')');
        state.antiforgery = await response.json();
      }
      const headers = { 'Content-Type': 'application/json' };
      headers[state.antiforgery.headerName] = state.antiforgery.token;
      const response = await fetch('api/cancel', {
        method: 'POST', credentials: 'same-origin', headers, body: JSON.stringify({ id: entry.node.id, reason }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.status === 400 && /antiforgery/.test(body.error || '')) state.antiforgery = null;
      ui.cancelResult.textContent = response.ok ? 'cancelled: the next update shows it' : (body.error || 'failed: ' + response.status);
    } catch (e) {
      ui.cancelResult.textContent = 'failed: ' + e.message;
    }
  }

  // ---- interaction --------------------------------------------------------------------------------------------------

  function onRowClick(event) {
    const key = event.currentTarget.dataset.key;
    const entry = state.byKey.get(key);
    if (!entry) return;
    if (event.target.classList.contains('toggle') && entry.childKeys.length) {
      if (state.collapsed.has(key)) state.collapsed.delete(key); else state.collapsed.add(key);
      computeRows();
      renderRows();
      return;
    }
    state.selected = key;
    renderRows();
    renderDetails();
  }

  function reveal(key) {
    const entry = state.byKey.get(key);
    if (!entry) return;
    for (let a = entry.parent; a; a = a.parent) state.collapsed.delete(a.key);
    if (filtering() && !matches(entry)) {
      state.filterText = '';
      document.body.dataset.filter = '';
      state.filterState = 'all';
      ui.search.value = '';
      ui.stateFilter.value = 'all';
    }
    computeRows();
    const at = state.rows.indexOf(entry);
    if (at >= 0) ui.tree.scrollTop = Math.max(0, at * ROW - ui.tree.clientHeight / 3);
    state.selected = key;
    renderRows();
    renderDetails();
  }

  function connect() {
    if (state.source) state.source.close();
    const source = new EventSource('events');
    state.source = source;
    source.addEventListener('frame', (event) => onFrame(JSON.parse(event.data)));
    source.addEventListener('open', () => { state.lastError = null; renderStatus(); });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) state.lastError = 'disconnected: reload the page to try again';
      else state.lastError = 'connection lost: reconnecting…';
      renderStatus();
    });
  }

  function onFrame(frame) {
    ui.title.textContent = frame.title;
    document.title = 'Corral: ' + frame.title;
    state.lastError = frame.error || null;
    if (frame.snapshot) {
      state.frame = frame;
      state.receivedAt = performance.now();
      const { entries, byKey } = index(frame.snapshot);
      state.entries = entries;
      state.byKey = byKey;
      state.reported = new Map((frame.watchdog || []).map((r) => [r.taskId, r]));
      for (const key of state.collapsed) if (!byKey.has(key)) state.collapsed.delete(key);
      computeRows();
      renderRows();
      renderCounts();
      renderWatchdog(frame.watchdog || []);
      if (state.selected) renderDetails();
    }
    renderChart(frame.chart);
    renderStatus();
    document.body.dataset.seq = String(frame.seq);
  }

  // body[data-filter] is the search the rows show (after the box's 120 ms pause): tests wait for it, not for time.
  let searchTimer = 0;
  document.body.dataset.filter = '';
  ui.search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.filterText = ui.search.value.trim().toLowerCase();
      document.body.dataset.filter = state.filterText;
      expandToMatches();
      computeRows();
      renderRows();
    }, 120);
  });
  ui.stateFilter.addEventListener('change', () => {
    state.filterState = ui.stateFilter.value;
    expandToMatches();
    computeRows();
    renderRows();
  });
  ui.expandAll.addEventListener('click', () => {
    state.collapsed.clear();
    computeRows();
    renderRows();
  });
  ui.collapseAll.addEventListener('click', () => {
    for (const e of state.entries) if (e.childKeys.length) state.collapsed.add(e.key);
    computeRows();
    renderRows();
  });
  ui.pause.addEventListener('click', () => {
    state.paused = !state.paused;
    ui.pause.setAttribute('aria-pressed', String(state.paused));
    ui.pause.textContent = state.paused ? 'Resume' : 'Pause';
    if (state.paused) {
      state.source.close(); // the server stops computing for this page
    } else {
      connect();
    }
    renderStatus();
  });
  ui.detailsClose.addEventListener('click', () => {
    state.selected = null;
    renderRows();
    renderDetails();
  });
  ui.cancelForm.addEventListener('submit', onCancelSubmit);
  ui.tree.addEventListener('scroll', () => renderRows(), { passive: true });
  window.addEventListener('resize', () => renderRows());
  setInterval(tick, 250);
  connect();
})();
