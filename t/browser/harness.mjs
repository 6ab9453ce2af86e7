// What the browser scripts of t/browser share: Debian's Chromium with the flags a container needs,
// one JSON report on stdout (the .t file turns it into TAP), a deadline after which the script gives
// up and still reports, and the staff console's login form.
export const EXECUTABLE = process.env.HG_CHROMIUM || '/usr/bin/chromium';
// the phone the H5 pages are checked on: 390 px wide, inside WeChat's in-app browser (its user agent)
export const WIDTH = 390, HEIGHT = 844;
export const WECHAT_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240205.004; wv) AppleWebKit/537.36 ' +
  '(KHTML, like Gecko) Version/4.0 Chrome/156.0.0.0 Mobile Safari/537.36 XWEB/1300333 MMWEBSDK/20240301 ' +
  'MMWEBID/1234 MicroMessenger/8.0.47.2560(0x28002F37) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64';
// the flags the machine needs for a headless Chromium on a closed network (machines/c.md)
export const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

// run main(browserLaunched) within deadlineMs; report `out` (with elapsed_ms, and error when it failed)
// and exit 0 when main resolved, 1 when it threw, 3 at the deadline.  main calls browserLaunched(b)
// with the browser it launched, so that it is closed whatever happens.
export function run(deadlineMs, out, main) {
  const t0 = Date.now();
  let browser = null, done = false;
  const finish = (rc) => {
    if (done) return;
    done = true;
    clearTimeout(killer);
    out.elapsed_ms = Date.now() - t0;
    process.stdout.write(JSON.stringify(out) + '\n');
    const close = browser ? browser.close().catch(() => {}) : Promise.resolve();
    close.finally(() => process.exit(rc));
    setTimeout(() => process.exit(rc), 3000).unref();
  };
  const killer = setTimeout(() => { out.error = `gave up after ${deadlineMs} ms`; finish(3); }, deadlineMs);
  main((b) => { browser = b; }).then(() => finish(0), (e) => { out.error = String(e && e.stack || e); finish(1); });
}

// the console's login form on page; resolves once the console shows and its first requests are done
export async function consoleLogin(page, base, user, password) {
  await page.goto(`${base.replace(/\/+$/, '')}/console/index.html`);
  await page.fill('#login input[name=username]', user);
  await page.fill('#login input[name=password]', password);
  await page.click('#login button');
  await page.waitForSelector('#main', { state: 'visible', timeout: 10000 });
  await page.waitForLoadState('networkidle', { timeout: 10000 }).catch(() => {});
}
