// hisgate staff console: plain JS over the core JSON endpoints (no framework, no CDN)
'use strict';

async function showStatus() {
  const r = await api('GET', '/hg/status');
  const s = r.data;
  const topics = (s.outbox && s.outbox.topics) || [];
  $('status').innerHTML =
    `<p>版本 ${esc(s.version)} · 数据库 <span class="${s.db === 'ok' ? 'ok' : 'bad'}">${esc(s.db)}</span> · ` +
    `待发送 ${esc(s.outbox && s.outbox.depth)} · 死信 <span class="${s.outbox && s.outbox.dead ? 'bad' : ''}">${esc(s.outbox && s.outbox.dead)}</span></p>` +
    '<table><tr><th>主题</th><th>待发</th><th>发送中</th><th>死信</th><th>完成</th><th>最后错误</th><th>暂停</th></tr>' +
    topics.map((t) => `<tr><td>${esc(t.topic)}</td><td>${t.pending}</td><td>${t.inflight}</td><td>${t.dead}${t.held ? `<br><span class="bad">其后 ${t.held} 条等待重试死信</span>` : ''}</td><td>${t.done}</td><td>${esc(t.last_error)}</td>` +
      `<td>${t.paused ? `<span class="bad">已暂停</span> ${esc(t.paused.reason)}（至 ${esc(t.paused.until || '手动恢复')}） ` +
        `<button data-resume="${esc(t.topic)}">恢复</button>` : ''}</td></tr>`).join('') +
    '</table>';
  const sel = $('pause-topic'), keep = sel.value;
  sel.innerHTML = topics.filter((t) => !t.paused).map((t) => `<option>${esc(t.topic)}</option>`).join('');
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

// a topic held back for a platform's announced maintenance: its rows wait instead of failing
async function pause(ev) {
  ev.preventDefault();
  const until = $('pause-until').value;   // local time, as the server's database reads it
  const r = await api('POST', '/hg/outbox/pause', { topic: $('pause-topic').value, reason: $('pause-reason').value.trim(),
    until: until ? until.replace('T', ' ') : undefined });
  $('status-err').textContent = r.ok ? '' : (r.data.message || ('HTTP ' + r.status)) + (r.data.field ? ` (${r.data.field})` : '');
  await refresh();
}

async function resume(topic) {
  const r = await api('POST', '/hg/outbox/resume', { topic });
  $('status-err').textContent = r.ok ? '' : (r.data.message || ('HTTP ' + r.status));
  await refresh();
}

async function showOutbox() {
  const r = await api('GET', '/hg/outbox?state=' + encodeURIComponent($('state').value));
  if (!r.ok) { $('outbox-err').textContent = r.data.message || ('HTTP ' + r.status); return; }
  $('outbox-err').textContent = '';
  $('rows').innerHTML = r.data.items.map((i) =>
    `<tr><td>${i.id}</td><td>${esc(i.topic)}</td><td>${esc(i.business_key)}</td><td>${esc(i.state)}</td>` +
    `<td>${i.attempts}/${i.max_attempts}</td><td>${esc(i.last_error)}</td>` +
    `<td>${i.state === 'dead' || i.state === 'pending' ? `<button data-id="${i.id}">重试</button>` : ''}` +
    // 放弃: a dead row dealt with by hand; the later rows of its order (held behind it) go on
    `${i.state === 'dead' ? ` <button data-discard="${i.id}">放弃</button>` : ''}</td></tr>`).join('');
}

async function discard(id) {
  if (!confirm(`放弃第 ${id} 条死信？（已人工处理；同一票据其后等待的事件将继续发送）`)) return;
  const r = await api('POST', `/hg/outbox/${id}/discard`);
  if (!r.ok) $('outbox-err').textContent = r.data.message || ('HTTP ' + r.status);
  await refresh();
}

async function retry(id) {
  const r = await api('POST', `/hg/outbox/${id}/retry`);
  if (!r.ok) $('outbox-err').textContent = r.data.message || ('HTTP ' + r.status);
  await refresh();
}

// the audit journal, bodies decrypted by the server for the role auditor (the looking is journalled)
let auditNext = null;
async function showAudit(more) {
  const q = { from: $('audit-from').value, to: $('audit-to').value, caller: $('audit-caller').value.trim(),
    endpoint: $('audit-endpoint').value.trim(), requestId: $('audit-rid').value.trim() };
  if (more && auditNext) q.beforeId = auditNext;
  const qs = Object.entries(q).filter(([, v]) => v).map(([k, v]) => k + '=' + encodeURIComponent(v)).join('&');
  const r = await api('GET', '/hg/audit?' + qs);
  if (!r.ok) { $('audit-err').textContent = (r.data.message || ('HTTP ' + r.status)) + (r.data.field ? ` (${r.data.field})` : ''); return; }
  $('audit-err').textContent = '';
  const body = (label, t) => t == null ? '' : `<details><summary>${label}</summary><pre>${esc(t)}</pre></details>`;
  const html = r.data.rows.map((a) =>
    `<tr><td>${a.id}</td><td>${esc(a.at)}</td><td>${esc(a.caller)}</td><td>${a.direction === 'in' ? '接收' : '发出'}</td>` +
    `<td>${esc(a.endpoint)}</td><td class="${a.status >= 400 ? 'bad' : ''}">${a.status}</td><td>${a.elapsedMs}</td>` +
    `<td>${esc(a.seq ?? '未封存')}</td><td>${body('请求', a.request)}${body('应答', a.response)}</td></tr>`).join('');
  if (more) $('audit-rows').insertAdjacentHTML('beforeend', html); else $('audit-rows').innerHTML = html;
  auditNext = r.data.nextBeforeId;
  $('audit-more').hidden = !auditNext;
}

async function refresh() { await showStatus(); await showOutbox(); }

async function start() {
  const me = await api('GET', '/hg/me');
  if (!me.ok) { $('login-box').hidden = false; $('main').hidden = true; $('logout').hidden = true; return; }
  csrf = me.data.csrf_token;
  $('who').textContent = `${me.data.username} (${(me.data.roles || []).join(', ')})`;
  $('login-box').hidden = true; $('main').hidden = false; $('logout').hidden = false;
  const roles = me.data.roles || [];
  $('audit-box').hidden = !(roles.includes('auditor') || roles.includes('admin'));
  $('pause').hidden = !(roles.includes('ops') || roles.includes('admin'));
  await refresh();
  if (!$('audit-box').hidden) await showAudit(false);
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const r = await api('POST', '/hg/login', { username: f.get('username'), password: f.get('password') });
  if (!r.ok) { $('login-err').textContent = r.data.message || ('HTTP ' + r.status); return; }
  $('login-err').textContent = '';
  await start();
});
$('logout').addEventListener('click', async () => { await api('POST', '/hg/logout'); csrf = null; await start(); });
$('state').addEventListener('change', showOutbox);
$('audit-search').addEventListener('click', () => showAudit(false));
$('audit-more').addEventListener('click', () => showAudit(true));
$('rows').addEventListener('click', (ev) => {
  if (ev.target.dataset.id) retry(ev.target.dataset.id);
  else if (ev.target.dataset.discard) discard(ev.target.dataset.discard);
});
$('status').addEventListener('click', (ev) => { if (ev.target.dataset.resume) resume(ev.target.dataset.resume); });
$('pause').addEventListener('submit', pause);
start();
