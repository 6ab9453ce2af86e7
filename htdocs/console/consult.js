// hisgate console · 预问诊: the day's questionnaires per department, one questionnaire, a template
// version previewed as the patient sees it, usage statistics and per-question figures over
// /consult/staff/v1/ — plain JS, charts drawn as inline SVG by the small functions below (no chart
// library, no CDN).  Every server string goes through esc().
'use strict';
const BASE = '/consult/staff/v1';
const STATE = { 'in-progress': '填写中', review: '待确认', completed: '已提交', stopped: '已终止' };
const SEX = { M: '男', F: '女' };
const SECTIONS = [['chief_complaint', '主诉'], ['present_illness', '现病史'], ['past_history', '既往史'],
  ['personal_history', '个人史'], ['allergy_history', '过敏史'], ['family_history', '家族史']];
const GROUP = { day: '日期', hour: '时段', week: '周', month: '月份', dept: '科室', template: '问卷',
  age_band: '年龄段', sex: '性别', channel: '入口渠道' };
const COLORS = ['#07c160', '#10aeff', '#fa9d3b', '#fa5151', '#6467f0', '#91d300', '#1485ee', '#ffc300', '#b2b2b2', '#e64340'];

const errText = (r) => (r.data.message || ('HTTP ' + r.status)) + (r.data.field ? ` (${r.data.field})` : '');
const query = (o) => Object.entries(o).filter(([, v]) => v !== '' && v != null)
  .map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');
const pct = (x) => (Math.round((x || 0) * 1000) / 10) + '%';

function localDate(offsetDays) {
  const d = new Date(Date.now() + (offsetDays || 0) * 86400000);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

// ---------------------------------------------------------------- charts (inline SVG)

// vertical bars: data [{label, value, value2?}]; value2 (e.g. completed) is drawn inside the bar
function barChart(data, opts) {
  const o = Object.assign({ width: 720, height: 240, title: '', legend: null }, opts || {});
  if (!data.length) return '<p class="muted">没有数据</p>';
  const padL = 40, padB = 46, padT = 24, w = o.width, h = o.height;
  const max = Math.max(1, ...data.map((d) => d.value));
  const plotW = w - padL - 10, plotH = h - padB - padT;
  const bw = plotW / data.length;
  const y = (v) => padT + plotH - (v / max) * plotH;
  let s = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(o.title)}">`;
  s += `<text x="${padL}" y="14" font-size="12" fill="#333">${esc(o.title)}</text>`;
  [0, 0.5, 1].forEach((f) => {
    const v = Math.round(max * f), yy = y(v);
    s += `<line x1="${padL}" x2="${w - 10}" y1="${yy}" y2="${yy}" stroke="#eee"/>` +
      `<text x="${padL - 4}" y="${yy + 4}" font-size="10" text-anchor="end" fill="#666">${v}</text>`;
  });
  data.forEach((d, i) => {
    const x = padL + i * bw + bw * 0.15, bwi = Math.max(1, bw * 0.7);
    s += `<rect class="bar" x="${x.toFixed(1)}" y="${y(d.value).toFixed(1)}" width="${bwi.toFixed(1)}" ` +
      `height="${(padT + plotH - y(d.value)).toFixed(1)}" fill="${COLORS[1]}"><title>${esc(d.label)}: ${d.value}</title></rect>`;
    if (d.value2 !== undefined)
      s += `<rect x="${(x + bwi * 0.2).toFixed(1)}" y="${y(d.value2).toFixed(1)}" width="${(bwi * 0.6).toFixed(1)}" ` +
        `height="${(padT + plotH - y(d.value2)).toFixed(1)}" fill="${COLORS[0]}"><title>${esc(d.label)}: ${d.value2}</title></rect>`;
    if (data.length <= 40 || i % Math.ceil(data.length / 40) === 0)
      s += `<text x="${(x + bwi / 2).toFixed(1)}" y="${h - padB + 14}" font-size="10" text-anchor="end" ` +
        `transform="rotate(-35 ${(x + bwi / 2).toFixed(1)} ${h - padB + 14})" fill="#333">${esc(d.label)}</text>`;
  });
  if (o.legend) s += `<rect x="${w - 170}" y="4" width="10" height="10" fill="${COLORS[1]}"/><text x="${w - 156}" y="13" font-size="11">${esc(o.legend[0])}</text>` +
    `<rect x="${w - 90}" y="4" width="10" height="10" fill="${COLORS[0]}"/><text x="${w - 76}" y="13" font-size="11">${esc(o.legend[1])}</text>`;
  return s + '</svg>';
}

