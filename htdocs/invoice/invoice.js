/* hisgate patient e-bill pages: shared helpers (no framework, no build step).
 * ES5 on purpose: the pages must run in WeChat's in-app browser and in old Android WebViews, so no
 * arrow functions, template strings, fetch or Promise.  Every server string goes through HG.esc
 * before it reaches innerHTML; URLs from the server go through HG.localUrl. */
(function (win) {
  'use strict';
  var doc = win.document;
  var HG = win.HG || {};          /* HG.$, HG.esc and HG.api come from /static/hg.js */

  /* #code=44010126&no=0000000001&r=a1b2c3 -> {code:..., no:..., r:...}; the fragment never reaches the server */
  HG.hashParams = function () {
    var out = {}, h = win.location.hash.replace(/^#/, '');
    if (!h) return out;
    h.split('&').forEach(function (kv) {
      var i = kv.indexOf('='), k, v;
      if (i < 1) return;
      try {
        k = decodeURIComponent(kv.slice(0, i));
        v = decodeURIComponent(kv.slice(i + 1).replace(/\+/g, ' '));
      } catch (e) { return; }
      out[k] = v;
    });
    return out;
  };

  /* A same-origin path only (no scheme, no //host, no javascript:), else null. */
  HG.localUrl = function (u, prefix) {
    if (typeof u !== 'string' || u.charAt(0) !== '/' || u.charAt(1) === '/' || u.charAt(1) === '\\') return null;
    if (/[\u0000-\u001f\s]/.test(u)) return null;
    if (prefix && u.indexOf(prefix) !== 0) return null;
    return u;
  };

  /* Friendly Chinese text for an error {code, message, status}. */
  var MESSAGES = {
    NETWORK: '网络连接失败，请检查网络后重试',
    TIMEOUT: '网络超时，请稍后重试',
    BAD_RESPONSE: '服务返回异常，请稍后重试',
    HG_NOT_FOUND: '未找到该票据，请核对链接或二维码是否完整',
    HG_FORBIDDEN: '无权查看该票据',
    HG_DB_UNAVAILABLE: '系统繁忙，请稍后再试',
    HG_DB_BUSY: '系统繁忙，请稍后再试',
    HG_DB_TIMEOUT: '系统繁忙，请稍后再试',
    HG_PLATFORM_UNAVAILABLE: '票据平台暂时不可用，请稍后再试',
    HG_PLATFORM_TIMEOUT: '票据平台响应超时，请稍后再试',
    HG_INTERNAL: '系统内部错误，请稍后再试'
  };
  var CJK = /[\u4e00-\u9fff]/;
  HG.errorText = function (err) {
    var m, zh, par;
    if (!err) return '未知错误';
    m = typeof err.message === 'string' ? err.message : '';
    if (m && CJK.test(m)) {
      /* server texts read "中文 (english)" or "english (中文)": show the Chinese part */
      zh = m.replace(/\s*[（(][\x00-\x7f]*[)）]\s*$/, '');
      if (CJK.test(zh.charAt(0))) return zh;
      par = /^[\x00-\x7f]*[（(]([^()（）]*[\u4e00-\u9fff][^()（）]*)[)）]\s*$/.exec(m);
      return par ? par[1] : zh;
    }
    if (MESSAGES[err.code]) return MESSAGES[err.code];
    if (/^HG_FIELD_/.test(err.code || '')) return '输入的信息格式不正确，请检查后重试';
    if (err.status === 429) return '操作过于频繁，请稍后再试';
    if (err.status >= 500) return '服务暂时不可用，请稍后再试';
    if (err.status === 404) return MESSAGES.HG_NOT_FOUND;
    return '请求失败（' + (err.code || ('HTTP ' + err.status)) + '）';
  };

  /* "12.3" / 12.3 / "-5" -> "12.30" / "-5.00"; strings are not passed through floating point. */
  HG.amount = function (v) {
    var s, m, frac;
    if (typeof v === 'number' && isFinite(v)) return v.toFixed(2);
    s = String(v === null || v === undefined ? '' : v).trim();
    m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(s);
    if (!m) return s;
    frac = ((m[3] || '') + '00').slice(0, 2);
    return m[1] + m[2].replace(/^0+(?=\d)/, '') + '.' + frac;
  };
  HG.money = function (v) { var a = HG.amount(v); return a ? '¥' + a : ''; };

  /* 20261128183000123 -> 2026-11-28 18:30:00; 20261128 -> 2026-11-28; others unchanged */
  HG.dateTime = function (s) {
    s = String(s || '');
    var m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})\d*)?$/.exec(s);
    if (!m) return s;
    return m[1] + '-' + m[2] + '-' + m[3] + (m[4] ? ' ' + m[4] + ':' + m[5] + ':' + m[6] : '');
  };

  HG.inWeChat = function () { return /MicroMessenger/i.test(win.navigator.userAgent); };

  /* Full-page states in el. */
  HG.renderLoading = function (el, text) {
    el.innerHTML = '<div class="weui-loadmore inv-loading" role="status"><i class="weui-loading"></i>' +
      '<span class="weui-loadmore__tips">' + HG.esc(text || '正在加载') + '</span></div>';
  };

  /* opts: {icon: 'warn'|'waiting'|'info', title, desc, button, onButton, extra (trusted HTML)} */
  HG.renderMsg = function (el, opts) {
    var icon = { warn: 'weui-icon-warn', waiting: 'weui-icon-waiting', info: 'weui-icon-info' }[opts.icon || 'warn'];
    el.innerHTML =
      '<div class="weui-msg inv-msg">' +
      '<div class="weui-msg__icon-area"><i class="' + icon + ' weui-icon_msg"></i></div>' +
      '<div class="weui-msg__text-area"><h2 class="weui-msg__title">' + HG.esc(opts.title) + '</h2>' +
      (opts.desc ? '<p class="weui-msg__desc">' + HG.esc(opts.desc) + '</p>' : '') + (opts.extra || '') + '</div>' +
      (opts.button ? '<div class="weui-msg__opr-area"><p class="weui-btn-area">' +
        '<button type="button" class="weui-btn weui-btn_primary" id="inv-msg-btn">' + HG.esc(opts.button) +
        '</button></p></div>' : '') +
      '</div>';
    if (opts.button && opts.onButton) HG.$('inv-msg-btn').addEventListener('click', opts.onButton);
  };

  /* retry is offered only when trying again can help (network, timeout, 429, 5xx) */
  HG.renderError = function (el, err, retry) {
    var transient = !err.status || err.status === 429 || err.status >= 500;
    var missing = err.status === 404;
    HG.renderMsg(el, { icon: 'warn', title: missing ? '未找到票据' : '暂时无法显示',
                       desc: missing ? '请核对链接或二维码是否完整；刚缴费的票据请稍后再查看。' : HG.errorText(err),
                       button: retry && transient ? '重新加载' : null, onButton: retry });
  };

  /* A short red message at the top of the page (WeUI toptips). */
  var tipTimer = null;
  HG.toptip = function (text) {
    var el = HG.$('inv-toptips');
    if (!el) {
      el = doc.createElement('div');
      el.id = 'inv-toptips';
      el.className = 'weui-toptips weui-toptips_warn';
      el.setAttribute('role', 'alert');
      doc.body.appendChild(el);
    }
    el.textContent = text;
    el.style.display = 'block';
    if (tipTimer) win.clearTimeout(tipTimer);
    tipTimer = win.setTimeout(function () { el.style.display = 'none'; }, 3000);
  };

  win.HG = HG;
})(window);
