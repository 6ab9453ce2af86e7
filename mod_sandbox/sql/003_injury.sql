-- mod_sandbox: the simulated Guangdong work-injury platform (省工伤 bizh interface, mod_sandbox/INJURY.md).
-- Never in a production database.  Demo accounts and insured persons are part of the simulation,
-- so they come with the schema: every test database and `make run` have them.

-- failure modes: one-shot modes (error, lost, late) may target one function_id and carry a message
ALTER TABLE sandbox.modes DROP CONSTRAINT modes_mode_check;
ALTER TABLE sandbox.modes ADD CONSTRAINT modes_mode_check
    CHECK (mode IN ('normal','down','slow','reject','error','lost','late'));
ALTER TABLE sandbox.modes ADD COLUMN target text, ADD COLUMN message text;
INSERT INTO sandbox.modes (platform) VALUES ('injury') ON CONFLICT (platform) DO NOTHING;

-- sys0001 accounts: the login user of an institution and its code akb020
CREATE TABLE sandbox.injury_accounts (
    userid   text PRIMARY KEY,
    password text NOT NULL,
    akb020   text NOT NULL UNIQUE,
    akb021   text NOT NULL
);

-- sessions are valid until the coming midnight, China time (POST /sandbox/control mode expire ends them all)
CREATE TABLE sandbox.injury_sessions (
    session_id text PRIMARY KEY,
    userid     text NOT NULL REFERENCES sandbox.injury_accounts,
    akb020     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

-- insured persons (参保人) and their work-injury authorisations (工伤认定 / 待遇审批)
CREATE TABLE sandbox.injury_persons (
    aac001 text PRIMARY KEY,           -- 电脑号
    aac003 text NOT NULL,              -- 姓名
    aac004 text NOT NULL,              -- 性别 1/2
    aac002 text NOT NULL UNIQUE,       -- 社会保障号码
    bka100 text NOT NULL UNIQUE,       -- 社保卡号
    aac006 text NOT NULL,              -- 出生日期 yyyyMMdd
    bka004 text NOT NULL DEFAULT '1',  -- 人员类别
    aac013 text NOT NULL DEFAULT '1',  -- 用工形式
    bka005 text NOT NULL DEFAULT '',   -- 行政职务级别
    aae005 text NOT NULL DEFAULT '',   -- 联系电话
    baa027 text NOT NULL DEFAULT '440100',
    aab001 text NOT NULL,              -- 单位编码
    bka008 text NOT NULL,              -- 单位名称
    aae140 text NOT NULL DEFAULT '410',
    bka888 text NOT NULL DEFAULT '1',  -- 个人基金状态
    aaa027 text NOT NULL DEFAULT '440100'
);

CREATE TABLE sandbox.injury_auths (
    bka042 text PRIMARY KEY,           -- 工伤凭证号
    aac001 text NOT NULL REFERENCES sandbox.injury_persons,
    aaz267 text NOT NULL,              -- 申请号
    bka006 text NOT NULL DEFAULT '410',
    bka026 text NOT NULL,              -- 疾病编码
    aae030 date NOT NULL,
    aae031 date NOT NULL
);

CREATE SEQUENCE sandbox.injury_aaz218_seq;

-- one row per outpatient visit (kind op) or inpatient stay (kind ip), keyed by 就医登记号 aaz218
CREATE TABLE sandbox.injury_visits (
    aaz218       text PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('op','ip')),
    akb020       text NOT NULL,
    aac001       text NOT NULL REFERENCES sandbox.injury_persons,
    bka025       text NOT NULL,        -- 门诊号 / 住院号
    state        text NOT NULL CHECK (state IN ('registered','admitted','discharged','settled','cancelled')),
    reg          jsonb NOT NULL,       -- the registration fields as sent (120104 changes some)
    discharge    jsonb,                -- 120105's fields
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (kind = 'op' AND state IN ('registered','cancelled')
           OR kind = 'ip' AND state IN ('admitted','discharged','settled','cancelled'))
);
-- mutual exclusion (业务互斥): at most one open stay per person across every institution
CREATE UNIQUE INDEX injury_visits_one_open_stay ON sandbox.injury_visits (aac001)
    WHERE kind = 'ip' AND state IN ('admitted','discharged');
