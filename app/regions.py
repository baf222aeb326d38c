"""GB/T 2260 administrative division codes (单位所在地, 报到地点, 实际工作地点).

Source: the `cn/loc.dat` table shipped with python-stdnum (pinned in requirements.txt), which its
maintainers build from Wikipedia's 中华人民共和国行政区划代码 lists. Entries carry validity years
(`[1983-]武汉市`, `[-2010]崇文区`); only the codes still in force are offered.
"""
import os
import re
from functools import lru_cache

import stdnum.cn
from markupsafe import Markup, escape

_ENTRY = re.compile(r"^(?:\[(\d*)-(\d*)\])?(.+)$")


def _current_name(raw):
    for part in raw.split(","):
        m = _ENTRY.match(part.strip())
        if m and not m.group(2):  # no end year: still in force
            return m.group(3)
    return None


@lru_cache(maxsize=1)
def _table():
    path = os.path.join(os.path.dirname(stdnum.cn.__file__), "loc.dat")
    names = {}
    province = None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            if not line.startswith(" "):
                code, _, rest = line.strip().partition(" ")
                province = code
                continue
            code, _, rest = line.strip().partition(" ")
            m = re.search(r'county="([^"]*)"', rest)
            if not m:
                continue
            name = _current_name(m.group(1))
            if name:
                names[province + code] = name
    return names


def name_of(code):
    return _table().get(code)


def is_valid(code):
    return bool(code) and len(code) == 6 and code in _table()


def full_name(code):
    """'420111' → '湖北省武汉市洪山区'; the province/city parts that exist, without 市辖区."""
    if not is_valid(code):
        return code or "-"
    table = _table()
    parts = []
    for prefix in (code[:2] + "0000", code[:4] + "00", code):
        name = table.get(prefix)
        if name and name != "市辖区" and name not in parts:
            parts.append(name)
    return "".join(parts)


def codes():
    """Every code in force (each province, city and county)."""
    return sorted(_table())


def provinces():
    return [(c, n) for c, n in sorted(_table().items()) if c.endswith("0000")]


def children(code):
    """The next level of the picker: cities of a province (xx0000) — for a municipality, whose
    only "city" is 市辖区, its districts instead — or counties of a city (xxyy00); none below."""
    table = _table()
    if not is_valid(code) or not code.endswith("00"):
        return []
    if code.endswith("0000"):
        out = []
        for c, n in sorted(table.items()):
            if c[:2] == code[:2] and c.endswith("00") and not c.endswith("0000"):
                out.extend(_counties(c) if n == "市辖区" else [(c, n)])
        return out
    return _counties(code)


def _counties(city):
    return [(c, n) for c, n in sorted(_table().items())
            if c[:4] == city[:4] and not c.endswith("00") and n != "市辖区"]


def path_of(code):
    """The picker's selections for a stored code: [province, city, county] codes that exist."""
    if not is_valid(code):
        return []
    steps = [code[:2] + "0000"]
    city = code[:4] + "00"
    if city != steps[0] and city in _table() and name_of(city) != "市辖区":
        steps.append(city)
    if code not in steps:
        steps.append(code)
    return steps


@lru_cache(maxsize=1)
def choices():
    """All current codes as (code, full name), for a searchable select."""
    return tuple((c, full_name(c)) for c in sorted(_table()) if name_of(c) != "市辖区")


@lru_cache(maxsize=1)
def _options_html():
    return "".join(f'<option value="{c}">{escape(n)}</option>' for c, n in choices())


def options_html(selected=None):
    """The <option>s of every region, built once per process (~3,500 of them: a Jinja loop over
    them cost ~20 ms a form), with `selected` marked."""
    html = _options_html()
    selected = str(selected or "")
    if selected.isdigit():
        html = html.replace(f'<option value="{selected}">', f'<option value="{selected}" selected>', 1)
    return Markup(html)
