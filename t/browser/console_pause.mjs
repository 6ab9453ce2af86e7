// The staff console's home page (htdocs/console/index.html) in Debian's Chromium, driven by
// playwright-core: an operator pauses a topic for a platform's maintenance with the 暂停发送 form and
// lifts it with the row's 恢复 button; a cashier does not get the form.
//
//   node t/browser/console_pause.mjs <base_url> <topic> <reason> <screenshot_dir> <ops_user> <ops_pw> <clerk_user> <clerk_pw>
//
// Prints ONE JSON object on stdout with what it saw after each step; t/browser/04_console_pause.t
// turns it into TAP.  Screenshot: console_pause.png (the status panel while paused).
import { chromium } from 'playwright-core';
import path from 'node:path';
import { EXECUTABLE, ARGS, run, consoleLogin } from './harness.mjs';

const [base, topic, reason, shots, user, password, clerk, clerkPw] = process.argv.slice(2);
if (!base || !topic || !reason || !shots || !user || !password || !clerk || !clerkPw) {
  console.error('usage: node t/browser/console_pause.mjs <base_url> <topic> <reason> <screenshot_dir> <user> <pw> <clerk> <clerk_pw>');
  process.exit(2);
}
const out = { ok: false, console_errors: [], page_errors: [], bad_responses: [], steps: {} };

// the topic's row in the status table: its pause cell's text and buttons
async function statusRow(page) {
  return page.evaluate((t) => {
    const tr = [...document.querySelectorAll('#status tr')].find((r) => r.cells[0] && r.cells[0].textContent === t);
    if (!tr) return null;
    const cell = tr.cells[tr.cells.length - 1];
    return { pause: cell.textContent.trim(), buttons: [...cell.querySelectorAll('button')].map((b) => b.textContent) };
  }, topic);
}

async function login(context, who, pw) {
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') out.console_errors.push(`${who}: ${m.text()}`); });
  page.on('pageerror', (e) => out.page_errors.push(String(e && e.message || e)));
  await consoleLogin(page, base, who, pw);
  return page;
}

async function main(launched) {
  const browser = await chromium.launch({ executablePath: EXECUTABLE, headless: true, args: ARGS });
  launched(browser);
  out.browser_version = browser.version();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  const page = await login(context, user, password);
  page.on('response', (r) => { if (r.status() >= 400) out.bad_responses.push(`${r.status()} ${new URL(r.url()).pathname}`); });
  out.steps.form_shown = await page.isVisible('#pause');
  out.steps.choices = await page.$$eval('#pause-topic option', (os) => os.map((o) => o.textContent));
  out.steps.before = await statusRow(page);
  await page.selectOption('#pause-topic', topic);
  await page.fill('#pause-reason', reason);
  await page.click('#pause button');
  await page.waitForFunction((t) => [...document.querySelectorAll('#status tr')]
    .some((r) => r.cells[0] && r.cells[0].textContent === t && r.textContent.includes('已暂停')), topic, { timeout: 10000 });
  out.steps.paused = await statusRow(page);
  out.steps.choices_paused = await page.$$eval('#pause-topic option', (os) => os.map((o) => o.textContent));
  out.steps.error_after_pause = await page.textContent('#status-err');
  out.screenshot = path.join(shots, 'console_pause.png');
  await page.locator('section:has(#status)').screenshot({ path: out.screenshot });
  await page.click(`#status button[data-resume="${topic}"]`);
  await page.waitForFunction((t) => [...document.querySelectorAll('#status tr')]
    .some((r) => r.cells[0] && r.cells[0].textContent === t && !r.textContent.includes('已暂停')), topic, { timeout: 10000 });
  out.steps.resumed = await statusRow(page);
  await context.close();
  // a cashier's console, in a context of its own (no operator's session): the form is not there
  // (the server would refuse it: role ops)
  const cc = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  const cp = await login(cc, clerk, clerkPw);
  out.steps.clerk_form_shown = await cp.isVisible('#pause');
  await cc.close();
  out.ok = true;
}

run(40000, out, main);
