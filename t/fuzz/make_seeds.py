#!/usr/bin/env python3
"""Seed corpora for the harnesses, from the project's own fixtures (t/unit/*.c string literals,
mod_consult/demo.sql, t/unit fixtures): `python3 t/fuzz/make_seeds.py` from the top directory writes
t/fuzz/corpus/<target>/ (small files, a few dozen per target).  Re-running it is harmless."""
import base64, hashlib, json, os, re, sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(TOP, 't', 'fuzz', 'corpus')
MAX_FILES, MAX_BYTES = 40, 8000

def c_strings(path):
    """every run of adjacent C string literals in a file, concatenated and unescaped"""
    src = open(os.path.join(TOP, path), encoding='utf-8').read()
    src = re.sub(r'/\*.*?\*/', ' ', src, flags=re.S)
    lit = r'"(?:[^"\\\n]|\\.)*"'
    for m in re.finditer(r'(?:%s\s*)+' % lit, src):
        parts = re.findall(lit, m.group(0))
        raw = ''.join(p[1:-1] for p in parts)
        try:
            yield raw.encode('utf-8').decode('unicode_escape').encode('latin-1').decode('utf-8')
        except Exception:
            pass

def json_of(s):
    try:
        return json.loads(s)
    except Exception:
        return None

def demo_templates():
    sql = open(os.path.join(TOP, 'mod_consult', 'demo.sql'), encoding='utf-8').read()
    return [json.loads(m) for m in re.findall(r'\$json\$\n(.*?)\n\$json\$', sql, flags=re.S)]

def write(target, items, prefix=b''):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    n = 0
    for it in items:
        b = it if isinstance(it, bytes) else (it if isinstance(it, str) else json.dumps(it, ensure_ascii=False)).encode()
        b = prefix + b
        if len(b) > MAX_BYTES or n >= MAX_FILES:
            continue
        with open(os.path.join(d, hashlib.sha1(b).hexdigest()[:16]), 'wb') as f:
            f.write(b)
        n += 1
    print('%-18s %d seeds' % (target, n))

