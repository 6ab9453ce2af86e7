/* o.html: offline link #i=<institution>&b=<busNo>&t=<token> -> the bill once it is issued. */
(function () {
  'use strict';
  var app = HG.$('app');

  function load() {
    var h = HG.hashParams(), i = h.i || '', b = h.b || '', t = h.t || '';
    if (!i || !b || !t || i.length > 64 || b.length > 64 || t.length > 512) {
      HG.renderMsg(app, { icon: 'warn', title: '链接不完整',
                          desc: '请重新扫描缴费凭条上的二维码，或从医院公众号进入。' });
      return;
    }
    HG.renderLoading(app, '正在查询票据');
    /* POSTed: the link's token stays out of access logs (which keep a GET's query) */
    HG.api('POST', '/invoice/pub/v1/offline', { i: i, b: b, t: t }, function (err, r) {
      var url;
      if (err) { HG.renderError(app, err, load); return; }
      if (r.state === 'issued' && (url = HG.localUrl(r.viewUrl, '/invoice/bill.html#'))) {
        window.location.replace(url);     /* replace: Back does not return to this hop */
        return;
      }
      if (r.state === 'pending' || r.state === 'issued') {
        HG.renderMsg(app, { icon: 'waiting', title: '票据尚未开具，请稍后再查看',
                            desc: '电子票据一般在缴费完成后几分钟内开具，开具后可在此页面查看和下载。',
                            button: '刷新', onButton: load });
        return;
      }
      HG.renderError(app, { code: 'BAD_RESPONSE' }, load);
    });
  }

  window.addEventListener('hashchange', load);
  load();
})();
