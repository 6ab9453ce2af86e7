-- demo data for make run and the tests (idempotent): questionnaire templates, approved.
-- 0301 呼吸内科 (HG_CONSULT_DEPT in demo.env) has its own; other departments get the generic one.
-- Published versions never change: a new definition is a new version.
INSERT INTO consult.templates (template_id, version, department, title, status, definition, created_by, approved_by, approved_at)
VALUES ('resp-0301', '1', '0301', '呼吸内科预问诊', 'approved', $json$
{"id":"resp-0301","version":"1","title":"呼吸内科预问诊","items":[
 {"linkId":"cough","type":"choice","text":"最近是否咳嗽？","required":true,"section":"chief_complaint",
  "narrative":"咳嗽{cough_days}天",
  "options":[{"code":"yes","display":"是"},{"code":"no","display":"否","narrative":"无咳嗽"}]},
 {"linkId":"cough_days","type":"number","text":"咳嗽多少天了？","required":true,"min":1,"max":3650,
  "enableWhen":[{"question":"cough","operator":"=","answer":"yes"}]},
 {"linkId":"fever","type":"choice","text":"是否发热？","required":true,"section":"present_illness",
  "options":[{"code":"yes","display":"是","narrative":"伴发热"},{"code":"no","display":"否","narrative":"无发热"}]},
 {"linkId":"fever_temp","type":"number","text":"最高体温（℃）","required":true,"min":35,"max":43,
  "section":"present_illness","narrative":"最高体温{value}℃",
  "enableWhen":[{"question":"fever","operator":"=","answer":"yes"}]},
 {"linkId":"fever_days","type":"number","text":"发热几天了？","required":true,"min":1,"max":365,
  "section":"present_illness","narrative":"发热{value}天",
  "enableWhen":[{"question":"fever","operator":"=","answer":"yes"}]},
 {"linkId":"red_flag","type":"choice","text":"现在是否有胸痛或呼吸困难？","required":true,"section":"present_illness",
  "options":[{"code":"yes","display":"是","narrative":"伴胸痛或呼吸困难"},{"code":"no","display":"否","narrative":"无胸痛、呼吸困难"}],
  "terminal":{"when":"red_flag = 'yes'","advice":"您的症状可能较重，建议立即急诊就医"}},
 {"linkId":"past","type":"multi","text":"既往是否患有以下疾病？（可多选，没有则不选）","section":"past_history",
  "narrative":"既往{value}病史","negative":"否认慢性病史",
  "options":[{"code":"hypertension","display":"高血压"},{"code":"diabetes","display":"糖尿病"},
             {"code":"asthma","display":"哮喘"},{"code":"copd","display":"慢性阻塞性肺疾病"}]},
 {"linkId":"smoke","type":"boolean","text":"是否吸烟？","section":"personal_history",
  "narrative":"有吸烟史","negative":"否认吸烟史"},
 {"linkId":"allergy","type":"choice","text":"是否有药物或食物过敏？","required":true,"section":"allergy_history",
  "options":[{"code":"none","display":"没有","narrative":"否认药物、食物过敏史"},
             {"code":"drug","display":"药物过敏","narrative":"有药物过敏史"},
             {"code":"food","display":"食物过敏","narrative":"有食物过敏史"}]},
 {"linkId":"allergy_detail","type":"text","text":"对什么过敏？","maxLength":200,"section":"allergy_history",
  "narrative":"过敏物：{value}","enableBehavior":"any",
  "enableWhen":[{"question":"allergy","operator":"=","answer":"drug"},{"question":"allergy","operator":"=","answer":"food"}]},
 {"linkId":"family","type":"boolean","text":"家人中是否有人患哮喘、肺癌等肺部疾病？","section":"family_history",
  "narrative":"家族中有肺部疾病史","negative":"否认家族肺部疾病史"}
]}
$json$, 'demo', 'demo-chief', now()),
       ('generic', '1', NULL, '通用预问诊', 'approved', $json$
{"id":"generic","version":"1","title":"通用预问诊","items":[
 {"linkId":"complaint","type":"text","text":"您这次主要哪里不舒服？","required":true,"maxLength":200,
  "section":"chief_complaint","narrative":"{value}{days}天"},
 {"linkId":"days","type":"number","text":"持续多少天了？","required":true,"min":0,"max":36500},
 {"linkId":"past","type":"text","text":"以前得过什么病？没有请留空","maxLength":500,"section":"past_history",
  "narrative":"既往{value}","negative":"否认既往重大疾病史"},
 {"linkId":"allergy","type":"choice","text":"是否有药物或食物过敏？","required":true,"section":"allergy_history",
  "options":[{"code":"none","display":"没有","narrative":"否认药物、食物过敏史"},
             {"code":"yes","display":"有","narrative":"有药物或食物过敏史"}]}
]}
$json$, 'demo', 'demo-chief', now())
ON CONFLICT (template_id, version) DO NOTHING;