def main():
    demo = demo_templates()
    # invoice: the bills of t_invoice_model.c, spelt the other ways the HIS may spell them
    bills = [j for j in map(json_of, c_strings('t/unit/t_invoice_model.c')) if isinstance(j, dict) and 'busNo' in j]
    more = []
    for b in bills:
        n = dict(b)
        for k, v in list(n.items()):
            if isinstance(v, str) and re.fullmatch(r'\d+\.\d\d', v):
                n[k] = float(v)
        more.append(n)
        ip = dict(b, busNo='IP1', busType='01', hospitalNo='ZY1', visitNo='V1', inHospitalDate='2026-03-10',
                  outHospitalDate='2026-03-20', hospitalDays='10')
        more.append(ip)
        more.append(dict(b, checkUpNo='TJ1'))
    write('invoice', bills + more)
    # money: flags byte + text
    amounts = ['0', '0.00', '12.30', '12.3', '-0.00', '-1.5', '92233720368547758.07', '92233720368547758.08',
               '012.00', '1e3', '.5', '7', '2026-03-15', '20260315093012123', '2026-03-15 09:30:12']
    write('money', [bytes([f]) + a.encode() for a in amounts for f in (0, 3)])
    # consult templates: the demo ones, and every template of the unit tests
    tpls = [j for j in map(json_of, c_strings('t/unit/t_consult_engine.c')) if isinstance(j, dict) and 'items' in j]
    answered = []
    for t in demo:
        answered.append(dict(t, _answers={}))
    answered[0]['_answers'] = {'cough': 'yes', 'cough_days': 3, 'fever': 'yes', 'fever_temp': 38.5}
    write('consult_template', demo + answered + tpls)
    # FHIR: the Questionnaires of the unit tests; corpus/consult_fhir/demo-export-N.json are
    # consult_fhir_export of the demo templates (made once with the engine, kept as files)
    fhir = [j for j in map(json_of, c_strings('t/unit/t_consult_engine.c')) if isinstance(j, dict) and 'resourceType' in j]
    write('consult_fhir', fhir)
    # answers: per demo template, every item answered with its first option / a number / a date
    ans = []
    for i, t in enumerate(demo):
        a = {}
        def walk(items):
            for it in items:
                ty = it.get('type')
                if ty == 'choice': a[it['linkId']] = it['options'][0]['code']
                elif ty == 'multi': a[it['linkId']] = [o['code'] for o in it['options'][:2]]
                elif ty == 'number': a[it['linkId']] = it.get('min', 3)
                elif ty == 'date': a[it['linkId']] = '2026-06-01'
                elif ty == 'boolean': a[it['linkId']] = True
                elif ty == 'text': a[it['linkId']] = '无'
                walk(it.get('items', []))
        walk(t['items'])
        ans.append(bytes([i]) + json.dumps(a, ensure_ascii=False).encode())
        ans.append(bytes([i | 8]) + json.dumps({'answers': [{'linkId': k, 'value': v} for k, v in a.items()]},
                                                ensure_ascii=False).encode())
        ans.append(bytes([i | 4]) + json.dumps({k: None for k in a}).encode())
    write('consult_answers', ans)
    # expressions: those of the demo templates and the unit tests' ex() calls
    exprs = set()
    for t in demo:
        for m in re.finditer(r'"(?:when|enableIf|calculate)":"((?:[^"\\]|\\.)*)"', json.dumps(t, ensure_ascii=False)):
            exprs.add(json.loads('"%s"' % m.group(1)))
    src = open(os.path.join(TOP, 't/unit/t_consult_engine.c'), encoding='utf-8').read()
    for m in re.finditer(r'\bex\("((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"', src):
        e = m.group(1).encode().decode('unicode_escape')
        a = m.group(2).encode().decode('unicode_escape')
        exprs.add(e + '\0' + a)
    write('consult_expr', sorted(bytes([k % 4]) + e.encode() for k, e in enumerate(sorted(exprs))))
    # XML answers of the injury platform (unit tests)
    xs = [s for f in ('t/unit/t_xml.c', 't/unit/t_injury_model.c', 't/unit/t_injury_platform.c') for s in c_strings(f)
          if '<program' in s or '<?xml' in s]
    write('xml', xs)
    # HIS calls of mod_injury: the verr() cases; the byte is the function's index in the catalogue,
    # injury_fn_table's order (t_injury_model.c lists it the same way)
    ids = ['bizh110001', 'bizh110102', 'bizh110103', 'bizh110104', 'bizh110105', 'bizh110106',
           'bizh120001', 'bizh120102', 'bizh120103', 'bizh120104', 'bizh120002', 'bizh120003', 'bizh120004',
           'bizh120105', 'bizh120106', 'bizh120107', 'bizh120108', 'bizh120109', 'bizh120206', 'bizh120113',
           'bizh200101', 'bizh200102', 'bizh200103', 'bizh200104', 'bizh200105', 'bizh200106',
           'bizh410004', 'bizh410005', 'bizh120205']
    src = open(os.path.join(TOP, 't/unit/t_injury_model.c'), encoding='utf-8').read()
    his = []
    for m in re.finditer(r'verr\("(bizh\d+)",\s*((?:"(?:[^"\\]|\\.)*"\s*)+)', src):
        body = ''.join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2))).encode().decode('unicode_escape')
        if m.group(1) in ids:
            his.append(bytes([ids.index(m.group(1))]) + body.encode('latin-1'))
    write('injury_his', his)
    # envelopes: a Bosi answer, a request, a token answer, headers, encodings, sealed forms
    inner = json.dumps({'result': 'S0000', 'message': base64.b64encode(b'{"billNo":"0000000001"}').decode()})
    env = [b'\0' + json.dumps({'data': base64.b64encode(inner.encode()).decode()}).encode(),
           b'\0' + json.dumps({'data': base64.b64encode(b'{"result":"E0001","message":"plain text"}').decode()}).encode(),
           b'\1{"appid":"his01","data":"e30=","noise":"abc","version":"1.0","sign":"0123456789ABCDEF0123456789ABCDEF"}',
           b'\2{"access_token":"ACCESS","expires_in":7200}', b'\2{"errcode":40013,"errmsg":"invalid appid"}',
           b'\3HG1-HMAC-SM3 app_id="his01",timestamp="1700000000",nonce="b3Jk-x_9Qz1aa7Lm",signature="'
           + base64.b64encode(b'x' * 32) + b'"',
           b'\3hg1-hmac-sha256  nonce="0123456789abcdef", app_id="app.1",signature="AAAA",timestamp="0"',
           b'\4SGVsbG8=', b'\4deadBEEF', b'\4SGVsbG8', b'\x040E\x02\x21\x00' + b'\x11' * 32 + b'\x02\x20' + b'\x22' * 32,
           b'\5sm4cbc:000102030405060708090a0b0c0d0e0f:00112233445566778899aabbccddeeff:' + b'ab' * 32,
           b'\5sm4z1:AAECAwQFBgcICQoLDA0ODw:ABEiM0RVZneImaq7zN3u_w:' + b'A' * 43,
           b'\5sm4z:AAECAwQFBgcICQoLDA0ODw:ABEiM0RVZneImaq7zN3u_w',
           b'\5$pbkdf2-sha256$210000$AAAAAAAAAAAAAAAAAAAAAA==$' + base64.b64encode(b'\0' * 32)]
    write('envelope', env)

main()