// horizontal bars with counts and shares: data [{label, value, share}]
function hbarChart(data, title) {
  const w = 640, row = 24, padL = 150, h = data.length * row + 26;
  const max = Math.max(1, ...data.map((d) => d.value));
  let s = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(title)}">`;
  data.forEach((d, i) => {
    const y = 8 + i * row, bw = (d.value / max) * (w - padL - 110);
    s += `<text x="${padL - 6}" y="${y + 14}" font-size="12" text-anchor="end" fill="#333">${esc(d.label)}</text>` +
      `<rect class="bar" x="${padL}" y="${y + 2}" width="${Math.max(bw, d.value ? 2 : 0).toFixed(1)}" height="16" fill="${COLORS[i % COLORS.length]}">` +
      `<title>${esc(d.label)}: ${d.value}</title></rect>` +
      `<text x="${(padL + bw + 6).toFixed(1)}" y="${y + 14}" font-size="12" fill="#333">${d.value}（${pct(d.share)}）</text>`;
  });
  return s + '</svg>';
}

// pie with a legend: data [{label, value}]
function pieChart(data, title) {
  const total = data.reduce((a, d) => a + d.value, 0);
  const w = 640, r = 90, cx = 110, cy = 105, h = Math.max(220, data.length * 20 + 20);
  let s = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(title)}">`;
  if (!total) s += `<circle cx="${cx}" cy="${cy}" r="${r}" fill="#eee"/><text x="${cx}" y="${cy}" text-anchor="middle" font-size="12">无人作答</text>`;
  let a0 = -Math.PI / 2;
  data.forEach((d, i) => {
    if (!total || !d.value) return;
    const frac = d.value / total, a1 = a0 + frac * 2 * Math.PI, color = COLORS[i % COLORS.length];
    if (frac >= 0.9999) {
      s += `<circle class="slice" cx="${cx}" cy="${cy}" r="${r}" fill="${color}"><title>${esc(d.label)}: ${d.value}</title></circle>`;
    } else {
      const x0 = cx + r * Math.cos(a0), y0 = cy + r * Math.sin(a0), x1 = cx + r * Math.cos(a1), y1 = cy + r * Math.sin(a1);
      s += `<path class="slice" d="M${cx},${cy} L${x0.toFixed(2)},${y0.toFixed(2)} A${r},${r} 0 ${frac > 0.5 ? 1 : 0} 1 ` +
        `${x1.toFixed(2)},${y1.toFixed(2)} Z" fill="${color}" stroke="#fff"><title>${esc(d.label)}: ${d.value}</title></path>`;
    }
    a0 = a1;
  });
  data.forEach((d, i) => {
    const y = 14 + i * 20;
    s += `<rect x="240" y="${y}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>` +
      `<text x="258" y="${y + 11}" font-size="12" fill="#333">${esc(d.label)} ${d.value}（${total ? pct(d.value / total) : '0%'}）</text>`;
  });
  return s + '</svg>';
}

// ---------------------------------------------------------------- the day's list and one questionnaire

async function showDay() {
  const q = { date: $('day-date').value, dept: $('day-dept').value.trim(), state: $('day-state').value };
  $('day-csv').href = `${BASE}/sessions?` + query({ ...q, format: 'csv' });
  const r = await api('GET', `${BASE}/sessions?` + query(q));
  if (!r.ok) { $('day-err').textContent = errText(r); $('day-rows').innerHTML = ''; return; }
  $('day-err').textContent = r.data.truncated ? '只显示了前一部分，请按科室或状态筛选' : '';
  let dept = null, html = '';
  const counts = {};
  r.data.sessions.forEach((s) => { counts[s.department] = (counts[s.department] || 0) + 1; });
  r.data.sessions.forEach((s) => {
    if (s.department !== dept) {
      dept = s.department;
      html += `<tr class="dept-row"><th colspan="10">科室 ${esc(dept)}（${counts[dept]} 份）</th></tr>`;
    }
    html += `<tr class="pick" data-visit="${esc(s.visitNo)}"><td>${esc(s.visitTime)}</td><td>${esc(s.visitNo)}</td>` +
      `<td>${esc(s.name)}</td><td>${esc(SEX[s.sex] || s.sex)}</td><td>${esc(s.age)}</td><td>${esc(s.doctor)}</td>` +
      `<td>${esc(s.title || s.template)}</td><td>${esc(s.answered)}</td>` +
      `<td class="${s.state === 'stopped' ? 'bad' : s.state === 'completed' ? 'ok' : ''}">${esc(STATE[s.state] || s.state)}</td>` +
      `<td>${esc(s.submittedAt)}</td></tr>`;
  });
  $('day-rows').innerHTML = html || '<tr><td colspan="10" class="muted">当天没有预问诊</td></tr>';
}

