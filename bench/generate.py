"""Province generator (issue 9): a whole province's signing year, loaded into PostgreSQL with COPY.

    .venv/bin/python bench/generate.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench \
        --reset --scale 1.0 [--seed 2026] [--student-logins 0.1] [--record]

--reset DROPS the public schema of that database, then builds it the production way: `flask db
upgrade` (migrations own the schema) + `flask roles sync`. Without --reset the database must be
freshly migrated and empty. Never point it at real data.

Full scale (DESIGN.md §7): 130 schools, 500,000 graduates, ~1,500,000 offers, 40,000 employers;
`--scale 0.01` makes a 5,000-graduate province for development. The same seed gives the same province.

Shape (all seeded):
- schools: 2 real ones (10486 武汉大学, 10487 华中科技大学) + 128 synthetic codes 9xxxx; log-normal
  sizes, the first 45 are universities (本科/硕士/博士), the rest vocational colleges (专科);
  8–24 departments of 2–6 majors each;
- students: valid 居民身份证号 (stdnum cn.ric; birth year by 学历, 17th digit = gender), unique
  phones, 85% verified, ~2% 定向, a few restricted / plan submitted (R7);
- employers: 单位性质 mix (其他企业 first, 国有, 事业单位, 机关 …), 60% in 湖北, the rest in the big
  destination provinces; credit codes valid under stdnum cn.uscc with the registering-authority
  prefix of their nature (11 机关, 12 事业单位, 91 企业 …); 98% confirmed and approved by 1–3 schools;
- outcomes per student (R6: at most one live): ~36% certified electronic, 5% accepted waiting for
  review, 5% paper (4% certified), 20% 其他去向 (16% approved, 4% submitted), the rest none yet;
  every student who may sign also has 0–n other offers (rejected, expired, pending — R3: distinct
  employers) so the total reaches 3 offers per graduate;
- certified agreements numbered per school and year in certification order (R9), with the
  number_counter rows; terminations (approved → agreement terminated and, for most, a new
  certified agreement; refused; open requested/agreed; paper ones start at agreed, R13; R12: at
  most one approved per student); declined reviews; FlowEvents for every step;
- logins (pbkdf2:sha256:1000, password BENCH_PASSWORD): a share of students (`<院校代码>-<学号>`),
  every employer (`e<统一社会信用代码>`), two reviewers per school (`r<院校代码>-1/2`), one province
  login (`bench-province`). Listed in the login table; load.py reads them from the database.

Loading: secondary indexes, unique constraints and foreign keys of the loaded tables are dropped
(definitions read from the catalogue); every table is streamed with COPY … FROM STDIN on its own
connection and thread while Python generates; the certified agreements are numbered set-based (R9);
then the indexes are rebuilt and the foreign keys re-added — which validates every row — and the
partial unique indexes (R3, R6, R11) check the invariants as they build; sequences set, VACUUM
ANALYZE. Baseline in the same run: the ORM (`session.add_all` + flush, SQLAlchemy's batched
INSERT) on a sample of the same agreements, rolled back.

Not generated: notifications (the outbox / in-app messages of each transition), SMS codes,
uploaded files (proof_path keys point to no file), agreement PDFs, content_hash of certified
agreements (check_code is set).
"""
import argparse
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
from stdnum.cn import ric, uscc  # noqa: E402

BENCH_PASSWORD = "Bench2026!a"
FULL = {"schools": 130, "students": 500_000, "offers": 1_500_000, "employers": 40_000}
SHANGHAI_OFFSET = timedelta(hours=8)

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
            "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟强磊洋勇军杰涛斌超明芳娜敏静丽婷雪琳欣怡梓涵诗雨桐佳思源晓雯婉清若曦雅琪浩然子轩宇航俊志建华文博"
         "鑫宁丹阳凯鹏飞燕玲霞蕾颖晨希悦瑶睿哲翔天诚嘉欢倩宏亮")
DEPARTMENTS = {
    "计算机学院": ["计算机科学与技术", "软件工程", "网络工程", "信息安全", "数据科学与大数据技术", "人工智能"],
    "电子信息学院": ["电子信息工程", "通信工程", "微电子科学与工程", "光电信息科学与工程"],
    "机械工程学院": ["机械设计制造及其自动化", "车辆工程", "工业设计", "测控技术与仪器"],
    "土木工程学院": ["土木工程", "建筑环境与能源应用工程", "给排水科学与工程", "工程管理"],
    "经济与管理学院": ["会计学", "财务管理", "市场营销", "人力资源管理", "工商管理", "国际经济与贸易"],
    "文学院": ["汉语言文学", "汉语国际教育", "秘书学"],
    "外国语学院": ["英语", "日语", "翻译", "商务英语"],
    "法学院": ["法学", "知识产权"],
    "数学与统计学院": ["数学与应用数学", "统计学", "信息与计算科学"],
    "物理学院": ["物理学", "应用物理学"],
    "化学与化工学院": ["化学", "应用化学", "化学工程与工艺", "制药工程"],
    "生命科学学院": ["生物科学", "生物技术", "生物工程"],
    "医学院": ["临床医学", "护理学", "药学", "医学检验技术", "口腔医学"],
    "新闻与传播学院": ["新闻学", "广告学", "网络与新媒体"],
    "艺术学院": ["视觉传达设计", "环境设计", "音乐学", "美术学"],
    "教育学院": ["教育学", "学前教育", "小学教育", "心理学"],
    "马克思主义学院": ["思想政治教育"],
    "资源与环境学院": ["环境工程", "地理信息科学", "资源勘查工程"],
    "电气工程学院": ["电气工程及其自动化", "自动化", "能源与动力工程"],
    "材料学院": ["材料科学与工程", "高分子材料与工程", "金属材料工程"],
    "农学院": ["农学", "园艺", "植物保护", "动物医学"],
    "体育学院": ["体育教育", "社会体育指导与管理"],
    "公共管理学院": ["行政管理", "公共事业管理", "劳动与社会保障"],
    "交通学院": ["交通运输", "物流管理", "轮机工程"],
}
# 单位性质 (DESIGN.md §2) with weights and the credit code's registering-authority prefix (GB 32100).
NATURES = [("39", 58, "91"), ("31", 12, "91"), ("32", 5, "91"), ("29", 4, "12"), ("21", 3, "12"),
           ("22", 5, "12"), ("23", 5, "12"), ("20", 2, "12"), ("10", 3, "11"), ("40", 0.5, "11"),
           ("55", 0.5, "54"), ("56", 1, "54"), ("99", 1, "51")]
