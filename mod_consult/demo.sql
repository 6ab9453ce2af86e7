-- demo data for make run and the tests (idempotent): questionnaire templates, approved.
-- 0301 呼吸内科 (HG_CONSULT_DEPT in demo.env) has its own; other departments get the generic one.
-- Published versions never change: a new definition is a new version.
INSERT INTO consult.templates (template_id, version, department, status, definition, created_by, approved_by, approved_at)
VALUES ('resp-0301', '1', '0301', 'approved', $json$
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
       ('generic', '1', NULL, 'approved', $json$
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
