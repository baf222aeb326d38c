"""网上就业市场 factories: a posting's valid fields, a posting in a state, an application.

    posting_values(**overrides)          the form fields of a valid posting (deadline 30 days after NOW)
    make_posting(employer, status="open", now=NOW, **overrides)
                                         draft | open | offline (published, then 下线) | closed (by the job)
    make_application(student, posting, now=…)   one application, an hour after NOW
"""
from datetime import timedelta

from tests.support.factories import NOW


def posting_values(**overrides):
    from app import labels

    values = dict(title="Python后端开发工程师", job_category=labels.JOB_CATEGORY[0], headcount=3, region="420111",
                  salary_min=9000, salary_max=15000, education="本科生毕业", major="计算机类相关专业",
                  major_class="工学", deadline=(NOW + timedelta(days=30)).date().isoformat(),
                  description="负责网签系统的后端开发。\n熟悉 Flask 与 PostgreSQL。", contact_name="王经理",
                  contact_phone="027-87654321")
    values.update(overrides)
    return values


def make_posting(employer, status="open", now=None, **overrides):
    from app.workflow import market

    now = now or NOW
    posting = market.create_posting(employer, posting_values(**overrides), publish=status != "draft", now=now)
    if status == "offline":
        posting = market.close_posting(employer, posting, now=now + timedelta(minutes=1))
    elif status == "closed":
        market.close_due(now=now + timedelta(days=40))
    return posting


def make_application(student, posting, now=None, note="贵单位好，我对该岗位很感兴趣。"):
    from app.workflow import market

    return market.apply(student, posting, note, now=now or NOW + timedelta(hours=1))