async function showVisit(visitNo) {
  const r = await api('GET', `${BASE}/sessions/` + encodeURIComponent(visitNo));
  if (!r.ok) { $('day-err').textContent = errText(r); return; }
  const v = r.data;
  $('detail').hidden = false;
  $('detail-title').textContent = `${v.visitNo} · ${v.title || v.template}`;
  $('detail-head').textContent = `${v.name} ${SEX[v.sex] || v.sex} ${v.age}岁 · 科室 ${v.department} · ${v.doctor || ''} · ` +
    `就诊 ${v.visitTime} · ${STATE[v.state] || v.state}${v.submittedAt ? ' · 提交 ' + v.submittedAt : ''}`;
  $('detail-advice').hidden = !v.advice;
  $('detail-advice').textContent = v.advice ? '红旗终止：' + v.advice : '';
  const secs = v.sections || {};
  $('detail-sections').innerHTML = SECTIONS.map(([k, label]) =>
    `<tr><td class="sec-label">${esc(label)}</td><td data-sec="${k}">${esc(secs[k]) || '<span class="muted">—</span>'}</td></tr>`).join('');
  $('detail-answers').innerHTML = (v.answers || []).map((a) =>
    `<tr class="${a.applies ? '' : 'muted'}"><td>${esc(a.text)}</td><td>${esc(a.display)}${a.applies ? '' : '（已不适用）'}</td></tr>`).join('') ||
    '<tr><td colspan="2" class="muted">尚未作答</td></tr>';
  $('detail').scrollIntoView({ behavior: 'smooth' });
}

// ---------------------------------------------------------------- statistics

async function showStats() {
  const group = $('st-group').value;
  const q = { from: $('st-from').value, to: $('st-to').value, dept: $('st-dept').value.trim(),
    template: $('st-template').value.trim(), group };
  $('st-csv').href = `${BASE}/stats?` + query({ ...q, format: 'csv' });
  const r = await api('GET', `${BASE}/stats?` + query(q));
  if (!r.ok) { $('st-err').textContent = errText(r); $('st-rows').innerHTML = ''; $('st-chart').innerHTML = ''; return; }
  $('st-err').textContent = '';
  $('st-key').textContent = GROUP[group] || group;
  const label = (k) => (group === 'sex' ? (SEX[k] || k) : group === 'hour' ? k + '时' : k);
  const row = (k, x) => `<td>${x.visits}</td><td>${x.started}</td><td>${x.completed}</td>` +
    `<td class="${x.stopped ? 'bad' : ''}">${x.stopped}</td><td>${x.open}</td><td>${pct(x.completionRate)}</td>`;
  $('st-rows').innerHTML = r.data.rows.map((x) => `<tr><td>${esc(label(x.key))}</td>${row(x.key, x)}</tr>`).join('') +
    `<tr><th>合计</th>${row('', r.data.totals)}</tr>`;
  const data = r.data.rows.map((x) => ({ label: label(x.key), value: x.visits, value2: x.completed }));
  $('st-chart').innerHTML = ['dept', 'sex', 'age_band', 'channel', 'template'].includes(group) && data.length <= 10
    ? barChart(data, { title: `问卷数与已提交（${GROUP[group]}）`, legend: ['问卷数', '已提交'] }) +
      pieChart(data.map((d) => ({ label: d.label, value: d.value })), `问卷数占比（${GROUP[group]}）`)
    : barChart(data, { title: `问卷数与已提交（${GROUP[group]}）`, legend: ['问卷数', '已提交'] });
}

