// hisgate console · 票据管理: stock (申领入库, 分发), its balance (领用存) and log, voids, daily report, summaries by cashier and
// by payment channel, bill list — plain JS over
// /invoice/staff/v1/ (no framework, no CDN).  Every server string goes through esc().
'use strict';
const BASE = '/invoice/staff/v1';
let billsNext = null;
let canAdmin = false;
let canCashier = false;
const KIND = { ebill: '电子', paper: '纸质' };
const STATE = { normal: '正常', flushed: '已冲红' };
const UPLOAD = { done: '已上传', pending: '待上传', inflight: '上传中', dead: '失败' };

const errText = (r) => (r.data.message || ('HTTP ' + r.status)) + (r.data.field ? ` (${r.data.field})` : '');
const query = (o) => Object.entries(o).filter(([, v]) => v !== '' && v != null)
  .map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');

function localDate() {
  const d = new Date();
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

async function showStock() {
  const r = await api('GET', `${BASE}/stock?` + query({ open: $('open-only').checked ? '1' : '' }));
  if (!r.ok) { $('stock-err').textContent = errText(r); return; }
  $('stock-err').textContent = '';
  $('stock-rows').innerHTML = r.data.stock.map((s) =>
    `<tr><td>${esc(s.stockId)}</td><td>${esc(s.placeCode)} ${esc(s.placeName)}</td><td>${esc(KIND[s.kind] || s.kind)}</td>` +
    `<td>${esc(s.billBatchCode)}</td><td>${esc(s.startNo)}</td><td>${esc(s.endNo)}</td><td>${esc(s.nextNo)}</td>` +
    `<td>${esc(s.used)}</td><td>${esc(s.remaining)}</td><td>${esc(s.createdAt)}</td>` +
    `<td>${canAdmin && s.remaining > 0 ? `<button data-stock="${esc(s.stockId)}">分发</button>` : ''}` +
    // 撤销入库 for a range as it came in (nothing used); the server refuses one distributed from
    `${canAdmin && s.used === 0 ? ` <button data-withdraw="${esc(s.stockId)}">撤销入库</button>` : ''}</td></tr>`).join('');
}

async function showPlaces() {
  const r = await api('GET', `${BASE}/places`);
  if (!r.ok) return;
  $('place-list').innerHTML = r.data.places.map((p) =>
    `<option value="${esc(p.placeCode)}">${esc(p.name)} · 电子余 ${esc(p.ebillRemaining)} · 纸质余 ${esc(p.paperRemaining)}</option>`).join('');
  // 库存预警 (InvoiceStockLow): the billing points to give numbers to before their windows stop
  const low = r.data.places.flatMap((p) => [
    p.ebillLow ? `${esc(p.name)}（${esc(p.placeCode)}）电子票据仅余 ${esc(p.ebillRemaining)} 张` : null,
    p.paperLow ? `${esc(p.name)}（${esc(p.placeCode)}）纸质票据仅余 ${esc(p.paperRemaining)} 张` : null,
  ]).filter((x) => x);
  $('stock-warn').innerHTML = low.length ? '库存预警：' + low.join('；') + '。请及时申领或分发。' : '';
  $('stock-warn').hidden = !low.length;
}

async function showReport() {
  const date = $('report-date').value;
  $('csv-link').href = `${BASE}/reports/daily?` + query({ date, format: 'csv' });
  const r = await api('GET', `${BASE}/reports/daily?` + query({ date }));
  if (!r.ok) { $('report-err').textContent = errText(r); $('report-rows').innerHTML = ''; return; }
  $('report-err').textContent = '';
  const cells = (o) => ['bills', 'amount', 'redBills', 'redAmount', 'flushed', 'paperExchanges', 'paperVoids',
    'blankVoids', 'uploadsDone', 'uploadsPending', 'uploadsDead'].map((k) =>
    `<td class="${k === 'uploadsDead' && o[k] > 0 ? 'bad' : ''}">${esc(o[k])}</td>`).join('');
  $('report-rows').innerHTML = r.data.rows.map((x) =>
    `<tr><td>${esc(x.placeCode)} ${esc(x.placeName)}</td><td>${esc(x.kindLabel)}</td>${cells(x)}</tr>`).join('') +
    `<tr><th>合计</th><th></th>${cells(r.data.totals)}</tr>`;
}

// every period report's filters, from one template: <span class="period" data-prefix="bal"> gets
// bal-from, bal-to, bal-place, bal-search and bal-csv
for (const el of document.querySelectorAll('.period')) {
  const p = el.dataset.prefix;
  el.innerHTML = `<label>起始日期 <input type="date" id="${p}-from"></label> ` +
    `<label>截止日期 <input type="date" id="${p}-to"></label> ` +
    `<label>开票点（空 = 全部） <input id="${p}-place" list="place-list" maxlength="50"></label> ` +
    `<button id="${p}-search">${el.dataset.button}</button> <a id="${p}-csv" href="#">下载 CSV（Excel）</a>`;
}

// a period report: reads its filters (<prefix>-from, -to, -place), sets its CSV link, answers its
// data, or null with the error shown and the rows emptied
async function periodReport(prefix, path, extra = {}) {
  const q = { ...extra, from: $(prefix + '-from').value, to: $(prefix + '-to').value,
    placeCode: $(prefix + '-place').value.trim() };
  $(prefix + '-csv').href = `${BASE}${path}?` + query({ ...q, format: 'csv' });
  const r = await api('GET', `${BASE}${path}?` + query(q));
  $(prefix + '-err').textContent = r.ok ? '' : errText(r);
  if (!r.ok) $(prefix + '-rows').innerHTML = '';
  return r.ok ? r.data : null;
}

// 票据领用存: per billing point, kind and bill code, numbers held, received, given on, used, held
async function showBalance() {
  const d = await periodReport('bal', '/reports/stock');
  if (!d) return;
  const cells = (o) => ['opening', 'received', 'sent', 'used', 'voided', 'closing'].map((k) => `<td>${esc(o[k])}</td>`).join('');
  $('bal-rows').innerHTML = d.rows.map((x) =>
    `<tr><td>${esc(x.placeCode)} ${esc(x.placeName)}</td><td>${esc(x.kindLabel)}</td><td>${esc(x.billBatchCode)}</td>` +
    `${cells(x)}</tr>`).join('') + `<tr><th>合计</th><th></th><th></th>${cells(d.totals)}</tr>`;
}

// 票据作废情况: papers voided, blank paper numbers voided, e-bills flushed
async function showVoids() {
  const d = await periodReport('void', '/reports/voids');
  if (!d) return;
  $('void-rows').innerHTML = d.rows.map((x) =>
    `<tr><td>${esc(x.at)}</td><td>${esc(x.typeLabel)}</td><td>${esc(x.placeCode)} ${esc(x.placeName)}</td>` +
    `<td>${esc(x.billBatchCode)}</td><td>${esc(x.billNo)}</td><td>${esc(x.related)}</td><td>${esc(x.operator)}</td>` +
    `<td>${esc(x.reason)}</td></tr>`).join('');
  const t = d.totals;
  $('void-totals').textContent = `作废纸质票 ${t.paper}，作废空白纸质票 ${t.blank}，冲红 ${t.flush}` +
    (d.truncated ? '（只显示前 5000 条，请缩小日期范围）' : '');
}

// 票据领发情况: ranges received from finance and moved between billing points
async function showStockLog() {
  const d = await periodReport('log', '/stock/log');
  if (!d) return;
  $('log-rows').innerHTML = d.rows.map((x) =>
    `<tr><td>${esc(x.at)}</td><td>${esc(x.actionLabel)}</td><td>${esc(x.kindLabel)}</td><td>${esc(x.billBatchCode)}</td>` +
    `<td>${esc(x.startNo)}</td><td>${esc(x.endNo)}</td><td>${esc(x.count)}</td>` +
    `<td>${x.fromPlace ? esc(x.fromPlace + ' ' + x.fromPlaceName) : '财政'}</td>` +
    `<td>${esc(x.toPlace + ' ' + x.toPlaceName)}</td><td>${esc(x.operator)}</td></tr>`).join('');
  $('log-totals').textContent = `申领入库 ${d.totals.applied} 张，分发 ${d.totals.distributed} 张` +
    (d.truncated ? '（只显示前 5000 条，请缩小日期范围）' : '');
}

// 收费员 / 缴款渠道 / 收费项目汇总表: a bill paid through two channels is in both rows, once in 合计;
// the deposit vouchers (住院预交金) of each row apart, as the stay's inpatient bill settles them again
async function showSummary() {
  const by = $('sum-by').value;
  $('sum-key').textContent = { payee: '收费员', channel: '缴款渠道', charge: '收费项目' }[by];
  const d = await periodReport('sum', '/reports/summary', { by });
  if (!d) return;
  const cells = (o) => ['bills', 'amount', 'redBills', 'redAmount', 'net', 'depositBills', 'depositNet']
    .map((k) => `<td>${esc(o[k])}</td>`).join('');
  $('sum-rows').innerHTML = d.rows.map((x) =>
    `<tr><td>${x[by] ? esc(x[by] + (x.name ? ' ' + x.name : '')) : '（未记录）'}</td>${cells(x)}</tr>`).join('') +
    `<tr><th>合计</th>${cells(d.totals)}</tr>`;
}

async function showBills(more) {
  const q = { date: $('bills-date').value, placeCode: $('bills-place').value.trim(), state: $('bills-state').value };
  $('bills-csv').href = `${BASE}/bills?` + query({ ...q, format: 'csv' });
  if (more && billsNext) q.beforeId = billsNext;
  const r = await api('GET', `${BASE}/bills?` + query(q));
  if (!r.ok) { $('bills-err').className = 'err'; $('bills-err').textContent = errText(r); return; }
  if ($('bills-err').className !== 'ok') $('bills-err').textContent = '';
  const html = r.data.bills.map((b) =>
    `<tr><td>${esc(b.billBatchCode)}</td><td>${esc(b.billNo)}</td><td>${esc(b.busNo)}</td><td>${esc(b.kindLabel)}</td>` +
    `<td>${esc(b.placeCode)}</td><td>${esc(b.totalAmt)}</td>` +
    `<td>${b.isScarlet ? '红票' : esc(STATE[b.state] || b.state)}</td>` +
    `<td>${b.paper ? esc(b.paper.pBillBatchCode + ' ' + b.paper.pBillNo) : ''}</td>` +
    `<td class="${b.uploadState === 'dead' ? 'bad' : ''}">${esc(UPLOAD[b.uploadState] || b.uploadState)}</td>` +
    `<td>${esc(b.issuedAt)}</td><td>${esc(b.issuedBy || 'HIS')}</td><td>${windowButtons(b)}</td></tr>`).join('');
  if (more) $('bill-rows').insertAdjacentHTML('beforeend', html); else $('bill-rows').innerHTML = html;
  billsNext = r.data.nextBeforeId;
  $('bills-more').hidden = !billsNext;
}

// the window's actions on one bill (冲红, 换开纸质, 重新换开, 作废纸质) and its files to print
function windowButtons(b) {
  const ref = `data-code="${esc(b.billBatchCode)}" data-no="${esc(b.billNo)}"`;
  const btn = (act, label) => `<button ${ref} data-act="${act}">${label}</button>`;
  const file = (what, label) =>
    `<a target="_blank" href="${BASE}/bill/${encodeURIComponent(b.billBatchCode)}/${encodeURIComponent(b.billNo)}/${what}">${label}</a>`;
  let h = file('pdf', '票据');
  if (b.isScarlet || b.state !== 'normal') return h;
  h += ' ' + file('notice', '告知单');
  if (!canCashier) return h;
  return h + ' ' + (b.paper ? btn('paper-void', '作废纸质') + btn('repaper', '重新换开')
                            : btn('flush', '冲红') + btn('paper', '换开纸质')) + btn('notify', '重发短信');
}

const ACTS = {
  flush: { ask: '冲红原因（如：患者退费）', done: (d) => `已冲红：红票 ${d.eScarletBillBatchCode} ${d.eScarletBillNo}` },
  'paper-void': { ask: '作废纸质票据的原因', done: (d) => `已作废纸质票据（${d.billNo}）` },
  paper: { done: (d) => `已换开纸质票据 ${d.pBillBatchCode} ${d.pBillNo}` },
  repaper: { done: (d) => `已重新换开：纸质票据 ${d.pBillBatchCode} ${d.pBillNo}` },
  notify: { phone: true, done: (d) => `已重发票据短信至 ${d.tel}` },
};

// the cashier's own window: its stock gives the red bill's and the paper's numbers (kept in this browser)
const WINDOW_KEY = 'hg-window-place';
function windowPlace() { return $('window-place').value.trim(); }

async function windowAction(ev) {
  const el = ev.target, act = ACTS[el.dataset.act];
  if (!act) return;
  const body = {};
  if (['flush', 'paper', 'repaper'].includes(el.dataset.act) && windowPlace()) body.placeCode = windowPlace();
  if (act.phone) {
    const tel = window.prompt(`${el.dataset.code} ${el.dataset.no}：发送到的手机号（留空则发到票据登记的手机号）`);
    if (tel == null) return;
    if (tel.trim()) body.tel = tel.trim();
  } else if (act.ask) {
    const reason = window.prompt(`${el.dataset.code} ${el.dataset.no}：${act.ask}`);
    if (reason == null) return;
    body.reason = reason.trim();
  } else if (!window.confirm(`${el.dataset.code} ${el.dataset.no}：${el.textContent}？`)) return;
  el.disabled = true;
  const r = await api('POST', `${BASE}/bill/${encodeURIComponent(el.dataset.code)}/${encodeURIComponent(el.dataset.no)}/${el.dataset.act}`, body);
  $('bills-err').className = r.ok ? 'ok' : 'err';
  $('bills-err').textContent = r.ok ? act.done(r.data) : errText(r);
  if (r.ok) await showBills(false); else el.disabled = false;
}

// a form's fields as JSON: numbers for number inputs, empty fields left out
function formBody(form) {
  const o = {};
  for (const el of form.elements) {
    if (!el.name || el.value.trim() === '') continue;
    o[el.name] = el.type === 'number' ? Number(el.value) : el.value.trim();
  }
  return o;
}

function onSubmit(id, path, done) {
  $(id).addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const msg = $(id + '-msg');
    const r = await api('POST', BASE + path, formBody(ev.target));
    msg.className = r.ok ? 'ok' : 'err';
    msg.textContent = r.ok ? done(r.data) : errText(r);
    if (r.ok) { await showStock(); await showPlaces(); await showBalance(); await showStockLog(); }
  });
}

