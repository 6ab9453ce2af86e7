// The patient bill page (htdocs/invoice/bill.html) in Debian's Chromium, driven by playwright-core.
//
//   node t/browser/bill_page.mjs <base_url> <hash> <screenshot_dir>
//
// <hash> is the fragment of the H5 link the HIS was given (code=…&no=…&r=…).  The script opens the
// bill on a phone-sized viewport, then the same bill with a wrong check code, and prints ONE JSON
// object on stdout: what it saw (texts, visibility, widths, console errors, the PDF link's answer).
// It asserts nothing itself: t/browser/01_bill_page.t turns the observations into TAP, so every
// check shows in prove with the value it got.  Screenshots: bill.png and bill_notfound.png.
//
// Never downloads a browser: /usr/bin/chromium (Debian's package) is launched by path, and
// playwright-core has no install hook.  Playwright gives every launch a fresh --user-data-dir
// (a temporary directory it removes on close).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { EXECUTABLE, ARGS, WIDTH, HEIGHT, WECHAT_UA, run } from './harness.mjs';

const [base, hash, shots] = process.argv.slice(2);
if (!base || !hash || !shots) {
  console.error('usage: node t/browser/bill_page.mjs <base_url> <hash> <screenshot_dir>');
  process.exit(2);
}
const out = { ok: false };

// one page: console errors, uncaught exceptions, failed or error responses, the bill JSON it got
async function openPage(context, url) {
  const page = await context.newPage();
  const seen = { console_errors: [], page_errors: [], bad_responses: [], failed_requests: [], bill_json: null };
  page.on('console', (m) => { if (m.type() === 'error') seen.console_errors.push(m.text()); });
  page.on('pageerror', (e) => seen.page_errors.push(String(e && e.message || e)));
  page.on('requestfailed', (r) => seen.failed_requests.push(`${r.url()} ${r.failure() ? r.failure().errorText : ''}`));
  page.on('response', async (r) => {
    const u = new URL(r.url());
    if (r.status() >= 400) seen.bad_responses.push(`${r.status()} ${u.pathname}`);
    if (u.pathname === '/invoice/pub/v1/bill') {
      try { seen.bill_json = await r.text(); } catch (e) { seen.bill_json = `(unreadable: ${e.message})`; }
    }
  });
  const res = await page.goto(url, { waitUntil: 'load', timeout: 15000 });
  seen.status = res ? res.status() : 0;
  // the page is done when it shows a bill or a message (loading is a weui-loadmore)
  await page.waitForSelector('.inv-title, .weui-msg', { state: 'visible', timeout: 15000 });
  await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {});
  return { page, seen };
}

// what a reader of the page sees: texts with their visibility and horizontal extent
// W: the phone's width in CSS px; window.innerWidth is not used, since a mobile browser zooms out to
// fit a too wide page and innerWidth grows with it
function observe(W) {
  const shown = (el) => !!el && el.checkVisibility({ opacityProperty: true, visibilityProperty: true }) &&
    el.getBoundingClientRect().width > 0 && el.getBoundingClientRect().left >= 0 &&
    el.getBoundingClientRect().right <= W + 0.5;
  const text = (el) => (el ? el.textContent.trim() : null);
  const one = (sel) => { const el = document.querySelector(sel); return { text: text(el), visible: shown(el) }; };
  const fields = {};
  document.querySelectorAll('.weui-form-preview__bd .weui-form-preview__item').forEach((it) => {
    const label = text(it.querySelector('.weui-form-preview__label'));
    const value = it.querySelector('.weui-form-preview__value');
    fields[label] = { text: text(value), visible: shown(value) && shown(it.querySelector('.weui-form-preview__label')) };
  });
  const lists = {};
  document.querySelectorAll('.weui-cells__title').forEach((t) => {
    const list = t.nextElementSibling;
    if (!list) return;
    lists[text(t)] = [...list.querySelectorAll('.weui-cell')].map((c) => ({
      name: text(c.querySelector('.weui-cell__bd p')),
      amt: text(c.querySelector('.weui-cell__ft')),
      visible: shown(c.querySelector('.weui-cell__bd p')),
    }));
  });
  const pdf = document.querySelector('#inv-pdf');
  return {
    document_title: document.title,
    heading: one('h1.inv-title'),
    hospital: one('.inv-hosp'),
    amount: one('.weui-form-preview__hd .weui-form-preview__value'),
    capital: one('.inv-capital'),
    fields,
    lists,
    pdf_link: pdf ? { text: text(pdf), href: pdf.getAttribute('href'), visible: shown(pdf) } : null,
    wechat_hint: one('.inv-hint'),
    msg_title: one('.weui-msg__title'),
    msg_desc: one('.weui-msg__desc'),
    msg_button: one('#inv-msg-btn'),
    has_card: !!document.querySelector('.inv-card'),
    body_text: document.body.innerText,
    html: document.documentElement.outerHTML,
    scroll_width: document.documentElement.scrollWidth,
    body_scroll_width: document.body.scrollWidth,
    inner_width: window.innerWidth,
  };
}