INDUSTRY = {"39": "IMCFLJ", "31": "EDCGI", "32": "CIL", "29": "RNQ", "21": "P", "22": "P", "23": "Q",
            "20": "M", "10": "S", "40": "S", "55": "S", "56": "S", "99": "LORS"}
# Where graduates go: 湖北 first, then the big destination provinces (city districts of GB/T 2260).
HUBEI = ["420102", "420103", "420104", "420105", "420106", "420111", "420112", "420113", "420115",
         "420116", "420117", "420202", "420302", "420502", "420602", "420703", "420802", "420902",
         "421002", "421102", "421202", "421303"]
OTHER = ["110105", "110108", "310101", "310104", "310115", "440106", "440305", "440304", "330106",
         "330110", "320102", "320506", "510107", "500103", "430104", "410105", "360102", "610113"]
ID_REGIONS = HUBEI[:10] + ["421181", "420683", "420984", "421087", "422801", "411302", "430602",
                            "360403", "500101", "341602", "513401"]
POSITIONS = {"工程技术人员": ["软件工程师", "硬件工程师", "结构工程师", "工艺工程师", "测试工程师", "运维工程师"],
             "科学研究人员": ["研究助理", "算法研究员"], "教学人员": ["小学教师", "中学教师", "高校教师"],
             "卫生专业技术人员": ["住院医师", "护士", "药剂师"], "经济业务人员": ["会计", "审计专员", "财务分析师"],
             "金融业务人员": ["客户经理", "风控专员"], "法律专业人员": ["法务专员", "律师助理"],
             "办事人员和有关人员": ["行政专员", "人事专员", "文员"], "商业和服务业人员": ["销售代表", "市场专员"],
             "生产和运输设备操作人员": ["设备操作员"], "其他人员": ["管理培训生"]}
DEST_KINDS = [("80", 55), ("85", 10), ("11", 12), ("12", 6), ("75", 3), ("76", 5), ("46", 2), ("50", 3),
              ("51", 2), ("27", 2)]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pg_url(url):
    """SQLAlchemy URL → libpq URL for psycopg."""
    return url.replace("postgresql+psycopg://", "postgresql://")


# ---------------------------------------------------------------- value formatting for COPY (text)

class Table:
    """Rows of one table as COPY text lines, streamed to PostgreSQL while the generator runs:
    each table has its own connection and a thread that writes blocks from a queue (the socket
    write releases the GIL, so the server parses on the other core while Python generates)."""

    BLOCK = 20_000

    def __init__(self, name, columns):
        self.name, self.columns, self.lines, self.count = name, columns, [], 0
        self.sample = []  # the first rows, kept for the ORM baseline
        self.queue = self.thread = None

    def add(self, *values):
        # COPY text format: \N for NULL, t/f for booleans; our text never holds tab, newline or
        # backslash. Inline (no per-cell function call): this runs ~7 million times at full scale.
        self.lines.append("\t".join(["\\N" if v is None else ("t" if v else "f") if v is True or v is False
                                     else str(v) for v in values]))
        self.count += 1
        if len(self.lines) >= self.BLOCK:
            self.flush()

    def flush(self):
        if len(self.sample) < 5000:
            self.sample.extend(self.lines[:5000 - len(self.sample)])
        if self.lines and self.queue is not None:
            self.queue.put(("\n".join(self.lines) + "\n").encode())
            self.lines = []

    def start(self, url):
        self.queue = queue.Queue(maxsize=4)
        self.error = None

        def run():
            try:
                with psycopg.connect(pg_url(url)) as conn:
                    conn.execute("SET synchronous_commit = off")
                    with conn.cursor() as cur:
                        with cur.copy(f"COPY {self.name} ({', '.join(self.columns)}) FROM STDIN") as copy:
                            while (block := self.queue.get()) is not None:
                                copy.write(block)
                    conn.commit()
            except BaseException as e:  # noqa: BLE001 - reported by finish()
                self.error = e
                while self.queue.get() is not None:  # drain so the generator never blocks
                    pass

        self.thread = threading.Thread(target=run, name=f"copy-{self.name}")
        self.thread.start()

    def finish(self):
        self.flush()
        self.queue.put(None)
        self.thread.join()
        if self.error:
            raise self.error


# ---------------------------------------------------------------- time helpers (naive UTC, as stored)

def expiry(sent, feedback_days):
    """R4: 24:00 Asia/Shanghai of day sent + feedback_days, as naive UTC (same as workflow.expiry_instant)."""
    local_day = (sent + SHANGHAI_OFFSET).date() + timedelta(days=feedback_days + 1)
    return datetime.combine(local_day, datetime.min.time()) - SHANGHAI_OFFSET


def sec(dt):
    return dt  # every generated instant is already whole seconds (rand_time, now, expiry)


# ---------------------------------------------------------------- the province

