"""A small fixed data set (no tests here) for the statistics, export and console tests, hand-counted there.

School A (10486), graduation year 2026:
  s1 男 本科 计算机学院/软件工程  electronic, certified     (E1 其他企业, 湖北省武汉市洪山区)  2026-05-11
  s2 女 本科 计算机学院/软件工程  electronic, accepted      (E2 国有企业, 北京市朝阳区)        2026-05-11
  s3 女 硕士 数学学院/数学        paper, certified          (credit code of E2, 湖北省武汉市江岸区) 05-12 / 05-13
  s4 男 硕士 数学学院/数学        destination 80 approved                                      05-12 / 05-13
  s5 男 本科 计算机学院/网络工程  destination 85 submitted                                     05-12
  s6 女 本科 计算机学院/网络工程  only a pending offer from E2 → 未就业
  s7 男 本科 计算机学院/软件工程  certified with E1 on 05-11, terminated 05-14 → 未就业
School A, 2025: old (nothing).
School B (10487), 2026: t1 男 本科 certified with E1 on 05-12 (sent 05-12); t2 女 专科 nothing.
"""
from tests.support.factories import (
    accepted_offer, at, certified_offer, make_employer, make_reviewer, make_school, make_student, offer, paper_terms,
    proof,
)


def build():
    from app import workflow

    a = make_school("10486", "武汉大学")
    b = make_school("10487", "华中科技大学")
    e1 = make_employer(approved_by=a, nature="39", name="光谷软件有限公司")
    e2 = make_employer(approved_by=a, nature="31", name="=HYPERLINK(\"http://x\")国企")
    ra, rb = make_reviewer(a), make_reviewer(b)
    cs = dict(department="计算机学院", major="软件工程")
    s1 = make_student(a, gender="男", name="张一", **cs)
    s2 = make_student(a, gender="女", name="李二", **cs)
    s3 = make_student(a, gender="女", name="王三", education="硕士生毕业", department="数学学院", major="数学")
    s4 = make_student(a, gender="男", name="赵四", education="硕士生毕业", department="数学学院", major="数学")
    s5 = make_student(a, gender="男", name="钱五", department="计算机学院", major="网络工程")
    s6 = make_student(a, gender="女", name="孙六", department="计算机学院", major="网络工程")
    s7 = make_student(a, gender="男", name="周七", **cs)
    old = make_student(a, gender="男", name="吴老", graduation_year=2025, **cs)
    t1 = make_student(b, gender="男", name="郑一", **cs)
    t2 = make_student(b, gender="女", name="冯二", education="专科生毕业", **cs)

    ag1 = certified_offer(e1, s1, ra, work_region="420111")
    ag2 = accepted_offer(e2, s2, work_region="110105")
    offer(e2, s6)
    ag7 = certified_offer(e1, s7, ra, work_region="420111")
    agt1 = certified_offer(e1, t1, rb, sent=at(days=1), work_region="420111")
    paper = workflow.record_paper_agreement(
        s3, paper_terms(employer_name="=HYPERLINK(\"http://x\")国企", employer_credit_code=e2.credit_code,
                        work_region="420102"), proof(), now=at(days=1))
    workflow.certify(ra, paper, now=at(days=2))
    d4 = workflow.submit_destination(s4, "80", {"school": "武汉大学", "major": "数学", "level": "博士"},
                                     proof(), now=at(days=1))
    workflow.review_destination(ra, d4, True, now=at(days=2))
    workflow.submit_destination(s5, "85", {"country": "英国", "institution": "牛津大学", "purpose": "留学"},
                                proof(), now=at(days=1))
    term = workflow.request_termination(s7, ag7, "个人原因", now=at(days=2))
    workflow.agree_termination(e1, term, now=at(days=2, hours=1))
    workflow.approve_termination(ra, term, now=at(days=3))
    return dict(a=a, b=b, e1=e1, e2=e2, ra=ra, rb=rb, s=[s1, s2, s3, s4, s5, s6, s7], old=old, t1=t1, t2=t2,
                ag1=ag1, ag2=ag2, ag7=ag7, agt1=agt1, paper=paper, d4=d4)
