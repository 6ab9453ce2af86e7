// hisgate console · 预问诊: the day's questionnaires per department, one questionnaire, the
// questionnaire templates (list, editor, review, FHIR import/export, choice rules), a template
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
  age_band: '年龄段', sex: '性别', channel: '链接渠道', entry: '就诊入口', fill_hour: '填写时段' };
const ENTRY = { registration: '挂号', appointment: '预约', app: 'APP', wechat: '公众号', qrcode: '扫码', kiosk: '自助机',
  other: '其他', unknown: '未注明' };
const CHANNEL = { sms: '短信', wechat: '微信', unknown: '未注明' };
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
  const q = { date: $('day-date').value, dept: $('day-dept').value.trim(), state: $('day-state').value,
    patientId: $('day-patient').value.trim() };
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
  const label = (k) => (group === 'sex' ? (SEX[k] || k) : group === 'hour' ? k + '时'
    : group === 'entry' ? (ENTRY[k] || k) : group === 'channel' ? (CHANNEL[k] || k)
    : group === 'fill_hour' ? (k === '-' ? '未提交' : k + '时') : k);
  const row = (k, x) => `<td>${x.visits}</td><td>${x.started}</td><td>${x.completed}</td>` +
    `<td class="${x.stopped ? 'bad' : ''}">${x.stopped}</td><td>${x.open}</td><td>${pct(x.completionRate)}</td>`;
  $('st-rows').innerHTML = r.data.rows.map((x) => `<tr><td>${esc(label(x.key))}</td>${row(x.key, x)}</tr>`).join('') +
    `<tr><th>合计</th>${row('', r.data.totals)}</tr>`;
  const data = r.data.rows.map((x) => ({ label: label(x.key), value: x.visits, value2: x.completed }));
  $('st-chart').innerHTML = ['dept', 'sex', 'age_band', 'channel', 'entry', 'template'].includes(group) && data.length <= 10
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

// ---------------------------------------------------------------- questionnaire templates: list, editor, review, rules

// what the user may do, from GET /hg/me (the API checks again on every call)
const ME = { roles: [], department: '', author: false, reviewer: false, admin: false };
const TSTATUS = { draft: '草稿', review: '待审核', approved: '已发布', rejected: '已退回' };
const TBASE = `${BASE}/templates`;
const vpath = (tid, ver) => `${TBASE}/${encodeURIComponent(tid)}/versions/${encodeURIComponent(ver)}`;
// a minimal valid definition, in the shape of the demo templates (mod_consult/demo.sql, generic)
const SKELETON = {
  title: '新问卷',
  items: [
    { linkId: 'complaint', type: 'text', text: '您这次主要哪里不舒服？', required: true, maxLength: 200,
      section: 'chief_complaint', narrative: '{value}' },
    { linkId: 'allergy', type: 'choice', text: '是否有药物或食物过敏？', required: true, section: 'allergy_history',
      options: [{ code: 'none', display: '没有', narrative: '否认药物、食物过敏史' },
        { code: 'yes', display: '有', narrative: '有药物或食物过敏史' }] },
  ],
};
let editing = null;     // null: a new template; else {templateId, version, status}

