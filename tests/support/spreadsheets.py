"""Builders of spreadsheet files for the import tests (no tests here)."""
import io

import openpyxl

import imports
from tests.support.factories import GRADUATION_YEAR, id_number, phone

ROSTER_HEADER = imports.ROSTER.labels
CANDIDATE_HEADER = imports.CANDIDATES.labels


def xlsx(rows, header=ROSTER_HEADER, as_text=True):
    """An .xlsx with `header` then `rows`; string values are written as text cells."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
        if as_text:
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(rows, header=ROSTER_HEADER, encoding="utf-8"):
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def female_id(n):
    """A valid ID number whose 17th digit is even (女)."""
    for k in range(n * 2, n * 2 + 40):
        number = id_number(k)
        if int(number[16]) % 2 == 0:
            return number
    raise AssertionError


def male_id(n):
    for k in range(n * 2, n * 2 + 40):
        number = id_number(k)
        if int(number[16]) % 2 == 1:
            return number
    raise AssertionError


def roster_row(n, **kw):
    """One valid roster row (as text cells), in template column order."""
    values = dict(student_no=f"2022{n:06d}", name=f"学生{chr(0x4e00 + n % 500)}", id_number=male_id(n), gender="男",
                  phone=phone(n), email=f"s{n}@example.edu.cn", department="计算机学院", major="软件工程",
                  education="本科生毕业", graduation_year=str(GRADUATION_YEAR), training_mode="非定向")
    values.update(kw)
    return [values[c.key] for c in imports.ROSTER.columns]
