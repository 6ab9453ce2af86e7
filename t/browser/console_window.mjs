// The staff console's bill list (htdocs/console/invoice.html) at the window, in Debian's Chromium
// driven by playwright-core: a cashier logs in on the console's own form, finds the bill, and uses
// the 操作 column: 换开纸质 (confirmed), 作废纸质 (a reason asked), 冲红 (a reason asked); 作废空白纸质票号
// at the cashier's window (the number shown, a reason asked); and the 库存预警 line over the stock.
//
//   node t/browser/console_window.mjs <base_url> <billBatchCode> <billNo> <screenshot_dir> <user> <password>
//
// Prints ONE JSON object on stdout with what it saw after each step; t/browser/03_console_window.t
// turns it into TAP.  Screenshots: console_window.png (after the flush).
import { chromium } from 'playwright-core';
import path from 'node:path';
import { EXECUTABLE, ARGS, run, consoleLogin } from './harness.mjs';

const [base, code, no, shots, user, password] = process.argv.slice(2);
if (!base || !code || !no || !shots || !user || !password) {
  console.error('usage: node t/browser/console_window.mjs <base_url> <code> <no> <screenshot_dir> <user> <password>');
  process.exit(2);
}
const REASONS = { 作废纸质: '打印错误', 冲红: '患者退费' };

const out = { ok: false, dialogs: [], console_errors: [], page_errors: [], steps: {} };

// the bill's row as the cashier sees it: its cells and the action buttons
async function row(page) {
  return page.evaluate((no) => {
    const tr = [...document.querySelectorAll('#bill-rows tr')].find((r) => r.cells[1] && r.cells[1].textContent === no);
    if (!tr) return null;
    return { state: tr.cells[6].textContent, paper: tr.cells[7].textContent,
             buttons: [...tr.cells[11].querySelectorAll('button')].map((b) => b.textContent),
             links: [...tr.cells[11].querySelectorAll('a')].map((a) => a.textContent) };
  }, no);
}

// click an action of the bill's row, then wait for the list to say how it went
async function act(page, label) {
  const before = await page.textContent('#bills-err');
  await page.click(`#bill-rows button[data-no="${no}"]:text-is("${label}")`);
  await page.waitForFunction((b) => { const e = document.querySelector('#bills-err'); return e.textContent && e.textContent !== b; },
                             before, { timeout: 10000 });
  return { message: await page.textContent('#bills-err'), cls: await page.getAttribute('#bills-err', 'class'),
           row: await row(page) };
}

async function main(launched) {
  const browser = await chromium.launch({ executablePath: EXECUTABLE, headless: true, args: ARGS });
  launched(browser);
  out.browser_version = browser.version();
  // the machine's time zone, as the server's: the list asks for the browser's today
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') out.console_errors.push(m.text()); });
  // (the errors counted are the bill list's: the lists are emptied when it opens, below)
  page.on('pageerror', (e) => out.page_errors.push(String(e && e.message || e)));
  // 冲红 and 作废纸质 ask for a reason, 换开纸质 for a confirmation
  page.on('dialog', async (d) => {
    out.dialogs.push({ type: d.type(), message: d.message() });
    const reason = Object.entries(REASONS).find(([k]) => d.message().includes(k.slice(0, 2)));
    if (d.type() === 'prompt') await d.accept(reason ? reason[1] : '其他');
    else await d.accept();
  });

  const root = base.replace(/\/+$/, '');
  // the home page's own requests (some refused to a cashier) are done before the bill list opens
  await consoleLogin(page, root, user, password);
  // what the console's home page refuses a cashier (its status and outbox panels) is not this test's
  out.console_errors.length = 0;
  out.bad_responses = [];
  page.on('response', (r) => {
    const from = r.request().frame() ? r.request().frame().url() : '';
    if (r.status() >= 400 && from.includes('/console/invoice.html'))
      out.bad_responses.push(`${r.status()} ${new URL(r.url()).pathname}`);
  });
  await page.goto(`${root}/console/invoice.html`);
  await page.waitForFunction((n) => [...document.querySelectorAll('#bill-rows tr')]
    .some((r) => r.cells[1] && r.cells[1].textContent === n), no, { timeout: 10000 });
  out.steps.found = await row(page);
  // 库存预警 above the stock table
  out.stock_warn = await page.evaluate(() => { const e = document.querySelector('#stock-warn');
    return e ? { hidden: e.hidden, text: e.textContent } : null; });
  out.steps.paper = await act(page, '换开纸质');
  out.steps.paper_void = await act(page, '作废纸质');
  out.steps.flush = await act(page, '冲红');
  // 作废空白纸质票号 at the cashier's own window, kept by the browser for the next visit
  await page.fill('#window-place', 'MZ01');
  await page.dispatchEvent('#window-place', 'change');
  {
    const before = await page.textContent('#bills-err');
    await page.click('#blank-void');
    await page.waitForFunction((b) => { const e = document.querySelector('#bills-err'); return e.textContent && e.textContent !== b; },
                               before, { timeout: 10000 });
    out.steps.blank_void = { message: await page.textContent('#bills-err'), cls: await page.getAttribute('#bills-err', 'class') };
  }
  await page.reload();
  out.steps.window_kept = await page.inputValue('#window-place');
  out.screenshot = path.join(shots, 'console_window.png');
  // the bill list's section: the whole page is the demo's 64 billing points' stock, 10,000 px long
  await page.locator('section:has(#bill-rows)').screenshot({ path: out.screenshot });
  await context.close();
  out.ok = true;
}

run(40000, out, main);
