// hisgate console · 预问诊 预览: the patient's page (/consult/q.js, unchanged screens) walked by a
// reviewer.  Loaded before q.js, it gives the page window.HG_CONSULT_PREVIEW: the page's session
// requests answered by POST /consult/staff/v1/templates/<id>/versions/<v>/preview, which is
// stateless — the walk lives here, as the pages answered so far, and every step posts their answers.
// Nothing is stored anywhere: "submit" shows what the patient would confirm and stops there.
// Parameters in the fragment: #template=<id>&version=<v>&sex=M|F&birthDate=yyyy-MM-dd
'use strict';
(function (win) {
  const params = {};
  win.location.hash.replace(/^#/, '').split('&').forEach((kv) => {
    const i = kv.indexOf('=');
    if (i > 0) {
      try { params[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1)); } catch (e) { /* ignored */ }
    }
  });
  const url = '/consult/staff/v1/templates/' + encodeURIComponent(params.template || '') + '/versions/' +
    encodeURIComponent(params.version || '') + '/preview';
  const who = {};
  if (params.sex) who.sex = params.sex;
  if (params.birthDate) who.birthDate = params.birthDate;
  let pages = [];          // [{linkId: value}…] one per step, as the patient's page posted them
  let csrf = null;

  const union = (list) => Object.assign({}, ...list);
  const asList = (o) => Object.keys(o).map((k) => ({ linkId: k, value: o[k] }));

  // the staff API, errors in the shape q.js expects ({code, message, field, status, data})
  async function preview(list) {
    if (!csrf) {
      const me = await fetch('/hg/me', { credentials: 'same-origin' });
      const j = await me.json().catch(() => ({}));
      if (!me.ok) throw { code: j.code || 'HG_UNAUTHORIZED', message: '请先登录控制台', status: me.status, data: j };
      csrf = j.csrf_token;
    }
    const res = await fetch(url, { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf || '' },
      body: JSON.stringify(Object.assign({}, who, { answers: asList(union(list)) })) });
    const data = await res.json().catch(() => null);
    if (res.ok && data) return data;
    const d = data || {};
    throw { code: d.code || 'BAD_RESPONSE', message: d.message || '', field: d.field || '', status: res.status, data: d };
  }

  async function step(method, path, body) {
    if (method === 'GET') return preview(pages);
    if (path === '/answers') {
      const page = {};
      (body.answers || []).forEach((a) => { page[a.linkId] = a.value; });
      const next = pages.concat([page]);
      const view = await preview(next);
      pages = next;
      return view;
    }
    if (path === '/back') {
      // the patient's server shows the page again with its answers: so does this
      if (!pages.length) return preview(pages);
      const prev = pages[pages.length - 1], rest = pages.slice(0, -1);
      const view = await preview(rest);
      pages = rest;
      (view.items || []).forEach((it) => { if (Object.prototype.hasOwnProperty.call(prev, it.linkId)) it.answer = prev[it.linkId]; });
      return view;
    }
    if (path === '/submit') {
      // what the submission would decide, without storing: a blocking warning is refused as there
      const view = await preview(pages);
      if (view.state !== 'review') throw { code: 'HG_CONSULT_CLOSED', message: '', status: 409, data: {} };
      const warnings = (view.review && view.review.warnings) || [];
      if (warnings.some((w) => w.severity === 'block'))
        throw { code: 'HG_CONSULT_QUALITY', message: '请先修改与您情况不符的回答', status: 409,
                data: { code: 'HG_CONSULT_QUALITY', warnings } };
      return { state: 'completed', summary: Object.assign({}, view.review && view.review.sections, body && body.sections),
               replayed: false, preview: true };
    }
    throw { code: 'HG_NOT_FOUND', status: 404, data: {} };
  }

  win.HG_CONSULT_PREVIEW = {
    params,
    answers: () => union(pages),
    api(method, path, body, cb) {
      step(method, path, body).then((data) => cb(null, data),
        (err) => cb(err && err.code !== undefined ? err : { code: 'NETWORK', status: 0 }));
    },
  };
})(window);
