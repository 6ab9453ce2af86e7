// The patient's pre-consultation pages (htdocs/consult/q.html) in Debian's Chromium, driven by
// playwright-core on a phone viewport (390×844 CSS px, DPR 2, WeChat user agent).
//
//   node t/browser/consult.mjs <base_url> <walk_token> <redflag_token> <expired_token> <screenshot_dir>
//
// 1. walk: the respiratory template through a logic jump (cough = 是 asks its duration; fever = 否
//    skips the fever questions), a local range hint, Back (fever changed to 是: the fever questions
//    appear), a reload in the middle (resume from sessionStorage), the review screen, submit, completed.
// 2. redflag: chest pain = 是 ends on the stopped screen with the advice.
// 3. expired and broken links: the friendly pages.
// 4. the staff console (desktop): the day's list, one questionnaire, the charts, and the preview of a
//    template version (the patient's page in a frame over the staff preview API).
// 5. the console's 问卷模板 as an author and a reviewer of the department (HG_TPL_*): a new template
//    written in the editor (a bad definition refused with its path), submitted, rejected with a
//    comment, edited, resubmitted, approved; previewed from its row; a choice rule added and disabled.
// Prints ONE JSON object on stdout with what it saw; t/browser/02_consult.t asserts on it.
// Never downloads a browser: /usr/bin/chromium is launched by path.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { EXECUTABLE, ARGS, WIDTH, HEIGHT, WECHAT_UA, run } from './harness.mjs';

const [base0, walkTok, redTok, expTok, shots] = process.argv.slice(2);
if (!base0 || !walkTok || !redTok || !expTok || !shots) {
  console.error('usage: node t/browser/consult.mjs <base_url> <walk_token> <redflag_token> <expired_token> <screenshot_dir>');
  process.exit(2);
}
const base = base0.replace(/\/+$/, '');
const out = { ok: false };

// one page with its observers: console errors, exceptions, error answers, every request's URL and
// Referer, and the JSON bodies the page received
async function openPage(context) {
  const page = await context.newPage();
  const seen = { console_errors: [], page_errors: [], bad_responses: [], failed_requests: [], requests: [], json: [] };
  page.on('console', (m) => { if (m.type() === 'error') seen.console_errors.push(m.text()); });
  page.on('pageerror', (e) => seen.page_errors.push(String(e && e.message || e)));
  page.on('requestfailed', (r) => seen.failed_requests.push(`${r.url()} ${r.failure() ? r.failure().errorText : ''}`));
  page.on('request', (r) => seen.requests.push({ url: r.url(), method: r.method(), referer: r.headers().referer || null }));
  page.on('response', async (r) => {
    const u = new URL(r.url());
    if (r.status() >= 400) seen.bad_responses.push(`${r.status()} ${r.request().method()} ${u.pathname.replace(/[A-Za-z0-9_-]{43}/, '<token>')}`);
    if (u.pathname.startsWith('/consult/pub/')) {
      try { seen.json.push(await r.text()); } catch (e) { /* a navigation away */ }
    }
  });
  return { page, seen };
}

