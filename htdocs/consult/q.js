/* q.html: the patient's pre-consultation (预问诊) on the phone.
 * ES5 on purpose (WeChat's in-app browser, old Android WebViews): no arrow functions, template
 * strings, fetch or Promise.  Every server string goes through esc() before it reaches innerHTML.
 *
 * The server is the only authority on what comes next: the page shows the items the last answer
 * named, sends what the patient chose, and renders whatever state comes back.  It checks required
 * answers and min/max/length locally only as a courtesy.
 *
 * Contract (/consult/pub/v1/sessions/<token>): GET → {state, items, progress?, advice?, review?,
 * summary?}; POST …/answers {answers:[{linkId, value}]}; POST …/back {}; POST …/submit {confirm,
 * sections?}.  Optional parts degrade: without "progress" the page counts its own steps; when
 * …/back is not there (404 HG_NOT_FOUND) Back replays the page's own history (re-answering an item
 * replaces its answer); without "review" the review screen lists the patient's own answers.
 *
 * Nothing personal goes into a URL; the token lives in the fragment and in sessionStorage.
 *
 * The staff console's preview (/console/consult-preview.html) runs this same page with
 * window.HG_CONSULT_PREVIEW = {api: function (method, path, body, cb)} set before it: the same
 * requests and answers, served by the staff preview API instead of a session; no token, a fresh
 * walk on every load. */