CREATE UNIQUE INDEX injury_visits_op_once ON sandbox.injury_visits (akb020, aac001, bka025)
    WHERE kind = 'op' AND state = 'registered';
CREATE INDEX injury_visits_person ON sandbox.injury_visits (aac001, akb020);

-- fee lines: inpatient serials aaz213 come from the hospital, outpatient ones from the platform
CREATE TABLE sandbox.injury_fees (
    id          bigserial UNIQUE,
    aaz218      text NOT NULL REFERENCES sandbox.injury_visits,
    aaz213      text NOT NULL,
    bka001      integer,               -- outpatient batch; NULL for inpatient lines
    row         jsonb NOT NULL,        -- the <row> as sent (names byte for byte)
    amount_fen  bigint NOT NULL,       -- bka058
    self_full   boolean NOT NULL,      -- 全自费 line
    part_fen    bigint NOT NULL,       -- its 部分自费 share
    refund_of   text,                  -- outpatient refund line: the serial it refunds
    refunded_by text,                  -- outpatient charge line: the refund line's serial
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aaz218, aaz213)
);

-- settlements: outpatient batches and inpatient discharge settlements (aae100 false once cancelled)
CREATE TABLE sandbox.injury_settlements (
    id           bigserial PRIMARY KEY,
    aaz218       text NOT NULL REFERENCES sandbox.injury_visits,
    bka001       integer NOT NULL,
    akc264_fen   bigint NOT NULL,
    bka825_fen   bigint NOT NULL,
    bka826_fen   bigint NOT NULL,
    aae100       boolean NOT NULL DEFAULT true,
    settled_at   timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz,
    UNIQUE (aaz218, bka001)
);

-- medical-record (病案首页) uploads, one per stay and function; a repeated upload replaces it
CREATE TABLE sandbox.injury_records (
    aaz218      text NOT NULL REFERENCES sandbox.injury_visits,
    function_id text NOT NULL,
    content     jsonb NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aaz218, function_id)
);

-- bizh120205 code tables
CREATE TABLE sandbox.injury_codes (
    aaa100 text NOT NULL,
    aaa102 text NOT NULL,
    aaa103 text NOT NULL,
    PRIMARY KEY (aaa100, aaa102)
);

-- every call received (GET /sandbox/injury/calls)
CREATE TABLE sandbox.injury_calls (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    function_id text,
    aaz218      text,
    rows        integer,
    return_code text NOT NULL,
    message     text,
    mode        text
);

-- ---------------------------------------------------------------- demo data
INSERT INTO sandbox.injury_accounts (userid, password, akb020, akb021) VALUES
    ('ss44010001', 'Sgs-Demo#2026',  'H44010100001', '广州市演示人民医院'),
    ('ss44010002', 'Sgs-Other#2026', 'H44010600009', '广州市演示第二医院');

INSERT INTO sandbox.injury_persons (aac001, aac003, aac004, aac002, bka100, aac006, aae005, aab001, bka008) VALUES
    ('1000000001', '张伟', '1', '440101198501010011', 'S44010000001', '19850101', '13800000001', 'E4401000001', '广州市演示机械制造有限公司'),
    ('1000000002', '李娜', '2', '440101199002020022', 'S44010000002', '19900202', '13800000002', 'E4401000001', '广州市演示机械制造有限公司'),
    ('1000000003', '王强', '1', '440101198803030033', 'S44010000003', '19880303', '13800000003', 'E4401000002', '广州市演示建筑工程有限公司'),
    ('1000000004', '刘洋', '1', '440101199104040044', 'S44010000004', '19910404', '13800000004', 'E4401000002', '广州市演示建筑工程有限公司'),
    ('1000000005', '陈静', '2', '440101199305050055', 'S44010000005', '19930505', '13800000005', 'E4401000003', '广州市演示物流有限公司'),
    ('1000000006', '杨磊', '1', '440101198006060066', 'S44010000006', '19800606', '13800000006', 'E4401000003', '广州市演示物流有限公司'),
    ('1000000007', '赵敏', '2', '440101197707070077', 'S44010000007', '19770707', '13800000007', 'E4401000001', '广州市演示机械制造有限公司'),
    ('1000000008', '黄勇', '1', '440101197808080088', 'S44010000008', '19780808', '13800000008', 'E4401000002', '广州市演示建筑工程有限公司'),
    ('1000000011', '测试一', '1', '440101199001010011', 'S44010000011', '19900101', '', 'E4401000009', '广州市演示测试单位'),
    ('1000000012', '测试二', '2', '440101199001010012', 'S44010000012', '19900101', '', 'E4401000009', '广州市演示测试单位'),
    ('1000000013', '测试三', '1', '440101199001010013', 'S44010000013', '19900101', '', 'E4401000009', '广州市演示测试单位'),
    ('1000000014', '测试四', '2', '440101199001010014', 'S44010000014', '19900101', '', 'E4401000009', '广州市演示测试单位'),
    ('1000000015', '测试五', '1', '440101199001010015', 'S44010000015', '19900101', '', 'E4401000009', '广州市演示测试单位'),
    ('1000000016', '测试六', '2', '440101199001010016', 'S44010000016', '19900101', '', 'E4401000009', '广州市演示测试单位');