async function showTemplates() {
  const r = await api('GET', `${TBASE}?` + query({ status: $('tp-status').value }));
  if (!r.ok) { $('tp-err').textContent = errText(r); $('tp-rows').innerHTML = ''; return; }
  $('tp-err').className = 'err';
  $('tp-err').textContent = '';
  const seen = new Set();
  $('tp-rows').innerHTML = r.data.templates.map((t) => {
    const newest = !seen.has(t.templateId);       // the list is newest first per template
    seen.add(t.templateId);
    const scope = t.department ? `科室 ${esc(t.department)}` : '全院通用';
    const who = [['创建', t.createdBy], ['修改', t.updatedBy !== t.createdBy ? t.updatedBy : null], ['提交', t.submittedBy],
      ['审核', t.reviewedBy]].filter(([, u]) => u).map(([k, u]) => `${k} ${esc(u)}`).join('<br>');
    const b = (act, label) => `<button data-act="${act}">${label}</button>`;
    let acts = '';
    if (t.editable && ['draft', 'rejected', 'approved'].includes(t.status)) acts += b('edit', '编辑');
    if (t.editable && ['draft', 'rejected'].includes(t.status)) acts += b('submit', '提交审核');
    if (t.reviewable) acts += b('approve', '通过') + b('reject', '退回');
    if (t.editable && newest) acts += b('newver', '新版本');
    acts += b('preview', '预览');
    acts += `<a href="${esc(vpath(t.templateId, t.version))}/fhir" target="_blank" rel="noopener" data-act="fhir">导出 FHIR</a>`;
    return `<tr data-tid="${esc(t.templateId)}" data-ver="${esc(t.version)}" data-status="${esc(t.status)}">` +
      `<td>${esc(t.templateId)}</td><td>${esc(t.title)}</td><td>${esc(t.version)}</td>` +
      `<td>${scope}${t.disease ? ' · 病种 ' + esc(t.disease) : ''}</td>` +
      `<td class="st-${esc(t.status)}">${esc(TSTATUS[t.status] || t.status)}</td><td>${who}</td>` +
      `<td class="tp-comment">${esc(t.reviewComment)}</td><td>${esc((t.updatedAt || '').replace('T', ' '))}</td>` +
      `<td class="tp-acts">${acts}</td></tr>`;
  }).join('') || '<tr><td colspan="9" class="muted">没有问卷模板</td></tr>';
}

function editorFail(r) {
  $('tp-ed-msg').textContent = '';
  $('tp-ed-fail').hidden = false;
  $('tp-ed-err').textContent = r.data ? (r.data.message || ('HTTP ' + r.status)) : r;
  $('tp-ed-field').textContent = (r.data && r.data.field) || '';
  $('tp-ed-field-box').hidden = !(r.data && r.data.field);
}

function openEditor(v) {
  editing = v ? { templateId: v.templateId, version: v.version, status: v.status } : null;
  $('tp-import').hidden = true;
  $('tp-editor').hidden = false;
  $('tp-ed-fail').hidden = true;
  $('tp-ed-msg').textContent = '';
  $('tp-ed-head').textContent = v ? `编辑 ${v.templateId} 第 ${v.version} 版（${TSTATUS[v.status] || v.status}）` : '新建问卷';
  $('tp-ed-note').textContent = !v ? '保存后成为第 1 版草稿。'
    : v.status === 'approved' ? '已发布的版本不会改变：保存后成为新的草稿版本。'
    : v.status === 'rejected' ? '保存后回到草稿，修改好再提交审核。' : '';
  $('tp-ed-id').value = v ? v.templateId : '';
  $('tp-ed-title').value = v ? (v.title || '') : SKELETON.title;
  $('tp-ed-dept').value = v ? (v.department || '') : (ME.admin ? '' : ME.department);
  $('tp-ed-disease').value = v ? (v.disease || '') : '';
  ['tp-ed-id', 'tp-ed-dept', 'tp-ed-disease'].forEach((id) => { $(id).readOnly = !!v; });
  const def = v ? Object.assign({}, v.definition) : SKELETON;
  if (v) { delete def.id; delete def.version; }      // the server sets them from the row
  $('tp-ed-def').value = JSON.stringify(def, null, 2);
  $('tp-editor').scrollIntoView({ behavior: 'smooth' });
}