// what the screen shows now
function observe(W) {
  const shown = (el) => !!el && el.checkVisibility({ opacityProperty: true, visibilityProperty: true }) &&
    el.getBoundingClientRect().width > 0 && el.getBoundingClientRect().left >= 0 &&
    el.getBoundingClientRect().right <= W + 0.5;
  const text = (el) => (el ? el.textContent.trim() : null);
  const one = (sel) => { const el = document.querySelector(sel); return { text: text(el), visible: shown(el) }; };
  const app = document.getElementById('app');
  const q = [...document.querySelectorAll('.cq-q')].map((s) => ({
    linkId: s.dataset.link,
    title: text(s.querySelector('.weui-cells__title')).replace(/\*$/, ''),
    visible: shown(s.querySelector('.weui-cells__title')),
    options: [...s.querySelectorAll('.weui-check__label')].map((l) => ({
      text: text(l.querySelector('p')), checked: l.querySelector('input').checked, visible: shown(l) })),
    value: (s.querySelector('input.weui-input, textarea') || {}).value ?? null,
    error: text(s.querySelector('.cq-err:not([hidden])')),
    hint: text(s.querySelector('.cq-hint')),
  }));
  const sections = {};
  document.querySelectorAll('textarea[data-sec], p[data-sec]').forEach((t) => {
    sections[t.dataset.sec] = { text: t.tagName === 'TEXTAREA' ? t.value : text(t), visible: shown(t), editable: t.tagName === 'TEXTAREA' };
  });
  return {
    state: app.getAttribute('data-state'),
    questions: q,
    back: one('#cq-back'),
    next: one('#cq-next'),
    submit: one('#cq-submit'),
    progress: one('#cq-progress-text'),
    msg_id: (document.querySelector('.weui-msg') || {}).id || null,
    msg_title: one('.weui-msg__title'),
    msg_desc: one('.weui-msg__desc'),
    advice: one('#cq-advice'),
    warnings: text(document.querySelector('#cq-warnings')),
    review_answers: [...document.querySelectorAll('#cq-answers .weui-cell')].map((c) => text(c)),
    sections,
    location_hash: location.hash,
    stored: sessionStorage.getItem('hg.consult') !== null,
    body_text: document.body.innerText,
    html: document.documentElement.outerHTML,
    scroll_width: document.documentElement.scrollWidth,
  };
}

const look = (page) => page.evaluate(observe, WIDTH);
const settle = (page) => page.waitForFunction(() => !document.querySelector('.weui-btn_loading, .weui-loading'), null, { timeout: 10000 });

async function choose(page, display) {
  await page.locator('.cq-q .weui-check__label', { has: page.locator(`p:text-is("${display}")`) }).first().click();
}
async function fill(page, v) { await page.locator('.cq-q input.weui-input, .cq-q textarea').first().fill(String(v)); }
async function next(page) {
  const res = page.waitForResponse((r) => r.url().includes('/answers') && r.request().method() === 'POST');
  await page.click('#cq-next');
  await res;
  await settle(page);
}

async function walk(context) {
  const { page, seen } = await openPage(context);
  const steps = [];
  const step = async (label) => { const o = await look(page); steps.push({ label, ...o, body_text: undefined, html: undefined }); return o; };
  const res = await page.goto(`${base}/consult/q.html#t=${walkTok}`, { waitUntil: 'load', timeout: 15000 });
  out.walk_status = res ? res.status() : 0;
  await page.waitForSelector('.cq-q', { state: 'visible' });
  await settle(page);
  const first = await step('first');
  await page.screenshot({ path: path.join(shots, 'consult_question.png'), fullPage: true });
  out.first = first;
  await choose(page, '是'); await next(page);                       // cough = yes → its duration
  await step('after cough=是');
  await fill(page, 0); await page.click('#cq-next');                 // below min: the page says so
  await page.waitForSelector('.cq-err:not([hidden])');
  await step('duration 0');
  await fill(page, 5); await next(page);
  await step('after duration 5');
  await choose(page, '否'); await next(page);                       // fever = no → no fever questions
  await step('after fever=否');
  // Back: the fever question again, with its answer
  const backDone = page.waitForResponse((r) => r.url().endsWith('/back')).catch(() => null);
  await page.click('#cq-back');
  await backDone;
  await settle(page);
  await page.waitForFunction(() => [...document.querySelectorAll('.cq-q')].some((s) => s.dataset.link === 'fever'));
  await step('back');
  await choose(page, '是'); await next(page);                       // now fever = yes → the fever questions
  await step('after fever=是');
  // close and come back: a reload keeps the session (sessionStorage), the address bar holds no token
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('.cq-q', { state: 'visible' });
  await settle(page);
  await step('reloaded');
  await fill(page, 38.5); await next(page);
  await step('after temperature');
  await fill(page, 2); await next(page);
  await step('after fever days');
  await choose(page, '否'); await next(page);                       // no red flag
  await step('after red flag 否');
  await choose(page, '哮喘'); await next(page);
  await step('after past');
  await choose(page, '否'); await next(page);                       // smoke
  await step('after smoke');
  await choose(page, '药物过敏'); await next(page);
  await step('after allergy');
  await fill(page, '青霉素'); await next(page);
  await step('after allergy detail');
  await choose(page, '否'); await next(page);                       // family → review
  await page.waitForSelector('#cq-submit', { state: 'visible' });
  const review = await step('review');
  out.review = review;
  await page.screenshot({ path: path.join(shots, 'consult_review.png'), fullPage: true });
  // the patient edits the chief complaint when the server offers the generated text
  if (review.sections.chief_complaint && review.sections.chief_complaint.editable) {
    out.edited_chief = review.sections.chief_complaint.text + '，夜间加重';
    await page.fill('textarea[data-sec="chief_complaint"]', out.edited_chief);
  }
  if (review.warnings) await page.check('#cq-confirm');
  const sub = page.waitForResponse((r) => r.url().endsWith('/submit'));
  await page.click('#cq-submit');
  out.submit_status = (await sub).status();
  await page.waitForSelector('#cq-done', { state: 'visible' });
  const done = await step('completed');
  out.completed = { ...done, body_text: done.body_text };
  await page.screenshot({ path: path.join(shots, 'consult_done.png'), fullPage: true });
  out.walk_steps = steps;
  out.walk_seen = seen;
  await page.close();
}