async function main(launched) {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({ executablePath: EXECUTABLE, headless: true, args: ARGS, timeout: 20000 });
  launched(browser);
  out.browser_version = browser.version();
  const context = await browser.newContext({
    viewport: { width: WIDTH, height: HEIGHT }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    locale: 'zh-CN', timezoneId: 'Asia/Shanghai', userAgent: WECHAT_UA,
  });
  context.setDefaultTimeout(15000);
  out.user_agent = WECHAT_UA;

  // ---- the bill
  const url = `${base.replace(/\/+$/, '')}/invoice/bill.html#${hash}`;
  const { page, seen } = await openPage(context, url);
  Object.assign(out, { bill: { ...seen, ...(await page.evaluate(observe, WIDTH)) } });
  const href = out.bill.pdf_link && out.bill.pdf_link.href;
  if (href) {
    // the download as the page itself would fetch it (same origin, the page's cookies and referrer policy)
    out.bill.pdf_fetch = await page.evaluate(async (h) => {
      try {
        const r = await fetch(h, { credentials: 'same-origin' });
        const b = new Uint8Array(await r.arrayBuffer());
        return { status: r.status, content_type: r.headers.get('content-type'),
                 magic: String.fromCharCode(...b.slice(0, 5)), bytes: b.length };
      } catch (e) { return { error: String(e) }; }
    }, href);
  }
  out.bill.screenshot = path.join(shots, 'bill.png');
  await page.screenshot({ path: out.bill.screenshot, fullPage: true });

  // ---- 发送到邮箱: a typo is caught on the page, then a real address is sent
  if (await page.$('#inv-mail')) {
    const to = `patient.${Date.now()}@example.com`;
    await page.fill('#inv-mail', 'not-an-address');
    await page.tap('#inv-mail-send');
    const warned = await page.$eval('#inv-mail-cell', (el) => el.classList.contains('weui-cell_warn'));
    await page.fill('#inv-mail', to);
    await page.tap('#inv-mail-send');
    await page.waitForFunction(() => document.querySelector('#inv-mail-status').textContent.trim() !== '');
    out.bill.mail = { to, warned_on_typo: warned, status: await page.$eval('#inv-mail-status', (el) => el.textContent),
                      screenshot: path.join(shots, 'bill_mail.png') };
    await page.screenshot({ path: out.bill.mail.screenshot, fullPage: true });
  }

  // ---- 存入微信卡包: WeChat's authorisation page (the sandbox's), 授权, back to the bill page
  if (await page.$('#inv-wxcard')) {
    const w = {};
    await Promise.all([page.waitForURL(/\/sandbox\/wechat\/invoice\/auth\?/, { timeout: 10000 }), page.tap('#inv-wxcard')]);
    w.auth_page = { path: new URL(page.url()).pathname, text: (await page.textContent('body')).trim() };
    await Promise.all([page.waitForURL(/\/invoice\/bill\.html\?wxcard=/, { waitUntil: 'commit', timeout: 10000 }),
                       page.tap('#sbx-accept')]);
    w.back_url = page.url();        // before the page drops the order from it
    await page.waitForSelector('.inv-title', { state: 'visible', timeout: 15000 });
    await page.waitForFunction(() => /已存入微信卡包/.test((document.querySelector('#inv-wxcard-status') || {}).textContent || ''),
                               null, { timeout: 15000 }).catch(() => {});
    const st = await page.$('#inv-wxcard-status');
    w.status = st ? (await st.textContent()).trim() : null;
    w.url_after = page.url();
    w.scroll_width = await page.evaluate(() => document.documentElement.scrollWidth);
    w.button = await page.$eval('#inv-wxcard', (el) => ({ text: el.textContent.trim(),
      visible: el.getBoundingClientRect().width > 0 && el.getBoundingClientRect().right <= 390.5 }));
    w.screenshot = path.join(shots, 'bill_wxcard.png');
    await page.screenshot({ path: w.screenshot, fullPage: true });
    out.bill.wxcard = w;
  }
  await page.close();

  // ---- the same button outside WeChat: it says where it works and asks nothing of the server
  {
    const plain = await browser.newContext({ viewport: { width: WIDTH, height: HEIGHT }, deviceScaleFactor: 2,
      isMobile: true, hasTouch: true, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const { page: pp } = await openPage(plain, url);
    let asked = false;
    pp.on('request', (r) => { if (/\/invoice\/pub\/v1\/wxcard/.test(r.url())) asked = true; });
    await pp.tap('#inv-wxcard');
    await pp.waitForFunction(() => document.querySelector('#inv-wxcard-status').textContent.trim() !== '');
    out.plain_browser = { status: (await pp.textContent('#inv-wxcard-status')).trim(), asked_server: asked };
    await plain.close();
  }

  // ---- the same bill with a wrong check code: the friendly not-found state
  const badHash = hash.replace(/(^|&)r=[^&]*/, (m, pre) => `${pre}r=${/(^|&)r=zzzzzz(&|$)/.test(hash) ? 'zzzzzy' : 'zzzzzz'}`);
  const nf = await openPage(context, `${base.replace(/\/+$/, '')}/invoice/bill.html#${badHash}`);
  Object.assign(out, { notfound: { hash: badHash, ...nf.seen, ...(await nf.page.evaluate(observe, WIDTH)) } });
  out.notfound.screenshot = path.join(shots, 'bill_notfound.png');
  await nf.page.screenshot({ path: out.notfound.screenshot, fullPage: true });
  await nf.page.close();
  await context.close();
  out.ok = true;
}

run(40000, out, main);
