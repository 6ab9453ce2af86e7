/* bill.html: one e-bill, named by the fragment #code=…&no=…&r=… (see invoice.js for the rules). */
(function () {
  'use strict';
  var app = HG.$('app'), loadedAt = 0, esc = HG.esc;
  var PDF_FRESH_MS = 60 * 1000;     /* pdfUrl carries exp=…: an older page fetches a new one first */

  function params() {
    var h = HG.hashParams();
    return { code: h.code || '', no: h.no || '', random: h.r || h.random || '' };
  }

  function valid(p) {
    return /^[0-9A-Za-z]{1,50}$/.test(p.code) && /^[0-9A-Za-z]{1,20}$/.test(p.no) &&
      /^[0-9A-Za-z]{1,20}$/.test(p.random);
  }

  function fetchBill(cb) {
    var p = params();
    /* POSTed: the check code stays out of access logs (which keep a GET's query) */
    HG.api('POST', '/invoice/pub/v1/bill', { code: p.code, no: p.no, random: p.random }, cb);
  }

  function badge(text, kind) { return '<span class="inv-badge inv-badge_' + kind + '">' + esc(text) + '</span>'; }

  function previewItem(label, value) {
    return '<div class="weui-form-preview__item"><label class="weui-form-preview__label">' + esc(label) +
      '</label><span class="weui-form-preview__value">' + esc(value) + '</span></div>';
  }

  /* a titled list of {name, amt[, number, unit]} rows */
  function cells(title, rows, withQty) {
    var html;
    if (!rows || !rows.length) return '';
    html = '<div class="weui-cells__title">' + esc(title) + '</div><div class="weui-cells inv-list">';
    rows.forEach(function (r) {
      var qty = withQty ? [r.number, r.unit].filter(function (x) { return x !== undefined && x !== null && x !== ''; })
        .join(' ') : '';
      html += '<div class="weui-cell"><div class="weui-cell__bd"><p>' + esc(r.name) + '</p>' +
        (qty ? '<p class="inv-sub">' + esc(qty) + '</p>' : '') + '</div>' +
        '<div class="weui-cell__ft inv-num">' + esc(HG.money(r.amt)) + '</div></div>';
    });
    return html + '</div>';
  }

  function ref(b) {
    return b && (b.billBatchCode || b.billNo) ? '票据代码 ' + (b.billBatchCode || '—') + '，票据号码 ' + (b.billNo || '—') : '';
  }

  function render(b) {
    var badges = [], notes = [], pdf = HG.localUrl(b.pdfUrl, '/invoice/pub/'), html, capital = b.totalCapital || '';
    /* a red bill's figures are negative: its capitals say so too, whether or not the server wrote 负 */
    if (capital && /^-/.test(HG.amount(b.totalAmt)) && capital.charAt(0) !== '负') capital = '负' + capital;
    if (b.isScarlet) badges.push(badge('冲红票据', 'warn'));
    badges.push(b.state === 'flushed' ? badge('已冲红', 'warn') : badge('正常', 'ok'));
    if (b.paper) badges.push(badge('已换开纸质', 'orange'));
    badges.push(b.uploaded ? badge('已上传财政', 'info') : badge('待上传财政', 'muted'));

    if (b.isScarlet) notes.push('本票据为冲红票据，金额为负数' + (ref(b.relatedBill) ? '；冲红的原票据：' + ref(b.relatedBill) : '') + '。');
    if (b.state === 'flushed') notes.push('本票据已冲红，不能再用于报销' + (ref(b.relatedBill) ? '；对应红票：' + ref(b.relatedBill) : '') + '。');
    if (b.paper) notes.push('!本票据已换开纸质票据（纸质票据代码 ' + (b.paper.pBillBatchCode || '—') + '，号码 ' +
                            (b.paper.pBillNo || '—') + '），报销请使用纸质票据。');

    html =
      '<header class="inv-head">' +
      '<h1 class="inv-title">' + esc(b.title || '医疗收费票据（电子）') + '</h1>' +
      '<p class="inv-hosp">' + esc(b.institutionName) + '</p>' +
      '<p class="inv-badges">' + badges.join('') + '</p>' +
      '</header>' +
      notes.map(function (n) {     /* a leading ! marks the orange (informational) kind */
        var info = n.charAt(0) === '!';
        return '<p class="inv-notice' + (info ? ' inv-notice_orange' : '') + '" role="note">' + esc(info ? n.slice(1) : n) + '</p>';
      }).join('') +
      '<div class="weui-form-preview inv-card">' +
      '<div class="weui-form-preview__hd">' +
      '<div class="weui-form-preview__item"><label class="weui-form-preview__label">票据金额</label>' +
      '<em class="weui-form-preview__value inv-num">' + esc(HG.money(b.totalAmt)) + '</em></div>' +
      (capital ? '<p class="inv-capital">' + esc(capital) + '</p>' : '') +
      '</div>' +
      '<div class="weui-form-preview__bd">' +
      previewItem('交款人', b.payer) +
      previewItem('票据代码', b.billBatchCode) +
      previewItem('票据号码', b.billNo) +
      previewItem('校验码', b.random) +
      previewItem('开票日期', HG.dateTime(b.createTime)) +
      '</div>' +
      '<div class="weui-form-preview__ft">' +
      (pdf ? '<a class="weui-form-preview__btn weui-form-preview__btn_primary" id="inv-pdf" role="button" href="' +
               esc(pdf) + '">下载PDF</a>'
           : '<span class="weui-form-preview__btn weui-form-preview__btn_default inv-disabled">PDF 暂未生成</span>') +
      '</div></div>' +
      (pdf && HG.inWeChat() ? '<p class="inv-hint">在微信中如无法下载，请点右上角「···」选择「在浏览器打开」后再下载。</p>' : '') +
      (pdf ? '<div class="weui-cells weui-cells_form inv-mail">' +
             '<div class="weui-cell weui-cell_active" id="inv-mail-cell">' +
             '<div class="weui-cell__hd"><label class="weui-label" for="inv-mail">邮箱</label></div>' +
             '<div class="weui-cell__bd"><input class="weui-input" id="inv-mail" type="email" inputmode="email" ' +
             'autocomplete="email" maxlength="254" placeholder="把PDF发送到您的邮箱"></div>' +
             '<div class="weui-cell__ft"><a class="weui-btn weui-btn_mini weui-btn_primary" id="inv-mail-send" ' +
             'role="button" href="#">发送</a></div></div></div>' +
             '<p class="inv-hint" id="inv-mail-status" aria-live="polite"></p>' : '') +
      /* 存入微信卡包: blue bills that stand (the server refuses red and flushed ones) */
      (pdf && !b.isScarlet && b.state !== 'flushed'
        ? '<div class="inv-wxcard"><a class="weui-btn weui-btn_default" id="inv-wxcard" role="button" ' +
          'href="#">存入微信卡包</a>' +
          '<p class="inv-hint" id="inv-wxcard-status" aria-live="polite"></p></div>' : '') +
      cells('收费项目', b.items, true) +
      cells('医保结算', b.insurance, false) +
      cells('支付方式', b.payChannels, false) +
      '<div class="weui-footer inv-footer"><p class="weui-footer__text">电子票据与纸质票据具有同等法律效力，' +
      '可凭票据代码、号码、校验码在财政电子票据查验平台查验真伪。</p></div>';
    app.innerHTML = html;
    if (pdf) {
      HG.$('inv-pdf').addEventListener('click', download);
      HG.$('inv-mail-send').addEventListener('click', sendMail);
    }
    if (HG.$('inv-wxcard')) {
      HG.$('inv-wxcard').addEventListener('click', toCardPackage);
      if (returnedOrder) confirmCard(returnedOrder, 0);
    }
  }

  /* 存入微信卡包: inside WeChat the server answers WeChat's authorisation page, which comes back here
   * with ?wxcard=<order>; then the server queues the insertion and the page follows it a while */
  var WXCARD_POLLS = 8, WXCARD_POLL_MS = 1500;
  var returnedOrder = (function () {
    var m = /[?&]wxcard=([0-9a-z]{32})(?:&|$)/.exec(window.location.search);
    return m ? m[1] : null;
  })();
  var carding = false;

  function cardStatus(text) { HG.$('inv-wxcard-status').textContent = text; }

  function cardState(state) {
    if (state === 'inserted') cardStatus('已存入微信卡包，可在微信「我 › 卡包」中查看。');
    else if (state === 'failed') cardStatus('存入微信卡包未成功，请稍后再试，或下载PDF。');
    else cardStatus('已提交，正在存入微信卡包…');
  }

  function toCardPackage(ev) {
    var p = params();
    ev.preventDefault();
    if (!HG.inWeChat()) {
      cardStatus('请在微信中打开本页面，再点「存入微信卡包」；也可下载PDF或发送到邮箱。');
      return;
    }
    if (carding) return;
    carding = true;
    cardStatus('正在打开微信授权页…');
    HG.api('POST', '/invoice/pub/v1/wxcard', { code: p.code, no: p.no, random: p.random }, function (err, r) {
      carding = false;
      if (err) { cardStatus(''); HG.toptip(HG.errorText(err)); return; }
      if (r.state === 'auth' && r.authUrl) { window.location.href = r.authUrl; return; }
      cardState(r.state);
    });
  }

  /* back from WeChat's page: the order goes to the card package once WeChat says it was authorised */
  function confirmCard(order, polls) {
    var p = params();
    if (!polls) {                                     /* a reload or a new render must not confirm again */
      returnedOrder = null;
      if (window.history.replaceState)
        window.history.replaceState(null, '', window.location.pathname + window.location.hash);
    }
    cardState('queued');
    HG.api('POST', '/invoice/pub/v1/wxcard/insert', { code: p.code, no: p.no, random: p.random, orderId: order },
      function (err, r) {
        if (err) {
          cardStatus(err.code === 'HG_INVOICE_WXCARD_UNAUTHORIZED' ? '未完成微信授权，可再次点击「存入微信卡包」。' : '');
          if (err.code !== 'HG_INVOICE_WXCARD_UNAUTHORIZED') HG.toptip(HG.errorText(err));
          return;
        }
        cardState(r.state);
        if (r.state === 'queued' && polls < WXCARD_POLLS)
          setTimeout(function () { confirmCard(order, polls + 1); }, WXCARD_POLL_MS);
      });
  }

  /* 发送到邮箱: the server queues the e-mail and answers with the address masked */
  var sending = false;
  function sendMail(ev) {
    var input = HG.$('inv-mail'), addr = input.value.trim(), p = params();
    ev.preventDefault();
    if (sending) return;
    if (!/^[^@\s<>"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(addr)) {
      HG.$('inv-mail-cell').classList.add('weui-cell_warn');
      HG.toptip('请输入正确的邮箱地址');
      input.focus();
      return;
    }
    HG.$('inv-mail-cell').classList.remove('weui-cell_warn');
    if (HG.$('inv-toptips')) HG.$('inv-toptips').style.display = 'none';   /* the typo's warning is over */
    sending = true;
    HG.api('POST', '/invoice/pub/v1/email', { code: p.code, no: p.no, random: p.random, email: addr }, function (err, r) {
      sending = false;
      if (err) { HG.toptip(HG.errorText(err)); return; }
      HG.$('inv-mail-status').textContent = '已提交发送至 ' + (r && r.email ? r.email : addr) + '，请稍后查收（可能在垃圾邮件中）。';
    });
  }

  function download(ev) {
    if (Date.now() - loadedAt < PDF_FRESH_MS) return;      /* the link is still fresh: follow it */
    ev.preventDefault();
    fetchBill(function (err, b) {
      var pdf = !err && HG.localUrl(b.pdfUrl, '/invoice/pub/');
      if (!pdf) { HG.toptip(err ? HG.errorText(err) : 'PDF 暂未生成，请稍后再试'); return; }
      loadedAt = Date.now();
      window.location.href = pdf;
    });
  }

  function load() {
    var p = params();
    if (!valid(p)) {
      HG.renderMsg(app, { icon: 'warn', title: '链接不完整',
                          desc: '请重新扫描票据上的二维码，或从医院公众号的票据列表进入。' });
      return;
    }
    HG.renderLoading(app, '正在加载票据');
    fetchBill(function (err, b) {
      if (err) { HG.renderError(app, err, load); return; }
      loadedAt = Date.now();
      document.title = (b.title || '医疗电子票据');
      render(b);
    });
  }

  window.addEventListener('hashchange', load);
  load();
})();