async function redflag(context) {
  const { page, seen } = await openPage(context);
  await page.goto(`${base}/consult/q.html#t=${redTok}`, { waitUntil: 'load', timeout: 15000 });
  await page.waitForSelector('.cq-q', { state: 'visible' });
  await settle(page);
  await choose(page, '否'); await next(page);        // cough
  await choose(page, '否'); await next(page);        // fever
  await choose(page, '是'); await next(page);        // chest pain or breathlessness: stop
  await page.waitForSelector('#cq-stopped', { state: 'visible' });
  out.stopped = await look(page);
  out.stopped_seen = seen;
  await page.screenshot({ path: path.join(shots, 'consult_stopped.png'), fullPage: true });
  // a reload shows the same stopped screen (the server remembers)
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('#cq-stopped', { state: 'visible' });
  out.stopped_reload = (await look(page)).msg_id;
  await page.close();
}

async function friendly(context) {
  const a = await openPage(context);
  await a.page.goto(`${base}/consult/q.html#t=${expTok}`, { waitUntil: 'load', timeout: 15000 });
  await a.page.waitForSelector('.weui-msg', { state: 'visible' });
  out.expired = { ...(await look(a.page)), ...a.seen };
  await a.page.screenshot({ path: path.join(shots, 'consult_expired.png'), fullPage: true });
  await a.page.close();
  const b = await openPage(context);
  await b.page.goto(`${base}/consult/q.html#t=abc`, { waitUntil: 'load', timeout: 15000 });
  await b.page.waitForSelector('.weui-msg', { state: 'visible' });
  out.badlink = { ...(await look(b.page)), requests: b.seen.requests.map((r) => r.url) };
  await b.page.close();
}

