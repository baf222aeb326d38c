"""Statistics numbers equal hand counts on the fixed data set of tests/support/stats_world.py."""
from datetime import date

import pytest



def table(frame, key_cols, value_cols):
    key_cols = [key_cols] if isinstance(key_cols, str) else key_cols
    out = {}
    for row in frame.to_dict("records"):
        key = row[key_cols[0]] if len(key_cols) == 1 else tuple(row[k] for k in key_cols)
        out[key] = tuple(int(row[c]) for c in value_cols)
    return out


def dash(**kw):
    from app import stats

    return stats.dashboard(stats.Filters(**kw))


def test_summary_counts_each_outcome_and_rate_counts_only_confirmed(stats_world):
    s = dash(year=2026)["summary"]
    assert (s["graduates"], s["employed"], s["pending"]) == (9, 4, 2)
    assert (s["electronic"], s["paper"], s["other"], s["unemployed"]) == (3, 1, 2, 3)
    # 就业率: certified agreements + approved destinations (s1, s3, s4, t1) ÷ all graduates.
    assert s["rate"] == pytest.approx(4 / 9)


def test_rate_definition_is_confirmed_over_graduates():
    import pandas as pd

    from app import stats

    assert stats.rate(3, 4) == 0.75
    assert stats.rate(0, 0) == 0.0
    assert list(stats.rate(pd.Series([1, 0]), pd.Series([2, 0]))) == [0.5, 0.0]


def test_dashboard_by_school_equals_hand_counts(stats_world):
    t = table(dash(year=2026)["by_school"], "school_code",
              ["graduates", "employed", "pending", "electronic", "paper", "other", "unemployed"])
    assert t == {"10486": (7, 3, 2, 2, 1, 2, 2), "10487": (2, 1, 0, 1, 0, 0, 1)}


def test_dashboard_by_department_and_major_equals_hand_counts(stats_world):
    d = dash(year=2026)
    assert table(d["by_department"], ["school_name", "department"], ["graduates", "employed"]) == {
        ("武汉大学", "计算机学院"): (5, 1), ("武汉大学", "数学学院"): (2, 2), ("华中科技大学", "计算机学院"): (2, 1)}
    assert table(d["by_major"], ["school_name", "major"], ["graduates", "employed", "pending", "unemployed"]) == {
        ("武汉大学", "软件工程"): (3, 1, 1, 1), ("武汉大学", "网络工程"): (2, 0, 1, 1),
        ("武汉大学", "数学"): (2, 2, 0, 0), ("华中科技大学", "软件工程"): (2, 1, 0, 1)}


def test_dashboard_by_education_and_gender_equals_hand_counts_in_manual_order(stats_world):
    d = dash(year=2026)
    assert table(d["by_education"], "education", ["graduates", "employed"]) == {
        "硕士生毕业": (2, 2), "本科生毕业": (6, 2), "专科生毕业": (1, 0)}
    assert list(d["by_education"]["education"]) == ["硕士生毕业", "本科生毕业", "专科生毕业"]  # manual order
    assert table(d["by_gender"], "gender", ["graduates", "employed", "pending"]) == {"男": (5, 3, 1), "女": (4, 1, 1)}


def test_dashboard_by_employer_nature_finds_paper_employer_by_credit_code(stats_world):
    # s3's paper agreement has no employer_id (R13); its credit code is E2's, a 国有企业.
    t = table(dash(year=2026)["by_nature"], "nature", ["count", "employed", "pending", "electronic", "paper"])
    assert t == {"其他企业": (2, 2, 0, 2, 0), "国有企业": (2, 1, 1, 1, 1)}


def test_dashboard_by_work_region_groups_province_and_city(stats_world):
    d = dash(year=2026)
    assert table(d["by_province"], "province", ["count", "employed"]) == {"湖北省": (3, 3), "北京市": (1, 0)}
    assert table(d["by_city"], ["province", "city"], ["count"]) == {("湖北省", "武汉市"): (3,), ("北京市", "北京市"): (1,)}


def test_dashboard_by_outcome_lists_every_kind(stats_world):
    from app import labels

    frame = dash(year=2026)["by_outcome"]
    t = table(frame, "outcome", ["count", "employed", "pending"])
    assert t["电子签约"] == (3, 2, 1) and t["纸质签约"] == (1, 1, 0)
    assert t["升学"] == (1, 1, 0) and t["出国、出境"] == (1, 0, 1)
    assert t["未就业"] == (3, 0, 0)
    assert t["自主创业"] == (0, 0, 0)
    assert len(frame) == 2 + len(labels.DESTINATION_KIND) + 1
    assert dict(zip(frame["outcome"], frame["moe_code"]))["未就业"] == "70"
    assert frame["share"].sum() == pytest.approx(1.0)


def test_dashboard_daily_activity_counts_each_step_on_its_day(stats_world):
    t = table(dash(year=2026)["daily"], "day", ["sent", "accepted", "certified", "terminated"])
    assert t == {"2026-05-11": (4, 3, 2, 0), "2026-05-12": (1, 2, 1, 0), "2026-05-13": (0, 0, 1, 0),
                 "2026-05-14": (0, 0, 0, 1)}


def test_filters_year_school_and_dates(stats_world):
    assert dash()["summary"]["graduates"] == 10  # every year: the 2025 graduate too
    assert dash(year=2025)["summary"]["graduates"] == 1
    b = dash(year=2026, school_id=stats_world["b"].id)
    assert (b["summary"]["graduates"], b["summary"]["employed"]) == (2, 1)
    assert set(b["by_school"]["school_code"]) == {"10487"}
    assert table(b["daily"], "day", ["sent"]) == {"2026-05-12": (1,)}
    # Only outcomes that became live by 2026-05-11 count: s1 certified, s2 accepted.
    early = dash(year=2026, date_to=date(2026, 5, 11))
    assert (early["summary"]["employed"], early["summary"]["pending"], early["summary"]["unemployed"]) == (1, 1, 7)
    assert list(early["daily"]["day"]) == ["2026-05-11"]
    late = dash(year=2026, date_from=date(2026, 5, 13))
    assert table(late["daily"], "day", ["certified", "terminated"]) == {"2026-05-13": (1, 0), "2026-05-14": (0, 1)}


def test_filters_parse_reports_bad_input():
    from app.stats import Filters

    f, errors = Filters.parse({"year": "20x6", "date_from": "2026-13-01", "date_to": "2026-05-01"})
    assert f.year is None and f.date_from is None and len(errors) == 2
    f, errors = Filters.parse({"date_from": "2026-06-01", "date_to": "2026-05-01"})
    assert errors == ["起始日期不能晚于截止日期"] and f.date_from is None
    f, errors = Filters.parse({"year": "2026", "school_id": "7"}, school_id=3)  # a reviewer's school wins
    assert (f.year, f.school_id, errors) == (2026, 3, [])


def test_empty_database_gives_zero_tables():
    from app import stats

    d = stats.dashboard(stats.Filters(year=2026))
    assert d["summary"]["graduates"] == 0 and d["summary"]["rate"] == 0.0
    assert d["by_school"].empty and d["daily"].empty
    assert int(d["by_outcome"]["count"].sum()) == 0