async function showQuestions() {
  const q = { template: $('qs-template').value.trim(), version: $('qs-version').value.trim(),
    from: $('qs-from').value, to: $('qs-to').value, dept: $('qs-dept').value.trim() };
  if (!q.template) { $('qs-err').textContent = '请填写问卷编号（如 resp-0301）'; return; }
  const r = await api('GET', `${BASE}/stats/questions?` + query(q));
  if (!r.ok) { $('qs-err').textContent = errText(r); $('qs-items').innerHTML = ''; $('qs-csv').hidden = true; return; }
  $('qs-err').textContent = '';
  const d = r.data;
  $('qs-csv').hidden = false;
  $('qs-csv').href = `${BASE}/stats/questions?` + query({ ...q, version: d.version, format: 'csv' });
  $('qs-head').textContent = `${d.title || d.template} 第 ${d.version} 版 · ${d.from} 至 ${d.to} · 已提交问卷 ${d.questionnaires} 份`;
  const kind = $('qs-kind').value;
  $('qs-items').innerHTML = d.items.map((it) => {
    let body = `<p class="muted">应答 ${it.asked} 人，作答 ${it.answered} 人，完成率 ${pct(it.completionRate)}</p>`;
    if (it.options) {
      const data = it.options.map((o) => ({ label: o.display, value: o.count, share: o.share }));
      body += kind === 'pie' && it.type !== 'multi' ? pieChart(data, it.text) : hbarChart(data, it.text);
    }
    if (it.number) body += `<p>最小 ${esc(it.number.min)}，最大 ${esc(it.number.max)}，平均 ${esc(it.number.mean)}</p>`;
    return `<div class="q-item" data-link="${esc(it.linkId)}"><h4>${esc(it.text)} <span class="muted">${esc(it.linkId)} · ${esc(it.type)}</span></h4>${body}</div>`;
  }).join('');
}

// ---------------------------------------------------------------- preview of a template version

// the patient's page in a phone-sized frame (consult-preview.html runs q.js over the staff preview
// API); a new frame for every start, so that the walk begins again
async function openPreview() {
  const tid = $('pv-template').value.trim(), ver = $('pv-version').value.trim();
  const q = { sex: $('pv-sex').value, birthDate: $('pv-birth').value };
  if (!tid || !ver) { $('pv-err').textContent = '请填写问卷编号和版本（如 resp-0301 第 1 版）'; return; }
  // the version must be one the user may see; its first page says whether the parameters are right
  const r = await api('GET', `${BASE}/templates/${encodeURIComponent(tid)}/versions/${encodeURIComponent(ver)}/preview?` + query(q));
  if (!r.ok) { $('pv-err').textContent = errText(r); $('pv-frame-box').hidden = true; $('pv-restart').hidden = true; return; }
  $('pv-err').textContent = '';
  const f = document.createElement('iframe');
  f.id = 'pv-frame';
  f.title = `问卷预览 ${tid} 第 ${ver} 版`;
  f.src = 'consult-preview.html#' + query({ template: tid, version: ver, ...q });
  $('pv-frame-box').replaceChildren(f);
  $('pv-frame-box').hidden = false;
  $('pv-restart').hidden = false;
}

// ---------------------------------------------------------------- start

async function start() {
  const me = await api('GET', '/hg/me');
  if (!me.ok) { $('login-box').hidden = false; $('main').hidden = true; return; }
  csrf = me.data.csrf_token;
  $('who').textContent = `${me.data.username} (${(me.data.roles || []).join(', ')})`;
  $('login-box').hidden = true; $('main').hidden = false;
  const roles = me.data.roles || [];
  if (!roles.includes('admin') && !roles.includes('consult_admin') && me.data.department) {
    // a department's doctor sees only their own department
    ['day-dept', 'st-dept', 'qs-dept'].forEach((id) => { $(id).value = me.data.department; $(id).readOnly = true; });
  }
  $('day-date').value = localDate(0);
  $('st-to').value = $('qs-to').value = localDate(0);
  $('st-from').value = $('qs-from').value = localDate(-29);
  await showDay();
  await showStats();
}

$('day-search').addEventListener('click', showDay);
$('day-rows').addEventListener('click', (ev) => {
  const tr = ev.target.closest('tr[data-visit]');
  if (tr) showVisit(tr.dataset.visit);
});
$('detail-close').addEventListener('click', () => { $('detail').hidden = true; });
$('pv-open').addEventListener('click', openPreview);
$('pv-restart').addEventListener('click', openPreview);
$('st-search').addEventListener('click', showStats);
$('st-group').addEventListener('change', showStats);
$('qs-search').addEventListener('click', showQuestions);
$('qs-kind').addEventListener('change', () => { if (!$('qs-csv').hidden) showQuestions(); });
start();