// the staff console page: the day's list, one questionnaire, the charts (desktop width)
async function consoleCheck(context) {
  const user = process.env.HG_CONSOLE_USER, pass = process.env.HG_CONSOLE_PASSWORD, day = process.env.HG_CONSOLE_DATE;
  if (!user || !pass || !day) return;
  const { page, seen } = await openPage(context);
  await page.goto(`${base}/console/index.html`, { waitUntil: 'load' });
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', pass);
  await page.click('#login button');
  await page.waitForSelector('#main:not([hidden])');
  await page.goto(`${base}/console/consult.html`, { waitUntil: 'load' });
  await page.waitForSelector('#main:not([hidden])');
  await page.fill('#day-date', day);
  await page.fill('#day-dept', process.env.HG_CONSOLE_DEPT || '');
  await page.click('#day-search');
  await page.waitForSelector('#day-rows tr[data-visit]');
  const c = {};
  c.rows = await page.$$eval('#day-rows tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent.trim()).join('|')));
  c.csv_href = await page.getAttribute('#day-csv', 'href');
  await page.click(`#day-rows tr[data-visit="${process.env.HG_CONSOLE_VISIT}"]`);
  await page.waitForSelector('#detail:not([hidden])');
  c.detail_head = (await page.textContent('#detail-head')).trim();
  c.detail_chief = (await page.textContent('#detail-sections td[data-sec="chief_complaint"]')).trim();
  c.detail_answers = await page.$$eval('#detail-answers tr', (trs) => trs.map((tr) => tr.textContent.trim()));
  await page.fill('#st-from', day);
  await page.fill('#st-to', day);
  await page.fill('#st-dept', '');
  await page.selectOption('#st-group', 'dept');
  await page.waitForFunction(() => document.querySelector('#st-chart svg'));
  c.stats_rows = await page.$$eval('#st-rows tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent.trim()).join('|')));
  c.stats_bars = await page.$$eval('#st-chart svg rect.bar', (r) => r.length);
  c.stats_slices = await page.$$eval('#st-chart svg .slice', (r) => r.length);
  await page.fill('#qs-template', 'resp-0301');
  await page.fill('#qs-from', day);
  await page.fill('#qs-to', day);
  await page.click('#qs-search');
  await page.waitForSelector('.q-item');
  c.q_head = (await page.textContent('#qs-head')).trim();
  c.q_fever = await page.$$eval('.q-item[data-link="fever"] svg text', (t) => t.map((x) => x.textContent).join(' '));
  c.q_bars = await page.$$eval('#qs-items svg rect.bar', (r) => r.length);
  await page.screenshot({ path: path.join(shots, 'consult_console.png'), fullPage: true });
  await page.selectOption('#qs-kind', 'pie');
  await page.waitForSelector('.q-item[data-link="fever"] svg .slice');
  c.q_slices_fever = await page.$$eval('.q-item[data-link="fever"] svg .slice', (r) => r.length);
  c.q_csv_href = await page.getAttribute('#qs-csv', 'href');
  c.preview = await consolePreview(page, seen);
  c.errors = [...seen.page_errors, ...seen.console_errors.filter((e) => !/status of 40[14]/.test(e))];
  c.body_text = await page.evaluate(() => document.body.innerText);
  out.console = c;
  await page.close();
}

// the console's preview of resp-0301 v1 for a man born 1980-05-20: the patient's page in a frame,
// walked through a logic jump, the red flag, Back from the stop, to the review and the end screen
async function consolePreview(page, seen) {
  const pv = { steps: {} }, from = seen.requests.length;
  await page.fill('#pv-template', 'resp-0301');
  await page.fill('#pv-version', '1');
  await page.selectOption('#pv-sex', 'M');
  await page.fill('#pv-birth', '1980-05-20');
  await page.click('#pv-open');
  const fr = await (await page.waitForSelector('#pv-frame')).contentFrame();
  await fr.waitForSelector('.cq-q', { state: 'visible' });
  const settled = () => fr.waitForFunction(() => !document.querySelector('.weui-btn_loading, .weui-loading'), null, { timeout: 10000 });
  const answered = async (click) => {
    const res = page.waitForResponse((r) => r.url().endsWith('/preview') && r.request().method() === 'POST');
    await fr.click(click);
    await res;
    await settled();
  };
  const pick = (display) => fr.locator('.cq-q .weui-check__label', { has: fr.locator(`p:text-is("${display}")`) }).first().click();
  const step = async (label) => {
    const o = await fr.evaluate(observe, WIDTH);
    pv.steps[label] = { state: o.state, q: o.questions.map((q) => q.linkId).join(','), title: (o.questions[0] || {}).title || null,
      checked: (o.questions[0] ? o.questions[0].options.filter((x) => x.checked).map((x) => x.text).join(',') : ''),
      advice: o.advice.text, msg_id: o.msg_id, chief: (o.sections.chief_complaint || {}).text || null,
      banner: fr.isDetached() ? null : await fr.textContent('#cq-preview-bar') };
  };
  await settled();
  await step('first');
  await pick('是'); await answered('#cq-next');
  await step('after cough');
  await fr.locator('.cq-q input.weui-input').first().fill('3'); await answered('#cq-next');
  await step('after days');
  await pick('否'); await answered('#cq-next');
  await step('after fever');
  await pick('是'); await answered('#cq-next');
  await fr.waitForSelector('#cq-stopped', { state: 'visible' });
  await step('stopped');
  await answered('#cq-back');
  await fr.waitForSelector('.cq-q', { state: 'visible' });
  await step('back');
  await pick('否'); await answered('#cq-next');
  await answered('#cq-next');                                  // past: none
  await pick('否'); await answered('#cq-next');               // smoke
  await pick('没有'); await answered('#cq-next');             // allergy
  await pick('否'); await answered('#cq-next');               // family
  await fr.waitForSelector('#cq-submit', { state: 'visible' });
  await step('review');
  await fr.click('#cq-submit');
  await fr.waitForSelector('#cq-done', { state: 'visible' });
  await step('done');
  await page.screenshot({ path: path.join(shots, 'consult_console_preview.png'), fullPage: true });
  pv.requests = seen.requests.slice(from).filter((r) => r.url.includes('/consult/')).map((r) => `${r.method} ${new URL(r.url).pathname}`);
  return pv;
}

// ---- the console's 问卷模板 section, as two staff users of the department: an author writes a new
// template in the editor (a bad definition first: the server's error with its path shown), saves
// and submits it; a reviewer rejects it with a comment (an empty one is refused on the page); the
// author edits and resubmits; the reviewer approves it, previews it from its row and adds a choice
// rule (then disables it)
async function staffPage(browser, user, pass) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  context.setDefaultTimeout(15000);
  // log in on the console's home page (its own answers to these roles are not this test's), then a tab of its own
  const login = await context.newPage();
  await login.goto(`${base}/console/index.html`, { waitUntil: 'load' });
  await login.fill('input[name=username]', user);
  await login.fill('input[name=password]', pass);
  await login.click('#login button');
  await login.waitForSelector('#main:not([hidden])');
  await login.close();
  const { page, seen } = await openPage(context);
  const s = { context, page, seen, reply: null, dialogs: [] };
  page.on('dialog', async (d) => {
    s.dialogs.push(`${d.type()}: ${d.message()}`);
    if (s.reply === null) await d.dismiss(); else await d.accept(s.reply);
  });
  await page.goto(`${base}/console/consult.html`, { waitUntil: 'load' });
  await page.waitForSelector('#tp:not([hidden]) #tp-rows tr');
  await page.waitForSelector('#ru-rows tr');
  return s;
}

async function templatesCheck(browser) {
  const au = process.env.HG_TPL_AUTHOR, rv = process.env.HG_TPL_REVIEWER, pass = process.env.HG_TPL_PASSWORD,
    tid = process.env.HG_TPL_ID;
  if (!au || !rv || !pass || !tid) return;
  const tp = {};
  out.templates = tp;
  const sel = (status) => `#tp-rows tr[data-tid="${tid}"][data-ver="1"]${status ? `[data-status="${status}"]` : ''}`;
  const row = (page) => page.evaluate((q) => {
    const tr = document.querySelector(q);
    if (!tr) return null;
    return { cells: [...tr.children].map((td) => td.innerText.trim().replace(/\s*\n\s*/g, ' / ')),
      acts: [...tr.querySelectorAll('[data-act]')].map((b) => b.textContent.trim()),
      fhir: (tr.querySelector('a[data-act="fhir"]') || {}).href || null };
  }, sel());
  const act = (page, label) => page.click(`${sel()} [data-act]:text-is("${label}")`);
  const visible = (page, id) => page.evaluate((i) => { const e = document.getElementById(i); return !!e && e.offsetParent !== null; }, id);

  // the author: a new template in the editor
  const a = await staffPage(browser, au, pass);
  tp.author_tools = [await visible(a.page, 'tp-new') ? '新建问卷' : '', await visible(a.page, 'tp-import-open') ? '导入 FHIR' : ''].join(',');
  await a.page.click('#tp-new');
  await a.page.waitForSelector('#tp-editor:not([hidden])');
  const skel = JSON.parse(await a.page.inputValue('#tp-ed-def'));
  tp.skeleton = { items: skel.items.map((i) => i.linkId).join(','), dept: await a.page.inputValue('#tp-ed-dept') };
  await a.page.fill('#tp-ed-id', tid);
  await a.page.fill('#tp-ed-title', '界面测试问卷');
  skel.items.push({ linkId: 'allergy_detail', type: 'text', text: '对什么过敏？', maxLength: 200, section: 'allergy_history',
    narrative: '过敏物：{value}', enableWhen: [{ question: 'alergy', operator: '=', answer: 'yes' }] });
  await a.page.fill('#tp-ed-def', JSON.stringify(skel, null, 2));
  const saved = () => a.page.waitForResponse((r) => r.request().method() === 'POST' && /\/consult\/staff\/v1\/templates(\/|$)/.test(new URL(r.url()).pathname));
  let res = saved();
  await a.page.click('#tp-ed-save');
  tp.bad_status = (await res).status();
  await a.page.waitForSelector('#tp-ed-fail:not([hidden])');
  tp.bad = { error: (await a.page.textContent('#tp-ed-err')).trim(), field: (await a.page.textContent('#tp-ed-field')).trim(),
    shown: await visible(a.page, 'tp-ed-field') };
  await a.page.screenshot({ path: path.join(shots, 'consult_template_editor.png'), fullPage: true });
  await a.page.fill('#tp-ed-def', (await a.page.inputValue('#tp-ed-def')).replace('"alergy"', '"allergy"'));
  res = saved();
  await a.page.click('#tp-ed-save');
  tp.good_status = (await res).status();
  await a.page.waitForSelector(sel('draft'));
  tp.saved_msg = (await a.page.textContent('#tp-ed-msg')).trim();
  tp.fail_hidden = !(await visible(a.page, 'tp-ed-fail'));
  tp.draft = await row(a.page);
  await act(a.page, '提交审核');
  await a.page.waitForSelector(sel('review'));
  tp.review_author = await row(a.page);

  // the reviewer: an empty reason is refused on the page, then 退回 with a comment
  const r = await staffPage(browser, rv, pass);
  tp.reviewer_tools = [await visible(r.page, 'tp-new') ? '新建问卷' : '', await visible(r.page, 'tp-import-open') ? '导入 FHIR' : ''].join(',');
  tp.review_reviewer = await row(r.page);
  r.reply = '';
  await act(r.page, '退回');
  await r.page.waitForFunction(() => document.getElementById('tp-err').textContent.length > 0);
  tp.empty_reject = (await r.page.textContent('#tp-err')).trim();
  r.reply = '请写明过敏物的问法';
  await act(r.page, '退回');
  await r.page.waitForSelector(sel('rejected'));
  tp.rejected = await row(r.page);

  // the author sees the comment, edits the rejected version and submits it again
  await a.page.click('#tp-search');
  await a.page.waitForSelector(sel('rejected'));
  tp.rejected_author = await row(a.page);
  await act(a.page, '编辑');
  await a.page.waitForFunction((t) => document.getElementById('tp-ed-head').textContent.includes(t), `${tid} 第 1 版（已退回）`);
  tp.edit_head = (await a.page.textContent('#tp-ed-head')).trim();
  await a.page.fill('#tp-ed-def', (await a.page.inputValue('#tp-ed-def')).replace('对什么过敏？', '对什么药物或食物过敏？'));
  res = saved();
  await a.page.click('#tp-ed-save');
  tp.edit_status = (await res).status();
  await a.page.waitForSelector(sel('draft'));
  await act(a.page, '提交审核');
  await a.page.waitForSelector(sel('review'));

  // the reviewer approves with a comment: 已发布
  await r.page.click('#tp-search');
  await r.page.waitForSelector(sel('review'));
  r.reply = '同意发布';
  await act(r.page, '通过');
  await r.page.waitForSelector(sel('approved'));
  tp.approved = await row(r.page);
  tp.approved_msg = (await r.page.textContent('#tp-err')).trim();
  await r.page.selectOption('#tp-status', 'approved');
  await r.page.waitForFunction((q) => ![...document.querySelectorAll('#tp-rows tr[data-status]')].some((t) => t.dataset.status !== 'approved')
    && document.querySelector(q), sel());
  tp.filtered = await r.page.$$eval('#tp-rows tr[data-status]', (t) => [...new Set(t.map((x) => x.dataset.status))].join(','));
  await r.page.screenshot({ path: path.join(shots, 'consult_templates.png'), fullPage: true });
  await a.page.click('#tp-search');
  await a.page.waitForSelector(sel('approved'));
  tp.approved_author = await row(a.page);

  // 新版本: a draft copy of the newest version; 导入 FHIR: the FHIR export pasted back as a new template
  await act(a.page, '新版本');
  await a.page.waitForSelector(`#tp-rows tr[data-tid="${tid}"][data-ver="2"][data-status="draft"]`);
  await a.page.waitForFunction((t) => document.getElementById('tp-ed-head').textContent.includes(t), `${tid} 第 2 版`);
  tp.newver = { msg: (await a.page.textContent('#tp-err')).trim(), head: (await a.page.textContent('#tp-ed-head')).trim() };
  const fhir = await a.page.evaluate(async (u) => (await fetch(u)).text(), tp.approved_author.fhir);
  await a.page.click('#tp-import-open');
  await a.page.fill('#tp-im-id', `${tid}-fhir`);
  await a.page.fill('#tp-im-json', fhir);
  await a.page.click('#tp-im-save');
  await a.page.waitForSelector(`#tp-rows tr[data-tid="${tid}-fhir"][data-ver="1"][data-status="draft"]`);
  tp.imported = { msg: (await a.page.textContent('#tp-ed-msg')).trim(),
    items: JSON.parse(await a.page.inputValue('#tp-ed-def')).items.map((i) => i.linkId).join(',') };

  // 预览 from the row: the existing preview, on this template's version
  await act(r.page, '预览');
  const fr = await (await r.page.waitForSelector('#pv-frame')).contentFrame();
  await fr.waitForSelector('.cq-q', { state: 'visible' });
  tp.preview = { template: await r.page.inputValue('#pv-template'), version: await r.page.inputValue('#pv-version'),
    title: (await fr.textContent('.cq-q .weui-cells__title')).trim().replace(/\*$/, ''),
    frame: await r.page.getAttribute('#pv-frame', 'title') };

  // a choice rule for the department, then disabled
  await r.page.fill('#ru-template', tid);
  await r.page.fill('#ru-disease', 'ZZ9');
  await r.page.fill('#ru-priority', '5');
  await r.page.fill('#ru-note', '界面测试');
  tp.rule_dept = await r.page.inputValue('#ru-dept');
  await r.page.click('#ru-add');
  const rsel = `#ru-rows tr:has(td:text-is("${tid}"))`;
  await r.page.waitForSelector(rsel);
  tp.rule = await r.page.$eval(rsel, (tr) => [...tr.children].map((td) => td.textContent.trim()).slice(1).join('|'));
  await r.page.click(`${rsel} button[data-act="disable"]`);
  await r.page.waitForSelector(`${rsel}.off`);
  tp.rule_off = await r.page.$eval(rsel, (tr) => [...tr.children].map((td) => td.textContent.trim()).slice(1).join('|'));

  tp.dialogs = [...a.dialogs, ...r.dialogs];
  // the refused definition is an expected 400
  tp.errors = [a, r].flatMap((s) => [...s.seen.page_errors, ...s.seen.console_errors.filter((e) => !/status of 400/.test(e))]);
  tp.bad_responses = [a, r].flatMap((s) => s.seen.bad_responses);
  await a.context.close();
  await r.context.close();
}

async function main(launched) {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({ executablePath: EXECUTABLE, headless: true, args: ARGS, timeout: 20000 });
  launched(browser);
  out.browser_version = browser.version();
  const opts = { viewport: { width: WIDTH, height: HEIGHT }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    locale: 'zh-CN', timezoneId: 'Asia/Shanghai', userAgent: WECHAT_UA };
  for (const fn of [walk, redflag, friendly]) {      // a fresh context (sessionStorage) per patient
    const context = await browser.newContext(opts);
    context.setDefaultTimeout(15000);
    await fn(context);
    await context.close();
  }
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  desk.setDefaultTimeout(15000);
  await consoleCheck(desk);
  await desk.close();
  await templatesCheck(browser);
  out.ok = true;
}

run(95000, out, main);