async function start() {
  const me = await api('GET', '/hg/me');
  if (!me.ok) { $('login-box').hidden = false; $('main').hidden = true; return; }
  csrf = me.data.csrf_token;
  const roles = me.data.roles || [];
  $('who').textContent = `${me.data.username} (${roles.join(', ')})`;
  $('login-box').hidden = true; $('main').hidden = false;
  canAdmin = roles.includes('admin') || roles.includes('invoice_admin');
  canCashier = roles.includes('admin') || roles.includes('cashier');
  $('admin-forms').hidden = !canAdmin;
  $('report-date').value = $('bills-date').value = $('sum-from').value = $('sum-to').value = localDate();
  $('log-from').value = $('log-to').value = $('bal-from').value = $('bal-to').value = localDate();
  $('void-from').value = $('void-to').value = localDate();
  await showStock(); await showPlaces(); await showBalance(); await showStockLog(); await showReport(); await showSummary();
  await showVoids();
  await showBills(false);
}

onSubmit('apply', '/stock/apply', (d) => `已入库：${d.placeCode} ${d.billBatchCode} ${d.startNo}-${d.endNo}（号段ID ${d.stockId}）`);
onSubmit('distribute', '/stock/distribute', (d) => `已分发：${d.placeCode} ${d.billBatchCode} ${d.startNo}-${d.endNo}（${d.count} 张）`);
onSubmit('place', '/places', (d) => `已保存：${d.placeCode} ${d.name}`);
$('open-only').addEventListener('change', showStock);
$('stock-rows').addEventListener('click', async (ev) => {
  const wid = ev.target.dataset.withdraw;
  if (wid) {
    const reason = prompt(`撤销入库：号段ID ${wid} 将被删除（仅限未使用、未分发的号段）。请填写原因：`);
    if (!reason) return;
    const r = await api('POST', `${BASE}/stock/withdraw`, { stockId: Number(wid), reason });
    await showStock();
    $('stock-err').textContent = r.ok ? `已撤销入库：${r.data.billBatchCode} ${r.data.startNo}-${r.data.endNo}` : errText(r);
    return;
  }
  const id = ev.target.dataset.stock;
  if (!id) return;
  $('distribute').elements.stockId.value = id;
  $('distribute').elements.count.focus();
});
$('report-date').addEventListener('change', showReport);
$('bal-search').addEventListener('click', showBalance);
$('void-search').addEventListener('click', showVoids);
$('log-search').addEventListener('click', showStockLog);
$('sum-search').addEventListener('click', showSummary);
$('sum-by').addEventListener('change', showSummary);
$('bills-search').addEventListener('click', () => showBills(false));
$('bills-more').addEventListener('click', () => showBills(true));
$('bill-rows').addEventListener('click', windowAction);
$('window-place').value = localStorage.getItem(WINDOW_KEY) || '';
$('window-place').addEventListener('change', () => localStorage.setItem(WINDOW_KEY, windowPlace()));
// 作废空白票: the window's next paper number, shown to be checked against the spoilt sheet, then voided
$('blank-void').addEventListener('click', async () => {
  const place = windowPlace(), out = $('bills-err');
  if (!place) { out.className = 'err'; out.textContent = '请先填写本窗口（开票点）'; return; }
  const next = await api('POST', `${BASE}/paper/next`, { placeCode: place });
  if (!next.ok) { out.className = 'err'; out.textContent = errText(next); return; }
  const reason = window.prompt(`作废 ${place} 的空白纸质票据 ${next.data.pBillBatchCode} ${next.data.pBillNo}（请核对纸上的号码）。原因：`, '打印卡纸');
  if (reason == null) return;
  const r = await api('POST', `${BASE}/paper/blank-void`, { placeCode: place, pBillBatchCode: next.data.pBillBatchCode,
                                                          pBillNo: next.data.pBillNo, reason: reason.trim() });
  out.className = r.ok ? 'ok' : 'err';
  out.textContent = r.ok ? `已作废空白纸质票据 ${r.data.pBillBatchCode} ${r.data.pBillNo}` : errText(r);
});
start();