-- 0302 消化内科: abdominal pain.  Logic jumps (pain -> site/duration/score; age 12-55 -> pregnancy),
-- red flags (hematemesis / melena, pain score 9+), built-in quality tags (pregnancy, duration) and
-- one template rule.
INSERT INTO consult.templates (template_id, version, department, title, status, definition, created_by, approved_by, approved_at)
VALUES ('gi-0302', '1', '0302', '消化内科腹痛预问诊', 'approved', $json$
{"id":"gi-0302","version":"1","title":"消化内科腹痛预问诊","items":[
 {"linkId":"pain","type":"choice","text":"最近是否腹痛？","required":true,"section":"chief_complaint",
  "options":[{"code":"yes","display":"是","narrative":"腹痛{pain_days}天"},
             {"code":"no","display":"否","narrative":"无腹痛","negative":true}]},
 {"linkId":"pain_days","type":"number","text":"腹痛多少天了？","required":true,"min":0,"max":36500,
  "durationUnit":"day","plausible":{"max":3650},"enableWhen":[{"question":"pain","operator":"=","answer":"yes"}]},
 {"linkId":"pain_site","type":"choice","text":"哪个部位最痛？","section":"present_illness","narrative":"以{value}为主",
  "enableWhen":[{"question":"pain","operator":"=","answer":"yes"}],
  "options":[{"code":"epigastric","display":"上腹部"},{"code":"ruq","display":"右上腹"},{"code":"rlq","display":"右下腹"},
             {"code":"llq","display":"左下腹"},{"code":"periumbilical","display":"脐周"},{"code":"diffuse","display":"全腹"}]},
 {"linkId":"pain_score","type":"number","text":"疼痛程度（0 不痛 - 10 最痛）","required":true,"min":0,"max":10,
  "section":"present_illness","narrative":"疼痛评分{value}分",
  "enableWhen":[{"question":"pain","operator":"=","answer":"yes"}],
  "terminal":{"when":"pain_score >= 9","advice":"您的腹痛非常剧烈，可能是急腹症，建议立即前往急诊就医"}},
 {"linkId":"symptoms","type":"multi","text":"是否伴有以下症状？（可多选，没有则不选）","section":"present_illness",
  "narrative":"伴{value}","negative":"无恶心、呕吐、腹泻、发热",
  "options":[{"code":"nausea","display":"恶心"},{"code":"vomit","display":"呕吐"},{"code":"diarrhea","display":"腹泻"},
             {"code":"fever","display":"发热"},{"code":"melena","display":"黑便"},{"code":"hematemesis","display":"呕血"}],
  "terminal":{"when":"symptoms anyof ['melena', 'hematemesis']","advice":"呕血或黑便提示可能有消化道出血，请立即前往急诊就医"}},
 {"linkId":"pregnant","type":"choice","text":"目前是否可能怀孕？（男性请选“不适用”）","required":true,
  "section":"personal_history","tags":["pregnancy"],"enableIf":"$age >= 12 and $age <= 55",
  "options":[{"code":"possible","display":"可能怀孕","narrative":"可能妊娠"},
             {"code":"no","display":"否","narrative":"否认妊娠","negative":true},
             {"code":"na","display":"不适用","negative":true}]},
 {"linkId":"meds","type":"text","text":"这次发病后用过什么药？没有请留空","maxLength":200,"section":"present_illness",
  "narrative":"已用药：{value}","negative":"未用药"},
 {"linkId":"past","type":"multi","text":"既往是否有以下情况？（可多选，没有则不选）","section":"past_history",
  "narrative":"既往有{value}","negative":"否认肝炎、消化性溃疡、胆结石病史，否认腹部手术史",
  "options":[{"code":"hepatitis","display":"肝炎"},{"code":"ulcer","display":"消化性溃疡"},
             {"code":"gallstone","display":"胆结石"},{"code":"surgery","display":"腹部手术史"}]},
 {"linkId":"alcohol","type":"choice","text":"是否饮酒？","section":"personal_history",
  "options":[{"code":"none","display":"不饮酒","narrative":"否认饮酒史","negative":true},
             {"code":"sometimes","display":"偶尔","narrative":"偶有饮酒"},
             {"code":"daily","display":"每天","narrative":"每日饮酒"}]},
 {"linkId":"allergy","type":"choice","text":"是否有药物或食物过敏？","required":true,"section":"allergy_history",
  "options":[{"code":"none","display":"没有","narrative":"否认药物、食物过敏史","negative":true},
             {"code":"yes","display":"有","narrative":"有药物或食物过敏史"}]},
 {"linkId":"allergy_detail","type":"text","text":"对什么过敏？","maxLength":200,"section":"allergy_history",
  "narrative":"过敏物：{value}","enableWhen":[{"question":"allergy","operator":"=","answer":"yes"}]},
 {"linkId":"family","type":"boolean","text":"直系亲属中是否有人患胃癌、肠癌或肝癌？","section":"family_history",
  "narrative":"家族中有消化道肿瘤史","negative":"否认家族消化道肿瘤史"}
],
"quality":[{"id":"pain_without_site","linkId":"pain_site","severity":"warn",
            "when":"pain = 'yes' and empty(pain_site)","message":"您有腹痛但没有选择疼痛部位，医生就诊时可能需要再次询问"}]}
$json$, 'demo', 'demo-chief', now()),
-- 0501 骨科: injuries.  Logic jumps (injured -> site/days/mechanism; traffic -> head injury; age 50+
-- -> osteoporosis), red flags (neurological signs, head injury with loss of consciousness).
       ('ortho-0501', '1', '0501', '骨科外伤预问诊', 'approved', $json$
{"id":"ortho-0501","version":"1","title":"骨科外伤预问诊","items":[
 {"linkId":"injury","type":"choice","text":"这次是因为受伤来看病吗？","required":true,"section":"chief_complaint",
  "options":[{"code":"yes","display":"是","narrative":"{injury_site}外伤后疼痛{injury_days}天"},
             {"code":"no","display":"否，是慢性疼痛","narrative":"{injury_site}疼痛{injury_days}天"}]},
 {"linkId":"injury_site","type":"choice","text":"哪个部位受伤或疼痛？","required":true,
  "options":[{"code":"neck","display":"颈部"},{"code":"back","display":"腰背部"},{"code":"shoulder","display":"肩部"},
             {"code":"arm","display":"上肢"},{"code":"hip","display":"髋部"},{"code":"leg","display":"下肢"},
             {"code":"ankle","display":"踝部"}]},
 {"linkId":"injury_days","type":"number","text":"多少天了？","required":true,"min":0,"max":36500,"durationUnit":"day",
  "plausible":{"max":3650}},
 {"linkId":"mechanism","type":"choice","text":"怎么受伤的？","required":true,"section":"present_illness",
  "narrative":"受伤原因：{value}","enableWhen":[{"question":"injury","operator":"=","answer":"yes"}],
  "options":[{"code":"fall","display":"跌倒"},{"code":"traffic","display":"交通事故"},{"code":"sport","display":"运动损伤"},
             {"code":"crush","display":"重物砸伤"},{"code":"other","display":"其他"}]},
 {"linkId":"head","type":"boolean","text":"是否撞到头部，或曾经昏迷？","required":true,"section":"present_illness",
  "narrative":"伤及头部","negative":"否认头部外伤及昏迷",
  "enableWhen":[{"question":"mechanism","operator":"=","answer":"traffic"}],
  "terminal":{"when":"head = true","advice":"交通事故后撞到头部或曾昏迷，请立即前往急诊就医，途中避免剧烈活动"}},
 {"linkId":"neuro","type":"boolean","text":"是否有肢体麻木、无力，或大小便失禁？","required":true,"section":"present_illness",
  "narrative":"伴肢体麻木无力","negative":"无肢体麻木、无力，无大小便失禁",
  "terminal":{"when":"neuro = true and injury = 'yes'","advice":"外伤后出现肢体麻木无力或大小便失禁，可能有脊髓或神经损伤，请保持不动并立即前往急诊"}},
 {"linkId":"pain_score","type":"number","text":"疼痛程度（0 不痛 - 10 最痛）","required":true,"min":0,"max":10,
  "section":"present_illness","narrative":"疼痛评分{value}分"},
 {"linkId":"osteoporosis","type":"boolean","text":"是否被诊断过骨质疏松？","section":"past_history",
  "enableIf":"$age >= 50","narrative":"有骨质疏松病史","negative":"否认骨质疏松病史"},
 {"linkId":"past_fracture","type":"boolean","text":"以前是否骨折过？","section":"past_history",
  "narrative":"既往有骨折史","negative":"否认既往骨折史"},
 {"linkId":"allergy","type":"choice","text":"是否有药物或食物过敏？","required":true,"section":"allergy_history",
  "options":[{"code":"none","display":"没有","narrative":"否认药物、食物过敏史","negative":true},
             {"code":"yes","display":"有","narrative":"有药物或食物过敏史"}]}
]}
$json$, 'demo', 'demo-chief', now())
ON CONFLICT (template_id, version) DO NOTHING;