async function saveEditor() {
  let def;
  try { def = JSON.parse($('tp-ed-def').value); } catch (e) { editorFail(`定义不是合法的 JSON：${e.message}`); return; }
  const title = $('tp-ed-title').value.trim();
  let r;
  $('tp-ed-save').disabled = true;
  if (!editing) {
    const body = { templateId: $('tp-ed-id').value.trim(), definition: def };
    if (title) body.title = title;
    if ($('tp-ed-dept').value.trim()) body.department = $('tp-ed-dept').value.trim();
    if ($('tp-ed-disease').value.trim()) body.disease = $('tp-ed-disease').value.trim();
    r = await api('POST', TBASE, body);
  } else {
    r = await api('POST', vpath(editing.templateId, editing.version), title ? { definition: def, title } : { definition: def });
  }
  $('tp-ed-save').disabled = false;
  if (!r.ok) { editorFail(r); return; }
  openEditor(r.data);
  $('tp-ed-msg').textContent = `已保存：${r.data.templateId} 第 ${r.data.version} 版（${TSTATUS[r.data.status] || r.data.status}）`;
  await showTemplates();
}

async function importFhir() {
  let q;
  try { q = JSON.parse($('tp-im-json').value); } catch (e) { $('tp-im-err').textContent = `不是合法的 JSON：${e.message}`; return; }
  const body = { questionnaire: q };
  [['templateId', 'tp-im-id'], ['title', 'tp-im-title'], ['department', 'tp-im-dept'], ['disease', 'tp-im-disease']]
    .forEach(([k, id]) => { if ($(id).value.trim()) body[k] = $(id).value.trim(); });
  const r = await api('POST', `${TBASE}/import`, body);
  if (!r.ok) { $('tp-im-err').textContent = errText(r); return; }
  $('tp-im-err').textContent = '';
  openEditor(r.data);
  $('tp-ed-msg').textContent = `已导入：${r.data.templateId} 第 ${r.data.version} 版（草稿）`;
  await showTemplates();
}

function tpDone(text, ok) {
  $('tp-err').className = ok ? 'ok' : 'err';
  $('tp-err').textContent = text;
}

async function templateAction(ev) {
  const el = ev.target.closest('[data-act]'), tr = ev.target.closest('tr[data-tid]');
  if (!el || !tr || el.tagName === 'A') return;
  const tid = tr.dataset.tid, ver = tr.dataset.ver, act = el.dataset.act, name = `${tid} 第 ${ver} 版`;
  let r;
  if (act === 'preview') {
    $('pv-template').value = tid;
    $('pv-version').value = ver;
    await openPreview();
    $('pv').scrollIntoView({ behavior: 'smooth' });
    return;
  }
  if (act === 'edit') {
    r = await api('GET', vpath(tid, ver));
    if (r.ok) openEditor(r.data); else tpDone(errText(r), false);
    return;
  }
  const body = {};
  if (act === 'approve' || act === 'reject') {
    const c = window.prompt(`${name}：${act === 'approve' ? '审核意见（可不填）' : '退回原因（必填）'}`);
    if (c == null) return;
    if (act === 'reject' && !c.trim()) { tpDone('退回需要填写原因', false); return; }
    if (c.trim()) body.comment = c.trim();
  }
  el.disabled = true;
  r = act === 'newver' ? await api('POST', `${TBASE}/${encodeURIComponent(tid)}/versions`, {})
    : await api('POST', `${vpath(tid, ver)}/${act}`, body);
  if (!r.ok) { el.disabled = false; tpDone(`${name}：${errText(r)}`, false); return; }
  await showTemplates();
  tpDone({ submit: `${name} 已提交审核`, approve: `${name} 已通过审核并发布`, reject: `${name} 已退回`,
    newver: `${tid} 新建了第 ${r.data.version} 版（草稿）` }[act] || '', true);
  if (act === 'newver') openEditor(r.data);
}

