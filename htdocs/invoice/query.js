/* query.html: the hospital-wide QR code (通码).  The patient picks how to identify, asks for an SMS
 * code (POST /invoice/pub/v1/sms), then lists their bills (POST /invoice/pub/v1/mybills). */
(function () {
  'use strict';
  var $ = HG.$, esc = HG.esc;
  var TYPES = {
    idcard: { label: '身份证号', placeholder: '请输入18位身份证号', maxlength: 18, inputmode: 'text',
              ok: /^\d{17}[\dXx]$/, bad: '请输入正确的18位身份证号' },
    phone:  { label: '手机号', placeholder: '请输入手机号', maxlength: 11, inputmode: 'tel',
              ok: /^1[3-9]\d{9}$/, bad: '请输入正确的11位手机号' },
    card:   { label: '就诊卡号', placeholder: '请输入就诊卡号', maxlength: 32, inputmode: 'text',
              ok: /^[0-9A-Za-z]{4,32}$/, bad: '请输入正确的就诊卡号（字母或数字）' },
    insurance: { label: '医保卡号', placeholder: '请输入医保卡号（社会保障卡号）', maxlength: 32, inputmode: 'text',
              ok: /^[0-9A-Za-z]{4,32}$/, bad: '请输入正确的医保卡号（字母或数字）' }
  };
  var DEFAULT_TIP = '验证码将发送到您在本院登记的手机号。';
  var timer = null, busy = false;

  function idType() {
    var r = document.querySelector('input[name="idType"]:checked');
    return r && TYPES[r.value] ? r.value : 'idcard';
  }

  function idValue() { return $('idValue').value.replace(/\s+/g, '').toUpperCase(); }

  function onType() {
    var t = TYPES[idType()], input = $('idValue');
    $('id-label').textContent = t.label;
    input.placeholder = t.placeholder;
    input.maxLength = t.maxlength;
    input.type = t.inputmode === 'tel' ? 'tel' : 'text';
    input.setAttribute('inputmode', t.inputmode);
    input.value = '';
    $('smsCode').value = '';
    $('sms-tip').textContent = DEFAULT_TIP;
    $('result').innerHTML = '';
    markBad(false);
  }

  function markBad(on) {
    var cell = $('id-cell');
    cell.className = 'weui-cell weui-cell_active' + (on ? ' weui-cell_warn' : '');
  }

  function checkId() {
    var t = TYPES[idType()], v = idValue();
    if (!t.ok.test(v)) { markBad(true); HG.toptip(v ? t.bad : '请输入' + t.label); return null; }
    markBad(false);
    return v;
  }

  function countdown(seconds) {
    var btn = $('sms-btn'), left = Math.max(1, Math.min(parseInt(seconds, 10) || 60, 600));
    if (timer) window.clearInterval(timer);
    btn.disabled = true;
    btn.textContent = left + '秒后重发';
    timer = window.setInterval(function () {
      left -= 1;
      if (left > 0) { btn.textContent = left + '秒后重发'; return; }
      window.clearInterval(timer);
      timer = null;
      btn.disabled = false;
      btn.textContent = '重新获取';
    }, 1000);
  }

  function sendSms() {
    var v = checkId(), btn = $('sms-btn');
    if (!v || btn.disabled) return;
    btn.disabled = true;
    btn.textContent = '发送中…';
    HG.api('POST', '/invoice/pub/v1/sms', { idType: idType(), idValue: v }, function (err, r) {
      if (err) {
        var retry = err.data && err.data.retryAfter;
        HG.toptip(HG.errorText(err));
        if (retry) countdown(retry);
        else { btn.disabled = false; btn.textContent = '获取验证码'; }
        return;
      }
      // the answer says nothing of the phone on file (it would tell that bills exist)
      $('sms-tip').textContent = '如您开票时在本院预留了手机号，验证码已发送至该手机号，请注意查收。';
      countdown(r.retryAfter || 60);
      $('smsCode').focus();
    });
  }

  function badges(b) {
    return (b.isScarlet ? '<span class="inv-badge inv-badge_warn">冲红票据</span>' : '') +
      (b.state === 'flushed' ? '<span class="inv-badge inv-badge_warn">已冲红</span>' : '');
  }

  function renderBills(bills, total) {
    var html;
    if (!bills || !bills.length) {
      $('result').innerHTML = '<div class="weui-loadmore weui-loadmore_line inv-empty">' +
        '<span class="weui-loadmore__tips">未查询到电子票据</span></div>';
      return;
    }
    html = '<div class="weui-cells__title">' + (total > bills.length
      ? '共 ' + esc(String(total)) + ' 张电子票据，显示最近 ' + bills.length + ' 张（更早的请到医院窗口查询）'
      : '共 ' + bills.length + ' 张电子票据') + '</div><div class="weui-cells inv-list">';
    bills.forEach(function (b) {
      var url = HG.localUrl(b.viewUrl, '/invoice/bill.html#');
      var inner = '<div class="weui-cell__bd"><p>' + esc(b.title) + ' ' + badges(b) + '</p>' +
        '<p class="inv-sub">' + esc(HG.dateTime(b.createTime)) + ' · 票据号码 ' + esc(b.billNo) + '</p></div>' +
        '<div class="weui-cell__ft inv-num">' + esc(HG.money(b.totalAmt)) + '</div>';
      html += url ? '<a class="weui-cell weui-cell_active weui-cell_access" href="' + esc(url) + '">' + inner + '</a>'
                  : '<div class="weui-cell">' + inner + '</div>';
    });
    $('result').innerHTML = html + '</div>';
  }

  function query(ev) {
    var v, code, btn = $('query-btn');
    ev.preventDefault();
    if (busy || !(v = checkId())) return;
    code = $('smsCode').value.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code)) { HG.toptip('请输入6位短信验证码'); return; }
    busy = true;
    btn.disabled = true;
    btn.textContent = '查询中…';
    HG.api('POST', '/invoice/pub/v1/mybills', { idType: idType(), idValue: v, smsCode: code }, function (err, r) {
      busy = false;
      btn.disabled = false;
      btn.textContent = '查询票据';
      if (err) { HG.toptip(HG.errorText(err)); return; }
      renderBills(r.bills, r.total);
      $('result').scrollIntoView && $('result').scrollIntoView();
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll('input[name="idType"]'), function (r) {
    r.addEventListener('change', onType);
  });
  $('sms-btn').addEventListener('click', sendSms);
  $('form').addEventListener('submit', query);
  onType();
})();