-- template choice: the two departments by rule, and any injury diagnosis (ICD-10 S..) to the
-- orthopaedic template whatever the department
INSERT INTO consult.rules (template_id, department, disease, priority, note, created_by)
SELECT v.* FROM (VALUES ('gi-0302', '0302', NULL, 0, '消化内科默认', 'demo'),
                        ('ortho-0501', '0501', NULL, 0, '骨科默认', 'demo'),
                        ('ortho-0501', NULL, 'S', 10, '损伤类诊断（ICD-10 S）', 'demo'))
       AS v(template_id, department, disease, priority, note, created_by)
WHERE NOT EXISTS (SELECT 1 FROM consult.rules r WHERE r.template_id = v.template_id
                  AND r.department IS NOT DISTINCT FROM v.department AND r.disease IS NOT DISTINCT FROM v.disease);

-- the demo's authors and reviewers (password in demo.env: demo data only, never production)
INSERT INTO hg.staff (username, display_name, institution, department, roles, password_hash)
SELECT u, n, '44010001', d, r::text[], '$pbkdf2-sha256$210000$aGNjb25zdWx0LWRlbW8tMQ==$3nT1uoTO8tT9TqKbnzgeGj94Y4xNW+UcAs+aCi3I7E8='
FROM (VALUES ('doc_resp', '呼吸内科 李医生', '0301', '{consult_author}'),
             ('rev_resp', '呼吸内科 陈主任', '0301', '{consult_reviewer}'),
             ('doc_gi', '消化内科 王医生', '0302', '{consult_author}'),
             ('consult_chief', '医务科 问卷管理员', '', '{consult_admin}')) AS v(u, n, d, r)
ON CONFLICT (username) DO NOTHING;