async function showRules() {
  const r = await api('GET', `${BASE}/rules`);
  if (!r.ok) { $('ru-err').textContent = errText(r); $('ru-rows').innerHTML = ''; return; }
  $('ru-rows').innerHTML = r.data.rules.map((u) => {
    const mine = ME.admin || (u.department && u.department === ME.department);
    return `<tr data-rule="${esc(u.id)}" class="${u.enabled ? '' : 'off'}"><td>${esc(u.id)}</td><td>${esc(u.templateId)}</td>` +
      `<td>${esc(u.department) || '全部'}</td><td>${esc(u.disease) || '全部'}</td><td>${esc(u.doctor) || '全部'}</td>` +
      `<td>${esc(u.priority)}</td><td>${esc(u.note)}</td><td>${esc(u.createdBy)}</td><td>${u.enabled ? '启用' : '已停用'}</td>` +
      `<td>${mine ? `<button data-act="${u.enabled ? 'disable' : 'enable'}">${u.enabled ? '停用' : '启用'}</button>` : ''}</td></tr>`;
  }).join('') || '<tr><td colspan="10" class="muted">没有规则</td></tr>';
}

async function addRule(ev) {
  ev.preventDefault();
  const body = {};
  for (const el of ev.target.elements) {
    if (!el.name || el.value.trim() === '') continue;
    body[el.name] = el.type === 'number' ? Number(el.value) : el.value.trim();
  }
  const r = await api('POST', `${BASE}/rules`, body);
  $('ru-err').className = r.ok ? 'ok' : 'err';
  $('ru-err').textContent = r.ok ? `已添加规则 ${r.data.id}` : errText(r);
  if (r.ok) await showRules();
}

async function ruleAction(ev) {
  const el = ev.target.closest('button[data-act]'), tr = ev.target.closest('tr[data-rule]');
  if (!el || !tr) return;
  el.disabled = true;
  const r = await api('POST', `${BASE}/rules/${encodeURIComponent(tr.dataset.rule)}/${el.dataset.act}`, {});
  $('ru-err').className = r.ok ? 'ok' : 'err';
  $('ru-err').textContent = r.ok ? `规则 ${r.data.id} 已${r.data.enabled ? '启用' : '停用'}` : errText(r);
  if (r.ok) await showRules(); else el.disabled = false;
}

async function startTemplates(me) {
  const roles = me.roles || [];
  ME.roles = roles;
  ME.department = me.department || '';
  ME.admin = roles.includes('admin') || roles.includes('consult_admin');
  ME.author = ME.admin || roles.includes('consult_author');
  ME.reviewer = ME.admin || roles.includes('consult_reviewer');
  // a doctor reads the department's published templates (and previews them), nothing more
  ME.doctor = roles.includes('consult_doctor');
  if (!ME.author && !ME.reviewer && !ME.doctor) return;       // the template API would answer 403
  $('tp').hidden = false;
  document.querySelectorAll('.tp-author').forEach((e) => { e.hidden = !ME.author; });
  $('ru-box').hidden = !ME.author && !ME.reviewer;
  if ($('tp-status')) $('tp-status').disabled = !ME.author && !ME.reviewer;
  if (!ME.admin) $('ru-dept').value = ME.department;
  await showTemplates();
  if (ME.author || ME.reviewer) await showRules();
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
  await startTemplates(me.data);
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
$('tp-search').addEventListener('click', showTemplates);
$('tp-status').addEventListener('change', showTemplates);
$('tp-rows').addEventListener('click', templateAction);
$('tp-new').addEventListener('click', () => openEditor(null));
$('tp-ed-save').addEventListener('click', saveEditor);
$('tp-ed-close').addEventListener('click', () => { $('tp-editor').hidden = true; });
$('tp-import-open').addEventListener('click', () => { $('tp-editor').hidden = true; $('tp-import').hidden = false; });
$('tp-im-save').addEventListener('click', importFhir);
$('tp-im-close').addEventListener('click', () => { $('tp-import').hidden = true; });
$('ru-form').addEventListener('submit', addRule);
$('ru-rows').addEventListener('click', ruleAction);
$('pv-restart').addEventListener('click', openPreview);
$('st-search').addEventListener('click', showStats);
$('st-group').addEventListener('change', showStats);
$('qs-search').addEventListener('click', showQuestions);
$('qs-kind').addEventListener('change', () => { if (!$('qs-csv').hidden) showQuestions(); });
start();
