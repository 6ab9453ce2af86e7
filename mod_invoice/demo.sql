-- demo data for make run and the tests (idempotent): one hospital, billing points with stock
INSERT INTO invoice.institutions VALUES ('44010001', '广州市演示人民医院') ON CONFLICT DO NOTHING;
INSERT INTO invoice.places VALUES ('44010001', 'MZ01', '门诊收费一窗'), ('44010001', 'ZY01', '住院结算窗口')
ON CONFLICT DO NOTHING;
-- 64 more windows so benchmarks can spread issuance over billing points
INSERT INTO invoice.places SELECT '44010001', 'BP' || lpad(g::text, 2, '0'), '自助机' || g FROM generate_series(1, 64) g
ON CONFLICT DO NOTHING;
INSERT INTO invoice.stock (institution, place_code, kind, bill_batch_code, start_no, end_no, next_no)
SELECT '44010001', p.place_code, k.kind, CASE k.kind WHEN 'ebill' THEN '44010126' ELSE '44010226' END,
       s.start_no, s.start_no + 999999, s.start_no
FROM invoice.places p
CROSS JOIN (VALUES ('ebill'), ('paper')) AS k(kind)
CROSS JOIN LATERAL (SELECT 1 + 1000000 * (CASE p.place_code WHEN 'MZ01' THEN 0 WHEN 'ZY01' THEN 1
                                          ELSE 1 + substr(p.place_code, 3)::int END) AS start_no) s
WHERE p.institution = '44010001'
  -- only the demo's own windows: a place made in the console (the store room POOL, a new window)
  -- gets its stock from the console, never from here
  AND (p.place_code IN ('MZ01', 'ZY01') OR p.place_code ~ '^BP[0-9]{2}$')
  AND NOT EXISTS (SELECT 1 FROM invoice.stock x WHERE x.institution = p.institution AND x.place_code = p.place_code
                  AND x.kind = k.kind);
