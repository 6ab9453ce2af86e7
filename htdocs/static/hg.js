/* hisgate patient pages (e-bill, pre-consultation): the helpers every page needs, loaded before the
 * page's own script.  ES5 on purpose (WeChat's in-app browser, old Android WebViews).  Every server
 * string goes through HG.esc before it reaches innerHTML. */
(function (win) {
  'use strict';
  var doc = win.document;
  var HG = win.HG || {};

  HG.$ = function (id) { return doc.getElementById(id); };

  HG.esc = function (s) {
    return String(s === null || s === undefined ? '' : s).replace(/[&<>"'`=]/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;', '=': '&#61;' }[c];
    });
  };

  /* JSON request; cb(err, data).  err: {code, message, field, status, data} from the error envelope, or
   * NETWORK/TIMEOUT/BAD_RESPONSE.  A 2xx answer that is not JSON is BAD_RESPONSE. */
  HG.api = function (method, url, body, cb) {
    var x = new XMLHttpRequest(), done = false;
    function finish(err, data) { if (!done) { done = true; cb(err, data); } }
    x.open(method, url, true);
    x.timeout = 15000;
    x.setRequestHeader('Accept', 'application/json');
    if (body !== undefined) x.setRequestHeader('Content-Type', 'application/json');
    x.onreadystatechange = function () {
      var data = null;
      if (x.readyState !== 4 || x.status === 0) return;
      try { data = JSON.parse(x.responseText); } catch (e) { data = null; }
      if (x.status >= 200 && x.status < 300) {
        if (data && typeof data === 'object') finish(null, data);
        else finish({ code: 'BAD_RESPONSE', status: x.status });
        return;
      }
      data = data && typeof data === 'object' ? data : {};
      finish({ code: data.code || '', message: data.message || '', field: data.field || '', status: x.status,
               data: data });
    };
    x.onerror = function () { finish({ code: 'NETWORK', status: 0 }); };
    x.ontimeout = function () { finish({ code: 'TIMEOUT', status: 0 }); };
    x.send(body !== undefined ? JSON.stringify(body) : null);
  };

  win.HG = HG;
})(window);