(function (win) {
  'use strict';
  var doc = win.document;
  var app = doc.getElementById('app');
  var API = '/consult/pub/v1/sessions/';
  var PREVIEW = win.HG_CONSULT_PREVIEW || null;
  var STORE = PREVIEW ? 'hg.consult.preview' : 'hg.consult';
  var SECTIONS = [
    ['chief_complaint', '主诉'], ['present_illness', '现病史'], ['past_history', '既往史'],
    ['personal_history', '个人史'], ['allergy_history', '过敏史'], ['family_history', '家族史']
  ];
  var TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

  var token = null;
  var st = null;            /* {t, hist:[{items, answers}], answers:{linkId: value}, steps, noBack} */
  var view = null;          /* the last server answer */
  var page = [];            /* items on screen */
  var busy = false;

  /* ---------------------------------------------------------------- helpers */

  function $(id) { return doc.getElementById(id); }
  var esc = win.HG.esc;             /* /static/hg.js */
  function isArr(a) { return Object.prototype.toString.call(a) === '[object Array]'; }
  function has(o, k) { return o && Object.prototype.hasOwnProperty.call(o, k); }

  function load() {
    try { st = JSON.parse(win.sessionStorage.getItem(STORE) || 'null'); } catch (e) { st = null; }
  }
  function save() {
    try { win.sessionStorage.setItem(STORE, JSON.stringify(st)); } catch (e) { /* private mode: no resume */ }
  }

  /* the token: from #t=… (then out of the address bar), else from this tab's sessionStorage */
  function findToken() {
    var h = win.location.hash.replace(/^#/, ''), m = /(?:^|&)t=([^&]*)/.exec(h), t = null;
    load();
    if (m) {
      try { t = decodeURIComponent(m[1]); } catch (e) { t = ''; }
      if (!st || st.t !== t) st = { t: t, hist: [], answers: {}, steps: 0, noBack: false };
      save();
      if (win.history && win.history.replaceState)
        win.history.replaceState(null, '', win.location.pathname + win.location.search);
    } else if (st) {
      t = st.t;
    }
    return t;
  }

  var MESSAGES = {
    NETWORK: '网络连接失败，请检查网络后重试',
    TIMEOUT: '网络超时，请稍后重试',
    BAD_RESPONSE: '服务返回异常，请稍后重试',
    HG_CONSULT_SESSION: '预问诊链接无效或已过期',
    HG_CONSULT_CLOSED: '预问诊已提交或已结束',
    HG_DB_UNAVAILABLE: '系统繁忙，请稍后再试',
    HG_DB_BUSY: '系统繁忙，请稍后再试',
    HG_DB_TIMEOUT: '系统繁忙，请稍后再试',
    HG_FIELD_REQUIRED: '请先回答这个问题',
    HG_FIELD_RANGE: '填写的数值超出范围',
    HG_FIELD_TYPE: '填写的内容格式不对',
    HG_FIELD_DATE: '请填写正确的日期',
    HG_FIELD_TOO_LONG: '填写的内容太长了',
    HG_FIELD_TOO_SHORT: '填写的内容太短了',
    HG_FIELD_PATTERN: '填写的内容格式不对',
    HG_FIELD_ENUM: '请从选项中选择',
    HG_FIELD_UNKNOWN: '这个问题已不适用，请刷新页面',
    HG_INTERNAL: '系统内部错误，请稍后再试'
  };
  var CJK = /[\u4e00-\u9fff]/;
  /* our JSON error envelope {code, message, field}: the server's Chinese text when it has one */
  function errorText(err) {
    var m = err && typeof err.message === 'string' ? err.message : '', zh, par;
    if (!err) return '未知错误';
    if (m && CJK.test(m)) {
      zh = m.replace(/\s*[（(][\x00-\x7f]*[)）]\s*$/, '');
      if (CJK.test(zh.charAt(0))) return zh;
      par = /^[\x00-\x7f]*[（(]([^()（）]*[\u4e00-\u9fff][^()（）]*)[)）]\s*$/.exec(m);
      return par ? par[1] : zh;
    }
    if (MESSAGES[err.code]) return MESSAGES[err.code];
    if (err.status === 429) return '操作过于频繁，请稍后再试';
    if (err.status >= 500) return '服务暂时不可用，请稍后再试';
    return '请求失败（' + (err.code || ('HTTP ' + err.status)) + '）';
  }

  /* JSON request on this session; cb(err, data); err = {code, message, field, status, data} */
  function api(method, path, body, cb) {
    if (PREVIEW) { PREVIEW.api(method, path, body, cb); return; }
    win.HG.api(method, API + encodeURIComponent(token) + path, body, cb);
  }

  var tipTimer = null;
  function toptip(text) {
    var el = $('cq-toptips');
    if (!el) {
      el = doc.createElement('div');
      el.id = 'cq-toptips';
      el.className = 'weui-toptips weui-toptips_warn';
      el.setAttribute('role', 'alert');
      doc.body.appendChild(el);
    }
    el.textContent = text;
    el.style.display = 'block';
    if (tipTimer) win.clearTimeout(tipTimer);
    tipTimer = win.setTimeout(function () { el.style.display = 'none'; }, 3500);
  }

  function loading(text) {
    app.innerHTML = '<div class="weui-loadmore cq-loading" role="status"><i class="weui-loading"></i>' +
      '<span class="weui-loadmore__tips">' + esc(text || '正在加载') + '</span></div>';
  }

  /* a full-page message; opts: {icon, title, desc, extra (trusted HTML), button, onButton, id} */
  function msg(opts) {
    var icon = { warn: 'weui-icon-warn', success: 'weui-icon-success', info: 'weui-icon-info',
                 waiting: 'weui-icon-waiting' }[opts.icon || 'warn'];
    app.innerHTML =
      '<div class="weui-msg cq-msg" id="' + esc(opts.id || 'cq-msg') + '">' +
      '<div class="weui-msg__icon-area"><i class="' + icon + ' weui-icon_msg"></i></div>' +
      '<div class="weui-msg__text-area"><h2 class="weui-msg__title">' + esc(opts.title) + '</h2>' +
      (opts.desc ? '<p class="weui-msg__desc">' + esc(opts.desc) + '</p>' : '') + '</div>' +
      (opts.extra || '') +
      (opts.button ? '<div class="weui-msg__opr-area"><p class="weui-btn-area">' +
        '<button type="button" class="weui-btn weui-btn_primary" id="cq-msg-btn">' + esc(opts.button) +
        '</button></p></div>' : '') +
      '</div>';
    if (opts.button && opts.onButton) $('cq-msg-btn').addEventListener('click', opts.onButton);
  }

  function expired() {
    try { win.sessionStorage.removeItem(STORE); } catch (e) { /* nothing to forget */ }
    msg({ id: 'cq-expired', icon: 'info', title: '链接已失效',
          desc: '这个预问诊链接已过期或无效。请通过医院公众号、短信中的最新链接重新进入，或在就诊时告诉医生您的情况。' });
  }

  /* a failed load: the expired page, or the message with a retry when trying again can help */
  function failed(err, retry) {
    if (err.code === 'HG_CONSULT_SESSION') { expired(); return; }
    var transient = !err.status || err.status === 429 || err.status >= 500;
    msg({ id: 'cq-error', icon: 'warn', title: '暂时无法打开', desc: errorText(err),
          button: transient ? '重新加载' : null, onButton: retry });
  }

  /* ---------------------------------------------------------------- answers */

  function display(item, v) {
    var out = [];
    if (v === null || v === undefined) return '（未填写）';
    if (item.type === 'boolean') return v === true ? '是' : v === false ? '否' : String(v);
    if (item.type === 'choice' || item.type === 'multi') {
      (isArr(v) ? v : [v]).forEach(function (code) {
        var o = (item.options || []).filter(function (x) { return x.code === code; })[0];
        out.push(o ? o.display : code);
      });
      return out.length ? out.join('、') : '都没有';
    }
    if (isArr(v)) return v.length ? v.join('、') : '（未填写）';
    return v === '' ? '（未填写）' : String(v);
  }

  /* the value to show in an item: the server's "answer", else what this tab sent, else "initial" */
  function current(item) {
    if (has(item, 'answer')) return item.answer;
    if (has(st.answers, item.linkId)) return st.answers[item.linkId];
    return has(item, 'initial') ? item.initial : undefined;
  }

  /* ---------------------------------------------------------------- the question screen */

  /* what one screen shows: display items, then one question — or a whole group when the server
   * sends the group with its children */
  function pickPage(items) {
    var out = [], i;
    for (i = 0; i < items.length; i++) {
      out.push(items[i]);
      if (items[i].type !== 'display') break;
    }
    return out;
  }

  function hint(item) {
    var h = [];
    if (item.type === 'number' || item.type === 'date') {
      if (item.min !== undefined && item.max !== undefined) h.push('范围 ' + item.min + ' ～ ' + item.max);
      else if (item.min !== undefined) h.push('不小于 ' + item.min);
      else if (item.max !== undefined) h.push('不大于 ' + item.max);
    }
    if (item.type === 'text' && item.maxLength) h.push('最多 ' + item.maxLength + ' 字');
    if (item.type === 'multi') h.push('可多选' + (item.required ? '' : '，都没有请直接点“下一步”'));
    if (!item.required && item.type !== 'multi' && item.type !== 'display' && item.type !== 'group') h.push('选填');
    return h.length ? '<p class="cq-hint">' + esc(h.join('；')) + '</p>' : '';
  }

  function field(item, idx) {
    var id = 'q' + idx, v = current(item), html = '', opts, type;
    var title = '<div class="weui-cells__title" id="' + id + '-t">' + esc(item.prefix ? item.prefix + ' ' : '') +
      esc(item.text) + (item.required ? '<span class="cq-req" aria-label="必答">*</span>' : '') + '</div>';
    if (item.type === 'display')
      return '<p class="cq-display">' + esc(item.text) + '</p>';
    if (item.type === 'group')
      return '<h2 class="cq-group">' + esc(item.text) + '</h2>' +
        (item.items || []).map(function (c, k) { return field(c, idx + '_' + k); }).join('');
    html += '<section class="cq-q" data-link="' + esc(item.linkId) + '" data-idx="' + esc(idx) + '">' + title;
    if (item.type === 'choice' || item.type === 'boolean') {
      opts = item.type === 'boolean' ? [{ code: true, display: '是' }, { code: false, display: '否' }] : item.options || [];
      html += '<div class="weui-cells weui-cells_radio" role="radiogroup" aria-labelledby="' + id + '-t">';
      opts.forEach(function (o, k) {
        html += '<label class="weui-cell weui-cell_active weui-check__label" for="' + id + '-' + k + '">' +
          '<div class="weui-cell__bd"><p>' + esc(o.display) + '</p></div>' +
          '<div class="weui-cell__ft"><input type="radio" class="weui-check" name="' + id + '" id="' + id + '-' + k +
          '" data-k="' + k + '"' + (v === o.code ? ' checked' : '') + '><span class="weui-icon-checked"></span></div></label>';
      });
      html += '</div>';
    } else if (item.type === 'multi') {
      html += '<div class="weui-cells weui-cells_checkbox">';
      (item.options || []).forEach(function (o, k) {
        var on = isArr(v) && v.indexOf(o.code) >= 0;
        html += '<label class="weui-cell weui-cell_active weui-check__label" for="' + id + '-' + k + '">' +
          '<div class="weui-cell__hd"><input type="checkbox" class="weui-check" name="' + id + '" id="' + id + '-' + k +
          '" data-k="' + k + '"' + (on ? ' checked' : '') + '><i class="weui-icon-checked"></i></div>' +
          '<div class="weui-cell__bd"><p>' + esc(o.display) + '</p></div></label>';
      });
      html += '</div>';
    } else if (item.type === 'text' && !item.repeats) {
      html += '<div class="weui-cells weui-cells_form"><div class="weui-cell"><div class="weui-cell__bd">' +
        '<textarea class="weui-textarea" id="' + id + '-in" rows="3" aria-labelledby="' + id + '-t"' +
        (item.maxLength ? ' maxlength="' + esc(item.maxLength) + '"' : '') + ' placeholder="请输入">' +
        esc(typeof v === 'string' ? v : '') + '</textarea></div></div></div>';
    } else {
      type = item.type === 'number' ? 'number' : item.type === 'date' ? 'date' : 'text';
      html += '<div class="weui-cells weui-cells_form" id="' + id + '-rows">';
      (item.repeats ? (isArr(v) && v.length ? v : ['']) : [v]).forEach(function (x, k) {
        html += inputRow(item, id, k, type, x);
      });
      html += '</div>' + (item.repeats ? '<p class="cq-more"><button type="button" class="weui-btn weui-btn_mini ' +
        'weui-btn_default" data-more="' + esc(idx) + '">再填一项</button></p>' : '');
    }
    html += hint(item) + '<p class="cq-err" id="' + id + '-err" role="alert" hidden></p></section>';
    return html;
  }

  function inputRow(item, id, k, type, x) {
    return '<div class="weui-cell"><div class="weui-cell__bd"><input class="weui-input" id="' + id + '-in' + (k ? '-' + k : '') +
      '" data-row="1" type="' + type + '"' + (type === 'number' ? ' inputmode="decimal" step="any"' : '') +
      (item.min !== undefined ? ' min="' + esc(item.min) + '"' : '') + (item.max !== undefined ? ' max="' + esc(item.max) + '"' : '') +
      (item.maxLength ? ' maxlength="' + esc(item.maxLength) + '"' : '') + ' aria-labelledby="' + id + '-t" placeholder="' +
      (type === 'number' ? '请输入数字' : '请输入') + '" value="' + esc(x === undefined || x === null ? '' : x) + '"></div></div>';
  }

  function progressHtml() {
    var p = view && view.progress, pct, text;
    if (p && p.total > 0) {
      pct = Math.max(0, Math.min(100, Math.round(100 * p.answered / p.total)));
      text = '已完成 ' + p.answered + ' / ' + p.total;
    } else {
      pct = null;
      text = '第 ' + (st.steps + 1) + ' 步';
    }
    return '<div class="cq-progress"><p class="cq-sub" id="cq-progress-text">' + esc(text) + '</p>' +
      (pct !== null ? '<div class="weui-progress"><div class="weui-progress__bar"><div class="weui-progress__inner-bar" ' +
        'id="cq-bar"></div></div></div>' : '') + '</div>';
  }

  function canBack() { return st.hist.length > 0 || (!st.noBack && view && view.progress && view.progress.answered > 0); }

  function renderQuestions(items, revisit) {
    page = pickPage(items);
    app.innerHTML =
      '<header class="cq-head"><h1 class="cq-title">诊前预问诊</h1>' +
      '<p class="cq-sub">请如实填写，医生接诊时会看到您的回答。</p>' + progressHtml() + '</header>' +
      '<form id="cq-form" novalidate>' + page.map(function (it, i) { return field(it, String(i)); }).join('') +
      '<div class="cq-btns">' +
      (canBack() ? '<button type="button" class="weui-btn weui-btn_default" id="cq-back">上一步</button>' : '') +
      '<button type="submit" class="weui-btn weui-btn_primary" id="cq-next">下一步</button></div></form>' +
      '<div class="weui-footer cq-footer"><p class="weui-footer__text">如病情紧急，请立即到急诊就医或拨打 120。</p></div>';
    var bar = $('cq-bar');
    if (bar) bar.style.width = Math.round(100 * view.progress.answered / view.progress.total) + '%';
    $('cq-form').addEventListener('submit', function (ev) { ev.preventDefault(); next(); });
    $('cq-form').addEventListener('click', function (ev) {
      var idx = ev.target && ev.target.getAttribute('data-more'), rows, item;
      if (!idx) return;
      item = itemAt(idx);
      rows = $('q' + idx + '-rows');
      rows.insertAdjacentHTML('beforeend', inputRow(item, 'q' + idx, rows.children.length,
        item.type === 'number' ? 'number' : item.type === 'date' ? 'date' : 'text', ''));
    });
    if ($('cq-back')) $('cq-back').addEventListener('click', back);
    app.setAttribute('data-state', revisit ? 'revisit' : 'in-progress');
    win.scrollTo(0, 0);
  }

  function itemAt(idx) {
    var parts = String(idx).split('_'), it = page[Number(parts[0])], k;
    for (k = 1; k < parts.length; k++) it = (it.items || [])[Number(parts[k])];
    return it;
  }

  /* one item's value from the form: {ok, value, empty} or {ok:false, msg} */
  function readItem(item, idx) {
    var id = 'q' + idx, sec = app.querySelector('section[data-idx="' + idx + '"]'), els, v, out = [], bad = null;
    var opts = item.type === 'boolean' ? [true, false] : (item.options || []).map(function (o) { return o.code; });
    if (item.type === 'choice' || item.type === 'boolean') {
      els = sec.querySelectorAll('input:checked');
      if (!els.length) return item.required ? { ok: false, msg: '请选择一项' } : { ok: true, value: null };
      return { ok: true, value: opts[Number(els[0].getAttribute('data-k'))] };
    }
    if (item.type === 'multi') {
      els = sec.querySelectorAll('input:checked');
      Array.prototype.forEach.call(els, function (e) { out.push(opts[Number(e.getAttribute('data-k'))]); });
      if (!out.length && item.required) return { ok: false, msg: '请至少选择一项' };
      return { ok: true, value: out };
    }
    if (item.type === 'text' && !item.repeats) {
      v = $(id + '-in').value.replace(/^\s+|\s+$/g, '');
      if (!v && item.required) return { ok: false, msg: '请填写' };
      if (item.minLength && v && v.length < item.minLength) return { ok: false, msg: '至少 ' + item.minLength + ' 个字' };
      return { ok: true, value: v };
    }
    els = sec.querySelectorAll('input[data-row]');
    Array.prototype.forEach.call(els, function (e) {
      var s = e.value.replace(/^\s+|\s+$/g, ''), n;
      if (bad || s === '') { if (!bad && e.validity && e.validity.badInput) bad = '请输入数字'; return; }
      if (item.type === 'number') {
        n = Number(s);
        if (!isFinite(n)) { bad = '请输入数字'; return; }
        if (item.min !== undefined && n < item.min) { bad = '不能小于 ' + item.min; return; }
        if (item.max !== undefined && n > item.max) { bad = '不能大于 ' + item.max; return; }
        out.push(n);
      } else if (item.type === 'date') {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) { bad = '请选择日期'; return; }
        if (item.min !== undefined && s < item.min) { bad = '不能早于 ' + item.min; return; }
        if (item.max !== undefined && s > item.max) { bad = '不能晚于 ' + item.max; return; }
        out.push(s);
      } else {
        out.push(s);
      }
    });
    if (bad) return { ok: false, msg: bad };
    if (!out.length) return item.required ? { ok: false, msg: '请填写' } : { ok: true, value: item.repeats ? [] : null };
    return { ok: true, value: item.repeats ? out : out[0] };
  }

  function showErr(idx, text) {
    var el = $('q' + idx + '-err');
    if (el) { el.textContent = text; el.hidden = false; }
  }

  function collect(items, prefix, answers) {
    var ok = true;
    items.forEach(function (item, i) {
      var idx = prefix + i, r;
      if (item.type === 'display') return;
      if (item.type === 'group') { ok = collect(item.items || [], idx + '_', answers) && ok; return; }
      r = readItem(item, idx);
      if (!r.ok) { showErr(idx, r.msg); ok = false; return; }
      answers.push({ linkId: item.linkId, value: r.value });
    });
    return ok;
  }

  function next() {
    var answers = [], sent;
    if (busy) return;
    Array.prototype.forEach.call(app.querySelectorAll('.cq-err'), function (e) { e.hidden = true; });
    if (!collect(page, '', answers)) { toptip('请检查标红的问题'); return; }
    if (!answers.length) { refresh(); return; }
    sent = page;
    busy = true;
    $('cq-next').className += ' weui-btn_loading';
    api('POST', '/answers', { answers: answers }, function (err, data) {
      busy = false;
      if (err) {
        if ($('cq-next')) $('cq-next').className = $('cq-next').className.replace(' weui-btn_loading', '');
        if (err.code === 'HG_CONSULT_SESSION') { expired(); return; }
        if (err.code === 'HG_CONSULT_CLOSED') { refresh(); return; }
        markField(err);
        toptip(errorText(err));
        return;
      }
      answers.forEach(function (a) { st.answers[a.linkId] = a.value; });
      st.hist.push({ items: sent, answers: answers });
      st.steps++;
      save();
      show(data);
    });
  }

  /* a 400 names the item at fault by its linkId */
  function markField(err) {
    var secs = app.querySelectorAll('section[data-link]'), i;
    for (i = 0; i < secs.length; i++) {
      if (err.field && secs[i].getAttribute('data-link') === err.field) {
        showErr(secs[i].getAttribute('data-idx'), errorText(err));
        return;
      }
    }
  }

  /* Back: the server's previous page; where the server has no …/back, this tab's own history */
  function back() {
    if (busy) return;
    function local() {
      var prev = st.hist.pop();
      if (!prev) { toptip('已经是第一步了'); return; }
      st.steps = Math.max(0, st.steps - 1);
      save();
      renderQuestions(prev.items, true);
    }
    if (st.noBack) { local(); return; }
    busy = true;
    api('POST', '/back', {}, function (err, data) {
      busy = false;
      if (err && err.status === 404 && err.code !== 'HG_CONSULT_SESSION') {
        st.noBack = true;     /* this server has no …/back: remember, and go back locally */
        save();
        local();
        return;
      }
      if (err) {
        if (err.code === 'HG_CONSULT_SESSION') { expired(); return; }
        toptip(errorText(err));
        return;
      }
      st.hist.pop();
      st.steps = Math.max(0, st.steps - 1);
      save();
      show(data);
    });
  }

  /* ---------------------------------------------------------------- review, completed, stopped */

  function renderReview() {
    var rv = view.review || null, secs = rv && rv.sections, warnings = (rv && rv.warnings) || [], html;
    html = '<header class="cq-head"><h1 class="cq-title">请核对您的预问诊</h1>' +
      '<p class="cq-sub">' + (secs ? '以下内容由您的回答生成，将提供给接诊医生。如有不准确，可直接修改。'
                                   : '请核对您的回答，确认无误后提交给接诊医生。') + '</p></header>' +
      warningsHtml(warnings, 'cq-warnings');
    if (secs) {
      html += '<div class="weui-cells weui-cells_form cq-sec" id="cq-sections">';
      SECTIONS.forEach(function (s) {
        if (!has(secs, s[0])) return;
        html += '<div class="weui-cells__title" id="sec-' + s[0] + '-t">' + esc(s[1]) + '</div>' +
          '<div class="weui-cell"><div class="weui-cell__bd"><textarea class="weui-textarea" rows="2" maxlength="1000" ' +
          'data-sec="' + s[0] + '" aria-labelledby="sec-' + s[0] + '-t">' + esc(secs[s[0]]) + '</textarea></div></div>';
      });
      html += '</div>';
    } else {
      html += '<div class="weui-cells cq-sum" id="cq-answers">' + st.hist.map(function (h) {
        return h.items.filter(function (it) { return it.type !== 'display' && it.type !== 'group'; }).map(function (it) {
          return '<div class="weui-cell"><div class="weui-cell__bd"><p class="cq-label">' + esc(it.text) + '</p>' +
            '<p>' + esc(display(it, st.answers[it.linkId])) + '</p></div></div>';
        }).join('');
      }).join('') + '</div>';
      if (!st.hist.length) html += '<p class="cq-hint">您已回答全部问题，确认后提交给接诊医生。</p>';
    }
    html += '<label class="cq-confirm" id="cq-confirm-box"' + (warnings.length ? '' : ' hidden') + '>' +
      '<input type="checkbox" id="cq-confirm">我已核对，以上提示的内容属实</label>' +
      '<div class="cq-btns"><button type="button" class="weui-btn weui-btn_default" id="cq-back">返回修改</button>' +
      '<button type="button" class="weui-btn weui-btn_primary" id="cq-submit">确认提交</button></div>';
    app.innerHTML = html;
    app.setAttribute('data-state', 'review');
    $('cq-back').addEventListener('click', back);
    $('cq-submit').addEventListener('click', submit);
    win.scrollTo(0, 0);
  }

  function warningsHtml(warnings, id) {
    if (!warnings || !warnings.length) return '<div id="' + id + '"></div>';
    return '<div class="cq-warn" id="' + id + '" role="note"><p>请再确认以下内容：</p><ul>' +
      warnings.map(function (w) { return '<li>' + esc(w.message || w.code) + '</li>'; }).join('') + '</ul></div>';
  }

  function submit() {
    var body = { confirm: true }, edited = {}, n = 0, secs = view.review && view.review.sections;
    if (busy) return;
    if (!$('cq-confirm-box').hidden && !$('cq-confirm').checked) { toptip('请先勾选确认'); return; }
    Array.prototype.forEach.call(app.querySelectorAll('textarea[data-sec]'), function (t) {
      var k = t.getAttribute('data-sec'), v = t.value.replace(/^\s+|\s+$/g, '');
      if (secs && v !== secs[k]) { edited[k] = v; n++; }
    });
    if (n) body.sections = edited;
    busy = true;
    $('cq-submit').className += ' weui-btn_loading';
    api('POST', '/submit', body, function (err, data) {
      busy = false;
      if (err) {
        $('cq-submit').className = $('cq-submit').className.replace(' weui-btn_loading', '');
        if (err.code === 'HG_CONSULT_SESSION') { expired(); return; }
        if (err.code === 'HG_CONSULT_QUALITY' && err.data && err.data.warnings) {
          /* the server wants these looked at: show them and ask for the tick */
          $('cq-warnings').outerHTML = warningsHtml(err.data.warnings, 'cq-warnings');
          $('cq-confirm-box').hidden = false;
          $('cq-confirm').checked = false;
        }
        if (err.code === 'HG_CONSULT_CLOSED' || (err.code === 'HG_FIELD_REQUIRED' && err.field)) { refresh(); return; }
        toptip(errorText(err));
        return;
      }
      show(data);
    });
  }

  function renderCompleted(summary) {
    var secs = summary || {}, rows = '';
    SECTIONS.forEach(function (s) {
      if (secs[s[0]]) rows += '<div class="weui-cell"><div class="weui-cell__bd"><p class="cq-label">' + esc(s[1]) +
        '</p><p data-sec="' + s[0] + '">' + esc(secs[s[0]]) + '</p></div></div>';
    });
    msg({ id: 'cq-done', icon: 'success', title: '预问诊已提交',
          desc: '感谢您的配合。医生接诊时会看到以下内容，请按预约时间就诊。',
          extra: rows ? '<div class="weui-cells cq-sum" id="cq-summary">' + rows + '</div>' : '' });
    app.setAttribute('data-state', 'completed');
    try { win.sessionStorage.removeItem(STORE); } catch (e) { /* nothing kept */ }
  }

  /* Back from a red flag only where the server walks back itself (it says so with "progress"):
   * re-answering a stopped session is refused */
  function renderStopped(advice) {
    msg({ id: 'cq-stopped', icon: 'warn', title: '请尽快就医',
          desc: '根据您的回答，暂停在线问诊。',
          extra: '<p class="cq-advice" id="cq-advice" role="alert">' + esc(advice || '您的症状可能需要尽快处理，请立即到急诊就医。') + '</p>' +
            '<div class="weui-footer cq-footer"><p class="weui-footer__text">如情况紧急，请立即拨打 120 或前往最近医院的急诊科。</p></div>' +
            (!st.noBack && view.progress && view.progress.answered > 0 ? '<p class="weui-btn-area"><button type="button" class="weui-btn weui-btn_default" ' +
              'id="cq-back">选错了，返回上一步</button></p>' : '') });
    app.setAttribute('data-state', 'stopped');
    if ($('cq-back')) $('cq-back').addEventListener('click', function () {
      api('POST', '/back', {}, function (err, data) {
        if (err) { st.noBack = true; save(); $('cq-back').hidden = true; toptip('已结束，如有疑问请咨询医护人员'); return; }
        st.hist.pop();
        save();
        show(data);
      });
    });
  }

  /* ---------------------------------------------------------------- the state machine */

  function show(data) {
    view = data;
    if (data.state === 'completed') { renderCompleted(data.summary); return; }
    if (data.state === 'stopped') { renderStopped(data.advice); return; }
    if (data.state === 'review') { renderReview(); return; }
    if (data.items && data.items.length) { renderQuestions(data.items, false); return; }
    renderReview();          /* in progress with nothing left to ask: let the patient submit */
  }

  function refresh() {
    loading('正在加载问卷');
    api('GET', '', undefined, function (err, data) {
      if (err) { failed(err, refresh); return; }
      show(data);
    });
  }

  function start() {
    if (PREVIEW) {
      st = { t: '', hist: [], answers: {}, steps: 0, noBack: false };
      refresh();
      return;
    }
    token = findToken();
    if (!token || !TOKEN_RE.test(token)) {
      msg({ id: 'cq-badlink', icon: 'warn', title: '链接不完整',
            desc: '请从医院发给您的短信或微信消息中重新打开预问诊链接。' });
      return;
    }
    refresh();
  }

  win.addEventListener('hashchange', function () { if (/(?:^|&)t=/.test(win.location.hash.replace(/^#/, ''))) start(); });
  start();
})(window);