class Province:
    def __init__(self, scale, seed, year, now, student_logins):
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.scale, self.year, self.now = scale, year, now
        self.student_logins = student_logins
        self.n_schools = max(2, round(FULL["schools"] * min(1.0, scale * 4))) if scale < 0.25 else FULL["schools"]
        self.n_students = max(200, round(FULL["students"] * scale))
        self.n_employers = max(50, round(FULL["employers"] * scale))
        self.n_offers_target = round(FULL["offers"] * self.n_students / FULL["students"])
        # The snapshot is taken 200 days into the signing season (offers from October on).
        self.season_start = now - timedelta(days=200)
        self.t = {}
        T = self.t
        T["school"] = Table("school", ["id", "code", "name"])
        T["student"] = Table("student", [
            "id", "school_id", "student_no", "name", "id_number", "gender", "phone", "email", "address",
            "graduation_year", "education", "department", "major", "training_mode", "signing_restricted",
            "plan_submitted", "verified_at"])
        T["employer"] = Table("employer", [
            "id", "name", "credit_code", "nature", "industry", "region", "contact_name", "contact_phone", "email",
            "address", "archive_mode", "archive_unit", "archive_address", "archive_postcode", "archive_contact",
            "archive_phone", "hukou_mode", "hukou_address", "profile_confirmed_at", "created_at"])
        T["employer_approval"] = Table("employer_approval", [
            "id", "employer_id", "school_id", "status", "reason", "reviewed_at", "created_at"])
        T["agreement"] = Table("agreement", [
            "id", "kind", "status", "number", "student_id", "school_id", "employer_id", "employer_name",
            "employer_credit_code", "job_category", "position", "feedback_days", "probation_days", "probation_salary",
            "salary", "penalty", "report_region", "report_deadline", "work_region", "contact_name", "contact_phone",
            "archive_mode", "hukou_mode", "sent_at", "expires_at", "accepted_at", "answered_at", "certified_at",
            "reviewed_at", "review_reason", "updated_at", "proof_path", "check_code"])
        T["invite_list_entry"] = Table("invite_list_entry", ["id", "employer_id", "student_id", "created_at"])
        T["termination"] = Table("termination", [
            "id", "agreement_id", "student_id", "school_id", "employer_id", "initiator", "reason", "proof_path",
            "status", "review_reason", "created_at", "agreed_at", "reviewed_at", "updated_at"])
        T["destination"] = Table("destination", [
            "id", "student_id", "school_id", "kind", "details", "proof_path", "status", "review_reason",
            "created_at", "reviewed_at", "updated_at"])
        T["flow_event"] = Table("flow_event", [
            "id", "agreement_id", "termination_id", "destination_id", "user_id", "actor_name", "action", "remark",
            "created_at"])
        T["number_counter"] = Table("number_counter", ["school_id", "year", "last"])
        T["ab_user"] = Table("ab_user", [
            "id", "first_name", "last_name", "username", "password", "active", "email", "login_count",
            "fail_login_count", "created_on", "changed_on", "student_id", "employer_id", "school_id",
            "must_change_password"])
        T["ab_user_role"] = Table("ab_user_role", ["id", "user_id", "role_id"])
        self.ids = {k: 0 for k in T}

    def next_id(self, table):
        self.ids[table] += 1
        return self.ids[table]

    def event(self, when, actor, action, remark=None, agreement=None, termination=None, destination=None):
        self.t["flow_event"].add(self.next_id("flow_event"), agreement, termination, destination, None, actor,
                                 action, remark, sec(when))

    def person_name(self):
        r = self.rng
        given = r.choice(GIVEN) + (r.choice(GIVEN) if r.random() < 0.7 else "")
        return r.choice(SURNAMES) + given

    def rand_time(self, start, end):
        span = (end - start).total_seconds()
        return start + timedelta(seconds=int(self.rng.random() * max(span, 1)))

    # ------------------------------------------------------------ schools and students

    def schools(self):
        r = self.rng
        n = self.n_schools
        weights = self.np.lognormal(mean=0.0, sigma=0.75, size=n)
        universities = max(1, round(n * 45 / 130))
        weights[:universities] *= 2.2  # universities are bigger than vocational colleges
        weights[:2] = weights.max() * 1.3  # the two flagship universities are the biggest
        sizes = np.floor(weights / weights.sum() * self.n_students).astype(int)
        sizes[0] += self.n_students - sizes.sum()
        self.school_rows = []
        for i in range(n):
            sid = self.next_id("school")
            if i == 0:
                code, name = "10486", "武汉大学"
            elif i == 1:
                code, name = "10487", "华中科技大学"
            else:
                code = f"{90000 + i:05d}"
                name = f"湖北模拟{i:03d}{'大学' if i < universities else '职业技术学院'}"
            depts = r.sample(sorted(DEPARTMENTS), r.randint(8, min(24, len(DEPARTMENTS))))
            plan = [(d, r.sample(DEPARTMENTS[d], min(len(DEPARTMENTS[d]), r.randint(2, 6)))) for d in depts]
            self.t["school"].add(sid, code, name)
            self.school_rows.append({"id": sid, "code": code, "name": name, "size": int(sizes[i]),
                                     "university": i < universities, "depts": plan})

    def students(self):
        r = self.rng
        id_seq = {}
        self.student_rows = []  # (id, school index, name, may_sign)
        n = 0
        for si, s in enumerate(self.school_rows):
            for k in range(s["size"]):
                n += 1
                sid = self.next_id("student")
                u = r.random()
                if s["university"]:
                    education = "博士生毕业" if u < 0.025 else "硕士生毕业" if u < 0.22 else "本科生毕业"
                else:
                    education = "专科生毕业"
                years = {"博士生毕业": 4, "硕士生毕业": 3, "本科生毕业": 4, "专科生毕业": 3}[education]
                born = {"博士生毕业": 1996, "硕士生毕业": 2000, "本科生毕业": 2003, "专科生毕业": 2004}[education]
                birth = date(born - 1, 1, 1) + timedelta(days=r.randrange(730))
                region = r.choice(ID_REGIONS)
                male = r.random() < 0.52
                key = (region, birth)
                c = id_seq.get(key, 0)
                id_seq[key] = c + 1
                body = f"{region}{birth:%Y%m%d}{2 * c + (1 if male else 0):03d}"
                id_number = body + ric.calc_check_digit(body + "0")
                dept, majors = s["depts"][k % len(s["depts"])]
                major = majors[(k // len(s["depts"])) % len(majors)]
                student_no = f"{self.year - years}{k + 1:06d}"
                name = self.person_name()
                targeted = r.random() < (0.12 if education == "博士生毕业" else 0.015)
                restricted = r.random() < 0.003
                plan = r.random() < 0.005
                verified = None if r.random() < 0.15 else self.rand_time(self.season_start - timedelta(days=20), self.season_start + timedelta(days=20))
                self.t["student"].add(
                    sid, s["id"], student_no, name, id_number, "男" if male else "女",
                    f"1{r.choice('3589')}{n:09d}", f"{student_no}@s{s['code']}.edu.cn", None, self.year, education,
                    dept, major, "targeted" if targeted else "non_targeted", restricted, plan, verified)
                may_sign = verified is not None and not (targeted or restricted or plan)
                self.student_rows.append((sid, si, name, may_sign, student_no))
        assert n == self.n_students

    # ------------------------------------------------------------ employers

    def employers(self):
        r = self.rng
        natures, weights = [n[0] for n in NATURES], [n[1] for n in NATURES]
        prefix = {n[0]: n[2] for n in NATURES}
        suffix = {"39": ["科技有限公司", "信息技术有限公司", "建设工程有限公司", "商贸有限公司", "咨询有限公司"],
                  "31": ["集团有限公司", "投资有限公司", "电力有限公司"], "32": ["（中国）有限公司", "电子有限公司"],
                  "29": ["服务中心", "研究所"], "21": ["学院"], "22": ["中学", "小学", "实验学校"], "23": ["人民医院", "中医医院"],
                  "20": ["设计研究院", "研究院"], "10": ["人民政府办公室", "市场监督管理局"], "40": ["某部"],
                  "55": ["村民委员会"], "56": ["社区居民委员会"], "99": ["协会", "基金会"]}
        words = "长江光谷东湖楚天江城荆楚汉江云帆华创星辰启明鼎盛卓越恒通博远聚力天成"
        self.employer_rows = []
        n_approved = round(self.n_employers * 0.98)
        n_schools = len(self.school_rows)
        for i in range(self.n_employers):
            eid = self.next_id("employer")
            nature = r.choices(natures, weights)[0]
            region = r.choice(HUBEI) if r.random() < 0.6 else r.choice(OTHER)
            body = f"{prefix[nature]}{region}{i + 1:09d}"
            code = body + uscc.calc_check_digit(body)
            name = f"{words[i % 20]}{words[(i * 7 + 3) % 20]}{r.choice(suffix[nature])}{i + 1}"
            created = sec(self.rand_time(self.season_start - timedelta(days=30), self.season_start + timedelta(days=60)))
            confirmed = i < n_approved
            archive = r.choice(["employer", "none", "forward"])
            self.t["employer"].add(
                eid, name, code, nature, r.choice(INDUSTRY[nature]), region, self.person_name(),
                f"1{r.choice('3589')}{7 * 10**8 + i:09d}", f"hr{i + 1}@corp{i + 1}.example.com", "湖北省武汉市示例路1号",
                archive, "武汉市人才服务中心" if archive == "forward" else None,
                "湖北省武汉市江岸区沿江大道1号" if archive == "forward" else None, "430014" if archive == "forward" else None,
                "李老师" if archive == "forward" else None, "027-82822222" if archive == "forward" else None,
                r.choice(["employer", "none"]), None, sec(created + timedelta(days=1)) if confirmed else None, created)
            schools = r.sample(range(n_schools), min(n_schools, r.choice((1, 1, 1, 2, 2, 3))))
            for j, si in enumerate(schools):
                status = "approved" if confirmed else "pending"
                if confirmed and j > 0 and r.random() < 0.08:
                    status = r.choice(["pending", "refused"])
                self.t["employer_approval"].add(
                    self.next_id("employer_approval"), eid, self.school_rows[si]["id"], status,
                    "单位资质材料不全" if status == "refused" else None,
                    sec(created + timedelta(days=2)) if status != "pending" else None, created)
            self.employer_rows.append((eid, name, code, region, confirmed))
        # Big employers send many offers: Zipf-like weights over the approved ones.
        ranks = np.arange(1, n_approved + 1)
        p = 1.0 / ranks ** 0.75
        self.employer_p = p / p.sum()
        self.n_offering = n_approved

    # ------------------------------------------------------------ agreements and the rest

    def terms(self, employer):
        r = self.rng
        category = r.choice(list(POSITIONS))
        salary = r.choice(range(4000, 20001, 500))
        probation = r.choice((0, 90, 90, 180, 180))
        region = employer[3] if r.random() < 0.8 else r.choice(HUBEI)
        return (category, r.choice(POSITIONS[category]), probation,
                salary if probation == 0 else int(salary * r.choice((0.8, 0.8, 0.9, 1.0))) // 100 * 100,
                salary, r.choice((0, 0, 3000, 5000, 10000)), region, date(self.year, 7, r.randint(1, 31)), region)

    def agreement(self, *, kind, status, student, school, employer, sent, accepted=None, certified=None,
                  reviewed=None, review_reason=None, number=None, paper_employer=None):
        """One agreement row and the flow events of its path so far."""
        aid = self.next_id("agreement")
        if kind == "paper":
            name, code = paper_employer[1], paper_employer[2]
            eid, fd, expires = None, 0, sent
        else:
            eid, name, code = employer[0], employer[1], employer[2]
            fd = self.rng.choice((5, 5, 5, 7, 10))
            expires = expiry(sent, fd)
        cat, pos, pdays, psal, sal, pen, rreg, rdl, wreg = self.terms(employer or paper_employer)
        updated = max(t for t in (sent, accepted, certified, reviewed) if t is not None)
        if status in ("rejected", "expired"):
            updated = accepted or (expires if status == "expired" else sent)
        self.t["agreement"].add(
            aid, kind, status, number, student[0], school["id"], eid, name, code, cat, pos, fd, pdays, psal, sal, pen,
            rreg, rdl, wreg, self.person_name(), "13912345678", "none", "none", sec(sent), sec(expires),
            sec(accepted) if accepted and status not in ("rejected", "expired") else None,
            sec(accepted) if accepted else None, sec(certified) if certified else None,
            sec(reviewed) if reviewed else None, review_reason, sec(updated),
            f"paper/bench-{aid}.pdf" if kind == "paper" else None,
            "".join(self.rng.choice("23456789ABCDEFGHJKMNPQRSTUVWXYZ") for _ in range(8)) if certified else None)
        if kind == "paper":
            self.event(sent, "学生本人", "paper_record", agreement=aid)
        else:
            self.event(sent, name, "invite", agreement=aid)
            if status == "rejected":
                self.event(accepted, student[2], "reject", agreement=aid)
            elif status == "expired":
                self.event(expires, "系统", "expire", "超过应约有效期未反馈", agreement=aid)
            elif accepted:
                self.event(accepted, student[2], "accept", agreement=aid)
        reviewer = f"{school['name']}（审核老师）"
        if certified:
            self.event(certified, reviewer, "certify", agreement=aid)
        if status == "declined":
            self.event(reviewed, reviewer, "decline", review_reason, agreement=aid)
        return aid

    def outcomes(self):
        r = self.rng
        now = self.now
        start = self.season_start
        cdf = np.cumsum(self.employer_p)
        pool, pos = [], [0]

        def emp_choice(k):
            """k distinct employers (R3), drawn with the Zipf-like weights from a pre-drawn pool."""
            out = []
            while len(out) < k:
                if pos[0] >= len(pool):
                    pool[:] = np.minimum(np.searchsorted(cdf, self.np.random(200_000)), self.n_offering - 1).tolist()
                    pos[0] = 0
                e = pool[pos[0]]
                pos[0] += 1
                if e not in out:
                    out.append(e)
            return out
        employers = self.employer_rows
        may_sign = [s for s in self.student_rows if s[3]]
        # Other offers per student who may sign, Poisson around what is left of 3 per graduate.
        expected_outcome_offers = 0.47 * len(may_sign)
        lam = max(0.0, (self.n_offers_target - expected_outcome_offers) / max(1, len(may_sign)))
        extra = self.np.poisson(lam, size=len(self.student_rows))
        invite_pairs = set()
        for idx, st in enumerate(self.student_rows):
            school = self.school_rows[st[1]]
            u = r.random()
            if not st[3]:  # may not sign (R7): at most a destination
                if u < 0.3:
                    self.destination(st, school, r.random() < 0.8)
                continue
            k_extra = int(extra[idx])
            if u < 0.36:
                outcome = "cert_e"
            elif u < 0.41:
                outcome = "acc_e"
            elif u < 0.45:
                outcome = "cert_p"
            elif u < 0.46:
                outcome = "acc_p"
            elif u < 0.62:
                outcome = "dest_ok"
            elif u < 0.66:
                outcome = "dest_sub"
            else:
                outcome = "none"
            n_e = k_extra + (1 if outcome in ("cert_e", "acc_e") else 0)
            terminated = outcome == "cert_e" and r.random() < 0.03  # had one terminated before
            declined = outcome in ("none", "cert_e") and r.random() < 0.02
            n_e += int(terminated) + int(declined)
            picks = [employers[int(i)] for i in emp_choice(n_e)] if n_e else []
            for e in picks:
                invite_pairs.add((e[0], st[0]))
            # The old, terminated agreement (R12: the student's one approved termination).
            if terminated:
                e = picks.pop()
                sent = self.rand_time(start, now - timedelta(days=90))
                acc = sent + timedelta(hours=r.randint(2, 48))
                cert = acc + timedelta(days=r.randint(1, 6))
                aid = self.agreement(kind="electronic", status="terminated", student=st, school=school, employer=e,
                                     sent=sent, accepted=acc, certified=cert, reviewed=cert)
                self.termination(aid, st, school, e, cert, "approved", paper=False)
            if declined:
                e = picks.pop()
                sent = self.rand_time(start, now - timedelta(days=60))
                acc = sent + timedelta(hours=r.randint(2, 48))
                rev = acc + timedelta(days=r.randint(1, 6))
                self.agreement(kind="electronic", status="declined", student=st, school=school, employer=e,
                               sent=sent, accepted=acc, reviewed=rev, review_reason="协议书信息与学生实际不符，请核对后重新签约")
            if outcome in ("cert_e", "acc_e"):
                e = picks.pop()
                if outcome == "cert_e":
                    sent = self.rand_time(start, now - timedelta(days=12))
                    acc = sent + timedelta(hours=r.randint(2, 96))
                    cert = min(acc + timedelta(days=r.randint(1, 7)), now - timedelta(hours=1))
                    aid = self.agreement(kind="electronic", status="certified", student=st, school=school,
                                         employer=e, sent=sent, accepted=acc, certified=cert, reviewed=cert)
                    if not terminated and r.random() < 0.03:
                        self.termination(aid, st, school, e, cert, r.choice(("refused", "requested", "agreed")),
                                         paper=False)
                else:
                    sent = self.rand_time(now - timedelta(days=14), now - timedelta(hours=3))
                    acc = min(sent + timedelta(hours=r.randint(2, 48)), now - timedelta(minutes=30))
                    self.agreement(kind="electronic", status="accepted", student=st, school=school, employer=e,
                                   sent=sent, accepted=acc)
            elif outcome in ("cert_p", "acc_p"):
                pe = employers[r.randrange(len(employers))]
                sent = self.rand_time(start, now - timedelta(days=3))
                if outcome == "cert_p":
                    cert = min(sent + timedelta(days=r.randint(1, 10)), now - timedelta(hours=1))
                    aid = self.agreement(kind="paper", status="certified", student=st, school=school, employer=None,
                                         sent=sent, accepted=sent, certified=cert, reviewed=cert, paper_employer=pe)
                    if r.random() < 0.02:
                        self.termination(aid, st, school, None, cert, "agreed", paper=True)
                else:
                    self.agreement(kind="paper", status="accepted", student=st, school=school, employer=None,
                                   sent=sent, accepted=sent, paper_employer=pe)
            elif outcome in ("dest_ok", "dest_sub"):
                self.destination(st, school, outcome == "dest_ok")
            # The other offers: answered, expired or still open (distinct employers, R3).
            for e in picks:
                v = r.random()
                if v < 0.15:  # still pending: sent within its feedback window
                    sent = self.rand_time(now - timedelta(days=4), now - timedelta(minutes=5))
                    self.agreement(kind="electronic", status="pending", student=st, school=school, employer=e,
                                   sent=sent)
                elif v < 0.55:
                    sent = self.rand_time(start, now - timedelta(days=1))
                    ans = min(sent + timedelta(hours=r.randint(1, 100)), now)
                    self.agreement(kind="electronic", status="rejected", student=st, school=school, employer=e,
                                   sent=sent, accepted=ans)
                else:
                    sent = self.rand_time(start, now - timedelta(days=12))
                    self.agreement(kind="electronic", status="expired", student=st, school=school, employer=e,
                                   sent=sent)
        for e_id, s_id in sorted(invite_pairs):
            self.t["invite_list_entry"].add(self.next_id("invite_list_entry"), e_id, s_id,
                                            sec(self.season_start))

    def termination(self, aid, st, school, employer, certified, status, paper):
        r = self.rng
        tid = self.next_id("termination")
        initiator = "student" if paper or r.random() < 0.6 else "employer"
        created = self.rand_time(certified + timedelta(days=1), max(self.now - timedelta(hours=2), certified + timedelta(days=2)))
        created = min(created, self.now - timedelta(hours=1))
        agreed = created if paper else (created + timedelta(days=r.randint(0, 3)) if status != "requested" else None)
        if agreed:
            agreed = min(agreed, self.now - timedelta(minutes=30))
        reviewed = min(agreed + timedelta(days=r.randint(0, 5)), self.now) if status in ("approved", "refused") else None
        reason = "个人原因，经双方协商一致解除协议" if initiator == "student" else "岗位调整，经双方协商一致解除协议"
        self.t["termination"].add(
            tid, aid, st[0], school["id"], employer[0] if employer else None, initiator, reason,
            f"termination/bench-{tid}.pdf" if paper else None, status,
            "解约理由不充分" if status == "refused" else None, sec(created), sec(agreed) if agreed else None,
            sec(reviewed) if reviewed else None, sec(reviewed or agreed or created))
        who = st[2] if initiator == "student" else employer[1]
        other = employer[1] if initiator == "student" and employer else st[2]
        self.event(created, who, "termination_request", reason, agreement=aid, termination=tid)
        if agreed and not paper:
            self.event(agreed, other, "termination_agree", None, agreement=aid, termination=tid)
        reviewer = f"{school['name']}（审核老师）"
        if status == "approved":
            self.event(reviewed, reviewer, "termination_approve", None, agreement=aid, termination=tid)
        elif status == "refused":
            self.event(reviewed, reviewer, "termination_refuse", "解约理由不充分", agreement=aid, termination=tid)

    def destination(self, st, school, approved):
        r = self.rng
        kinds, weights = [k[0] for k in DEST_KINDS], [k[1] for k in DEST_KINDS]
        # Some students had one declined or withdrawn before (not live, R6 allows it).
        history = r.random() < 0.05
        for live in ((False, True) if history else (True,)):
            did = self.next_id("destination")
            kind = r.choices(kinds, weights)[0]
            details = json.dumps(self.dest_details(kind), ensure_ascii=False)
            created = self.rand_time(self.season_start + timedelta(days=60), self.now - timedelta(hours=2))
            if live:
                status = "approved" if approved else "submitted"
            else:
                status = r.choice(("declined", "withdrawn"))
            reviewed = min(created + timedelta(days=r.randint(1, 7)), self.now) if status in ("approved", "declined") else None
            self.t["destination"].add(
                did, st[0], school["id"], kind, details, f"destination/bench-{did}.pdf" if kind != "76" else None,
                status, "证明材料不清晰" if status == "declined" else None, sec(created),
                sec(reviewed) if reviewed else None, sec(reviewed or created))
            self.event(created, "学生本人", "destination_submit", None, destination=did)
            if status == "approved":
                self.event(reviewed, f"{school['name']}（审核老师）", "destination_approve", destination=did)
            elif status == "declined":
                self.event(reviewed, f"{school['name']}（审核老师）", "destination_decline", "证明材料不清晰",
                           destination=did)
            elif status == "withdrawn":
                self.event(created + timedelta(hours=3), "学生本人", "destination_withdraw", destination=did)

    def dest_details(self, kind):
        r = self.rng
        region = r.choice(HUBEI + OTHER)
        return {
            "80": {"school": r.choice(["武汉大学", "华中科技大学", "华中师范大学", "武汉理工大学"]),
                   "major": "计算机科学与技术", "level": r.choice(["硕士研究生", "博士研究生", "专升本"])},
            "85": {"country": r.choice(["英国", "澳大利亚", "新加坡", "中国香港"]), "institution": "某大学", "purpose": "留学"},
            "75": {"company": "武汉创业示例有限公司", "credit_code": self.employer_rows[0][2], "region": region},
            "76": {"occupation": "自媒体运营", "region": region},
            "46": {"region": region, "enlisted_on": f"{self.year}-09-01"},
            "50": {"project": "三支一扶", "region": region},
            "51": {"project": "湖北省大学生村官", "region": region},
            "27": {"institution": "武汉大学", "project": "国家重点研发计划课题组", "region": region},
            "11": {"company": "武汉示例劳务有限公司", "credit_code": self.employer_rows[0][2], "region": region,
                   "contract_start": f"{self.year}-07-01"},
            "12": {"company": "某示例单位", "region": region},
        }[kind]

    def logins(self, role_ids, password_hash):
        r = self.rng
        t = self.t["ab_user"]
        now = sec(self.now)
        self.login_names = {"student": [], "employer": [], "school": [], "province": []}

        def add(username, first, last, role, student=None, employer=None, school=None):
            uid = self.next_id("ab_user")
            t.add(uid, first, last, username, password_hash, True, f"{username}@bench.example.org", 0, 0, now, now,
                  student, employer, school, False)
            self.t["ab_user_role"].add(self.next_id("ab_user_role"), uid, role_ids[role])
            self.login_names[role].append(username)

        add("bench-province", "中心", "省", "province")
        for s in self.school_rows:
            for k in (1, 2):
                add(f"r{s['code']}-{k}", "老师", "审", "school", school=s["id"])
        for e in self.employer_rows:
            add(f"e{e[2]}", "经理", "人", "employer", employer=e[0])
        for sid, si, name, may_sign, student_no in self.student_rows:
            if may_sign and r.random() < self.student_logins:
                add(f"{self.school_rows[si]['code']}-{student_no}", name[1:], name[:1], "student", student=sid)


# ---------------------------------------------------------------- database plumbing

LOADED = ["school", "student", "employer", "employer_approval", "agreement", "invite_list_entry", "termination",
          "destination", "flow_event", "number_counter", "ab_user", "ab_user_role"]


def reset_and_migrate(url):
    log("reset: DROP SCHEMA public CASCADE, flask db upgrade, flask roles sync")
    with psycopg.connect(pg_url(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    env = dict(os.environ, DATABASE_URL=url, FLASK_APP="app:create_app", PYTHONPATH=ROOT)
    flask = os.path.join(ROOT, ".venv", "bin", "flask")
    for cmd in (["db", "upgrade"], ["roles", "sync"]):
        subprocess.run([flask, *cmd], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def rebuild_summary(url):
    """`flask stats rebuild`: the statistics summary from the loaded tables (the COPYs filled its
    change log through the triggers; the rebuild empties it). Returns the seconds it took."""
    t0 = time.perf_counter()
    env = dict(os.environ, DATABASE_URL=url, FLASK_APP="app:create_app", PYTHONPATH=ROOT, APP_ENV="development")
    out = subprocess.run([os.path.join(ROOT, ".venv", "bin", "flask"), "stats", "rebuild"], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True).stdout
    log(out.strip())
    return time.perf_counter() - t0


def drop_secondary(conn):
    """Drop FKs, unique constraints and plain indexes of the loaded tables; return how to recreate them."""
    tables = list(LOADED)
    fks = conn.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
           WHERE contype = 'f' AND (conrelid::regclass::text = ANY(%s) OR confrelid::regclass::text = ANY(%s))""",
        (tables, tables)).fetchall()
    uniques = conn.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
           WHERE contype = 'u' AND conrelid::regclass::text = ANY(%s)""", (tables,)).fetchall()
    indexes = conn.execute(
        """SELECT t.relname, i.relname, pg_get_indexdef(i.oid) FROM pg_index x
           JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
           WHERE t.relname = ANY(%s) AND NOT x.indisprimary
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)""", (tables,)).fetchall()
    for table, name, _ in fks + uniques:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for _table, name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    return fks, uniques, indexes


def run_parallel(jobs, workers=2):
    """Run callables on `workers` threads (each opens its own connection)."""
    errors = []
    pending = list(jobs)
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                job = pending.pop(0)
            try:
                job()
            except BaseException as e:  # noqa: BLE001 - re-raised below
                errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def execute(url, sql):
    with psycopg.connect(pg_url(url), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute(sql)


# R9, set-based after the COPY: per school and graduation year, in certification order.
NUMBERING_SQL = [
    """WITH n AS (
         SELECT a.id, a.kind, s.code, st.graduation_year AS year,
                row_number() OVER (PARTITION BY a.school_id, st.graduation_year ORDER BY a.certified_at, a.id) AS seq
         FROM agreement a JOIN school s ON s.id = a.school_id JOIN student st ON st.id = a.student_id
         WHERE a.status IN ('certified', 'terminated'))
       UPDATE agreement a
       SET number = CASE WHEN n.kind = 'electronic' THEN '1' ELSE '2' END || n.year || n.code || lpad(n.seq::text, 5, '0')
       FROM n WHERE a.id = n.id""",
    """INSERT INTO number_counter (school_id, year, last)
       SELECT a.school_id, st.graduation_year, count(*) FROM agreement a JOIN student st ON st.id = a.student_id
       WHERE a.number IS NOT NULL GROUP BY a.school_id, st.graduation_year""",
]


def finish_load(url, fks, uniques, indexes, sizes):
    """After the COPYs: numbers (R9), indexes and unique constraints, foreign keys, sequences, VACUUM ANALYZE."""
    timings = {}
    t0 = time.perf_counter()
    with psycopg.connect(pg_url(url), autocommit=True) as conn:
        for sql in NUMBERING_SQL:
            conn.execute(sql)
    timings["numbers"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ddl = [(t, f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}') for t, n, d in uniques] + [(t, d) for t, _n, d in indexes]
    ddl.sort(key=lambda td: -sizes.get(td[0], 0))  # biggest tables first: both connections finish together
    run_parallel([lambda s=s: execute(url, s) for _t, s in ddl])
    timings["indexes"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_parallel([lambda t=t, n=n, d=d: execute(url, f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}') for t, n, d in fks])
    timings["foreign_keys"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with psycopg.connect(pg_url(url), autocommit=True) as conn:
        for name in (n for n in LOADED if n != "number_counter"):
            seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (name,)).fetchone()[0]
            if seq is None and conn.execute("SELECT to_regclass(%s)", (f"{name}_id_seq",)).fetchone()[0]:
                seq = f"{name}_id_seq"  # FAB's tables use named sequences, not a column default
            if seq:
                conn.execute(f"SELECT setval('{seq}', (SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)")
    run_parallel([lambda n=n: execute(url, f"VACUUM ANALYZE {n}") for n in sorted(LOADED, key=lambda n: -sizes[n])])
    timings["sequences_vacuum_analyze"] = time.perf_counter() - t0
    return timings


INVARIANTS = {
    "R6 students with two live outcomes": """
        SELECT count(*) FROM (SELECT student_id FROM (
            SELECT student_id FROM agreement WHERE status IN ('accepted', 'certified')
            UNION ALL SELECT student_id FROM destination WHERE status IN ('submitted', 'approved')) x
          GROUP BY student_id HAVING count(*) > 1) y""",
    "R3 duplicate pending offers": """
        SELECT count(*) FROM (SELECT 1 FROM agreement WHERE status = 'pending'
          GROUP BY employer_id, student_id HAVING count(*) > 1) y""",
    "R9 duplicate numbers": "SELECT count(*) FROM (SELECT number FROM agreement WHERE number IS NOT NULL "
                            "GROUP BY number HAVING count(*) > 1) y",
    "R9 certified without number": "SELECT count(*) FROM agreement WHERE status IN ('certified', 'terminated') "
                                   "AND number IS NULL",
    "R9 counter behind the numbers": """
        SELECT count(*) FROM number_counter c WHERE c.last < (SELECT COALESCE(MAX(CAST(right(a.number, 5) AS int)), 0)
          FROM agreement a WHERE a.school_id = c.school_id AND a.number IS NOT NULL)""",
    "R11 two open terminations": "SELECT count(*) FROM (SELECT agreement_id FROM termination WHERE status IN "
                                 "('requested', 'agreed') GROUP BY agreement_id HAVING count(*) > 1) y",
    "R12 students over the termination limit": "SELECT count(*) FROM (SELECT student_id FROM termination "
                                               "WHERE status = 'approved' GROUP BY student_id HAVING count(*) > 1) y",
    "R4 pending offers past their deadline": "SELECT count(*) FROM agreement WHERE status = 'pending' AND expires_at <= %(now)s",
}


def check_invariants(url, now=None):
    out = {}
    with psycopg.connect(pg_url(url)) as conn:
        for label, sql in INVARIANTS.items():
            if "%(now)s" in sql:
                if now is None:
                    continue
                out[label] = conn.execute(sql, {"now": now}).fetchone()[0]
            else:
                out[label] = conn.execute(sql).fetchone()[0]
    return out


def orm_baseline(url, province, n=3000):
    """The naive way: ORM objects + session.add_all + flush (SQLAlchemy's batched INSERTs), rolled back.
    Rows/s of agreements (the widest big table) to compare with COPY's."""
    os.environ["DATABASE_URL"] = url
    from app import create_app
    from app.extensions import db
    from app.models import Agreement

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "APP_ENV": "development"})
    cols = province.t["agreement"].columns
    rows = []
    for line in province.t["agreement"].sample[:n]:
        values = dict(zip(cols, [None if v == "\\N" else v for v in line.split("\t")]))
        values.pop("id")
        values["number"] = None  # the copies must not collide with the loaded numbers
        values["status"] = "rejected" if values["status"] in ("pending", "accepted", "certified") else values["status"]
        for k in ("student_id", "school_id", "employer_id", "feedback_days", "probation_days", "probation_salary",
                  "salary", "penalty"):
            values[k] = int(values[k]) if values[k] is not None else None
        for k in ("sent_at", "expires_at", "accepted_at", "answered_at", "certified_at", "reviewed_at", "updated_at"):
            values[k] = datetime.fromisoformat(values[k]) if values[k] else None
        values["report_deadline"] = date.fromisoformat(values["report_deadline"])
        rows.append(values)
    with app.app_context():
        t0 = time.perf_counter()
        db.session.add_all([Agreement(**v) for v in rows])
        db.session.flush()
        elapsed = time.perf_counter() - t0
        db.session.rollback()
    return len(rows) / elapsed, elapsed


# ---------------------------------------------------------------- results table (bench/README.md)

README = os.path.join(HERE, "README.md")
RESULTS_MARK = "<!-- results: benchmarks append rows below -->"


def record_result(figure, value, target, ratio, command):
    """Append one row to the results table of bench/README.md."""
    row = f"| {date.today().isoformat()} | {figure} | {value} | {target} | {ratio} | `{command}` |\n"
    with open(README, encoding="utf-8") as fh:
        text = fh.read()
    if RESULTS_MARK not in text:
        raise SystemExit(f"{README}: results marker missing")
    head, tail = text.split(RESULTS_MARK, 1)
    # The table follows the marker; append after its last row.
    lines = tail.split("\n")
    last = max(i for i, ln in enumerate(lines) if ln.startswith("|")) if any(ln.startswith("|") for ln in lines) else 0
    lines.insert(last + 1, row.rstrip("\n"))
    with open(README, "w", encoding="utf-8") as fh:
        fh.write(head + RESULTS_MARK + "\n".join(lines))


# ---------------------------------------------------------------- main

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--year", type=int, help="graduation year (default: the class whose season is running)")
    p.add_argument("--now", help="the snapshot instant, naive UTC (default: now, so pending offers are live "
                                 "for the load test)")
    p.add_argument("--student-logins", type=float, default=0.1, help="share of signable students with a login")
    p.add_argument("--reset", action="store_true", help="DROP the public schema and migrate first")
    p.add_argument("--baseline", type=int, default=3000, help="agreements for the ORM baseline (0: skip)")
    p.add_argument("--record", action="store_true", help="append the result to bench/README.md")
    args = p.parse_args(argv)
    if not args.database_url or not args.database_url.startswith("postgresql"):
        p.error("--database-url postgresql+psycopg://… is required (PostgreSQL only: COPY)")
    if args.database_url.rstrip("/").rsplit("/", 1)[-1] in ("test", "postgres"):
        p.error("refusing to load into the database 'test' or 'postgres'")
    url = args.database_url
    now = datetime.fromisoformat(args.now) if args.now else datetime.utcnow().replace(microsecond=0)
    args.year = args.year or (now.year + 1 if now.month >= 9 else now.year)

    t_all = time.perf_counter()
    if args.reset:
        reset_and_migrate(url)
    t_start = time.perf_counter()
    with psycopg.connect(pg_url(url)) as conn:
        if conn.execute("SELECT count(*) FROM school").fetchone()[0]:
            raise SystemExit("the database already holds schools: use --reset (it drops everything)")
        role_ids = dict(conn.execute("SELECT name, id FROM ab_role").fetchall())
    missing = {"student", "employer", "school", "province"} - set(role_ids)
    if missing:
        raise SystemExit(f"roles missing ({missing}): run `flask roles sync` (or use --reset)")

    from werkzeug.security import generate_password_hash
    province = Province(args.scale, args.seed, args.year, now, args.student_logins)
    with psycopg.connect(pg_url(url), autocommit=True) as conn:
        fks, uniques, indexes = drop_secondary(conn)
    t0 = time.perf_counter()
    for table in province.t.values():
        table.start(url)
    province.schools()
    province.students()
    log(f"students: {province.n_students} in {province.n_schools} schools ({time.perf_counter() - t0:.1f} s)")
    province.employers()
    province.outcomes()
    province.logins(role_ids, generate_password_hash(BENCH_PASSWORD, method="pbkdf2:sha256:1000"))
    t_gen = time.perf_counter() - t0
    for table in province.t.values():
        table.finish()
    t_copy = time.perf_counter() - t0
    counts = {n: province.t[n].count for n in LOADED}
    log(f"generated in {t_gen:.1f} s, COPY done at {t_copy:.1f} s: " + ", ".join(f"{n}={c}" for n, c in counts.items()))
    timings = {"generate_and_copy": t_copy}
    timings.update(finish_load(url, fks, uniques, indexes, counts))
    timings["statistics_summary"] = rebuild_summary(url)
    with psycopg.connect(pg_url(url)) as conn:
        counts["number_counter"] = conn.execute("SELECT count(*) FROM number_counter").fetchone()[0]
        counts["numbers"] = conn.execute("SELECT count(*) FROM agreement WHERE number IS NOT NULL").fetchone()[0]
    t_load = sum(timings.values())
    log("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        + f" ({len(indexes) + len(uniques)} indexes/unique constraints rebuilt, {len(fks)} foreign keys validated)")
    total = time.perf_counter() - t_start
    rows = sum(v for k, v in counts.items() if k in LOADED)
    invariants = check_invariants(url, now)
    log("invariants: " + ", ".join(f"{k}: {v}" for k, v in invariants.items()))
    bad = {k: v for k, v in invariants.items() if v and not k.startswith("R4")}
    copy_rate = rows / t_copy
    result = {"scale": args.scale, "seed": args.seed, "rows": counts, "rows_total": rows,
              "generate_s": round(t_gen, 1), "timings_s": {k: round(v, 1) for k, v in timings.items()},
              "total_s": round(total, 1), "with_reset_s": round(time.perf_counter() - t_all, 1),
              "copy_rows_per_s": round(copy_rate), "invariants": invariants}
    if args.baseline:
        orm_rate, orm_s = orm_baseline(url, province, args.baseline)
        result["orm_rows_per_s"] = round(orm_rate)
        result["copy_vs_orm"] = round(copy_rate / orm_rate, 1)
        log(f"baseline: ORM add_all+flush {args.baseline} agreements in {orm_s:.2f} s = {orm_rate:.0f} rows/s; "
            f"COPY {copy_rate:.0f} rows/s ({copy_rate / orm_rate:.1f}×)")
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.record:
        record_result(f"generate --scale {args.scale}: {rows:,} rows (students {counts['student']:,}, offers "
                      f"{counts['agreement']:,}, flow events {counts['flow_event']:,})",
                      f"{total:.0f} s (generate+COPY {t_copy:.0f} s, then {t_load - t_copy:.0f} s numbers/indexes/FKs/vacuum)",
                      "≤ 300 s at full scale", f"COPY {result.get('copy_vs_orm', '-')}× ORM rows/s",
                      f"bench/generate.py --reset --scale {args.scale}")
    if bad:
        raise SystemExit(f"invariants violated: {bad}")
    return result


if __name__ == "__main__":
    main()