INSERT INTO sandbox.injury_auths (bka042, aac001, aaz267, bka026, aae030, aae031)
SELECT 'GS20260000' || right(aac001, 2), aac001, 'SQ20250000' || right(aac001, 2), 'S62.501',
       DATE '2025-01-01', DATE '2099-12-31'
FROM sandbox.injury_persons WHERE aac001 NOT IN ('1000000007', '1000000008');
INSERT INTO sandbox.injury_auths (bka042, aac001, aaz267, bka026, aae030, aae031) VALUES
    ('GS2020000007', '1000000007', 'SQ2020000007', 'S82.201', DATE '2020-01-01', DATE '2020-12-31');

-- 杨磊 lies in the other hospital: any admission elsewhere meets 业务互斥
INSERT INTO sandbox.injury_visits (aaz218, kind, akb020, aac001, bka025, state, reg) VALUES
    ('9000000000000001', 'ip', 'H44010600009', '1000000006', 'ZY-OTHER-0001', 'admitted',
     '{"aka130":"42","bka006":"420","bka017":"20261101","bka020":"骨科","bka026":"S62.501"}');

INSERT INTO sandbox.injury_codes (aaa100, aaa102, aaa103) VALUES
    ('aka130', '41', '工伤门诊'), ('aka130', '42', '工伤住院'),
    ('bka006', '410', '工伤门诊'), ('bka006', '420', '工伤住院'),
    ('aae140', '410', '工伤保险'),
    ('bka035', '1', '在职'), ('bka035', '2', '退休'),
    ('bac001', '1', '一级伤残'), ('bac001', '2', '二级伤残'), ('bac001', '3', '三级伤残'),
    ('bac001', '4', '四级伤残'), ('bac001', '5', '五级伤残'), ('bac001', '6', '六级伤残'),
    ('bac001', '7', '七级伤残'), ('bac001', '8', '八级伤残'), ('bac001', '9', '九级伤残'),
    ('bac001', '10', '十级伤残'),
    ('aaa157', '410', '工伤保险基金'), ('aaa157', '411', '企业补充工伤保险基金'),
    ('aac148', '1', '工伤'), ('aac148', '2', '职业病'),
    ('aac013', '1', '合同制'), ('aac013', '2', '临时工'), ('aac013', '3', '农民工'),
    ('aka063', '0', '非限制使用'), ('aka063', '1', '限制使用'),
    ('aaa027', '440100', '广州市社会保险基金管理中心'), ('aaa027', '440600', '佛山市社会保险基金管理局'),
    ('bka895', 'aac001', '电脑号'), ('bka895', 'aac002', '社会保障号码'), ('bka895', 'bka100', '社保卡号'),
    ('bka895', 'aaz218', '就医登记号'), ('bka895', 'bka025', '住院号'),
    ('bka893', '0', '试算'), ('bka893', '1', '结算'),
    ('bka438', '1', '业务开始'), ('bka438', '2', '业务结算'), ('bka438', '3', '业务结束'),
    ('bkf001', '1', 'A'), ('bkf001', '2', 'B'), ('bkf001', '3', 'AB'), ('bkf001', '4', 'O'),
    ('bkf001', '5', 'Rh+'), ('bkf001', '6', 'Rh-'),
    ('bkf002', '1', '门诊入院'), ('bkf002', '2', '急诊入院');
