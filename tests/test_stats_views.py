"""Dashboards: who sees what, numbers on the page, constant query count."""
import pytest
from tests.support.checks import statements
from tests.support.factories import make_school, make_student, make_user


def test_province_dashboard_shows_every_school_and_the_rate_definition(stats_world, client, login):
    make_user("province", username="prov")
    login(client, "prov")
    page = client.get("/stats/province/?year=2026").get_data(as_text=True)
    assert "武汉大学" in page and "华中科技大学" in page
    assert "44.4%" in page  # 4 ÷ 9
    assert "就业率（毕业去向落实率）" in page
    assert "<svg" in page and "cdn" not in page.lower()


def test_province_dashboard_school_filter(stats_world, client, login):
    make_user("province", username="prov")
    login(client, "prov")
    page = client.get(f"/stats/province/?year=2026&school_id={stats_world['b'].id}").get_data(as_text=True)
    assert "华中科技大学" in page and "50.0%" in page and "42.9%" not in page


def test_province_home_lists_schools(stats_world, client, login):
    make_user("province", username="prov")
    login(client, "prov")
    page = client.get("/province/").get_data(as_text=True)
    assert "各校签约概况" in page and "42.9%" in page and "50.0%" in page


def test_school_dashboard_shows_only_its_own_school(stats_world, client, login):
    make_user("school", stats_world["b"], username="rev-b")
    login(client, "rev-b")
    # A school_id in the URL is ignored: the reviewer's own school is forced.
    page = client.get(f"/stats/school/?year=2026&school_id={stats_world['a'].id}").get_data(as_text=True)
    assert "华中科技大学" in page
    assert "武汉大学" not in page and "数学学院" not in page
    assert "50.0%" in page


def test_bad_filter_is_reported_in_chinese(stats_world, client, login):
    make_user("province", username="prov")
    login(client, "prov")
    page = client.get("/stats/province/?year=abcd&date_from=2026-02-30").get_data(as_text=True)
    assert "毕业年度应为四位年份" in page and "起始日期格式应为" in page


@pytest.mark.parametrize("role", ["student", "employer", "school"])
def test_province_dashboard_hidden_from_other_roles(stats_world, client, login, role):
    party = {"student": stats_world["s"][0], "employer": stats_world["e1"], "school": stats_world["a"]}[role]
    make_user(role, party, username=f"u-{role}")
    login(client, f"u-{role}")
    for url in ("/stats/province/", "/stats/province/workbook"):
        r = client.get(url)
        assert r.status_code == 403 and "武汉大学" not in r.get_data(as_text=True), url


@pytest.mark.parametrize("role", ["student", "employer"])
def test_school_dashboard_hidden_from_students_and_employers(stats_world, client, login, role):
    party = {"student": stats_world["s"][0], "employer": stats_world["e1"]}[role]
    make_user(role, party, username=f"u-{role}")
    login(client, f"u-{role}")
    r = client.get("/stats/school/")
    assert r.status_code == 403 and "数学学院" not in r.get_data(as_text=True)


def _count_queries(app, client, url):
    with statements() as sql:
        assert client.get(url).status_code == 200
    return len(sql)


def test_dashboard_query_count_does_not_grow_with_data(app, client, login, monkeypatch):
    monkeypatch.setitem(app.config, "STATS_CACHE_SECONDS", 0)  # count the SQL, not the cache
    from tests.support.factories import accepted_offer, make_employer

    a = make_school("10486", "武汉大学")
    make_user("province", username="prov")
    login(client, "prov")
    make_student(a)
    url = "/stats/province/?year=2026"
    client.get(url)  # warm-up (first request loads permissions)
    # one graduate and one offer in the summary's log: the read applies them (app.summary.fresh)
    accepted_offer(make_employer(approved_by=a), make_student(a))
    small = _count_queries(app, client, url)
    for code in ("10487", "10488", "10489"):
        school = make_school(code, f"学校{code}")
        employer = make_employer(approved_by=school)
        for i in range(6):
            student = make_student(school, department=f"院系{i % 3}", major=f"专业{i}")
            if i % 2:
                accepted_offer(employer, student)
    big = _count_queries(app, client, url)  # 36 changes in the log, applied set-based: the same statements
    assert big == small
    assert small <= 30  # the statements of one refresh (PostgreSQL adds its advisory locks) and the page
    assert _count_queries(app, client, url) <= 10  # nothing to apply: the summary only


def test_statistics_are_live_and_say_when(app, client, login):
    """The summary (app.summary): a new graduate counts at the next visit — no per-process cache —
    and the page says when its figures stand; a date-range view (computed from the base tables)
    is kept for STATS_CACHE_SECONDS per filter set."""
    a = make_school("10486", "武汉大学")
    make_user("province", username="prov")
    login(client, "prov")
    make_student(a)
    url = "/stats/province/?year=2026"
    first = client.get(url).get_data(as_text=True)
    assert "统计时间：" in first and "统计数据每分钟更新" in first
    make_student(a)
    assert _graduates(first) == "1" and _graduates(client.get(url).get_data(as_text=True)) == "2"
    ranged = "/stats/province/?year=2026&date_from=2026-01-01"
    assert _graduates(client.get(ranged).get_data(as_text=True)) == "2"
    make_student(a)
    assert _graduates(client.get(ranged).get_data(as_text=True)) == "2"  # kept for a while
    assert _graduates(client.get(url).get_data(as_text=True)) == "3"


def _graduates(html):
    import re

    return re.search(r'<div class="num">(\d+)</div><div class="cap">毕业生人数', html).group(1)
