"""Workbooks we hand out: the error report (refused rows + 错误原因) and the import templates.

Both are written with openpyxl from the same `Spec` the reader uses. Every cell we write from user
data is forced to a *string* cell: `DataFrame.to_excel` (and openpyxl by default) would turn a
value starting with "=" into a live formula (STACK-NOTES), i.e. CSV/formula injection into the
reviewer's Excel. ID, phone and 学号 columns carry the text format "@" so Excel keeps leading
zeros and the X check digit when the user edits and saves the file again.
"""
import io

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .reader import LOST_DIGITS
from .spec import Spec

REASON = "错误原因"
TEXT = "@"
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_REASON_FILL = PatternFill("solid", fgColor="FDE9E7")
_BOLD = Font(bold=True)
_RED = Font(color="C00000")


def _text_cell(ws, value, text_format=False, font=None, fill=None):
    cell = WriteOnlyCell(ws, value=str(value) if value is not None else None)
    if cell.value is not None:
        cell.data_type = "s"  # never a formula, whatever the text starts with
    if text_format:
        cell.number_format = TEXT
    if font:
        cell.font = font
    if fill:
        cell.fill = fill
    return cell


def _widths(spec):
    return [max(10, min(40, len(c.label) * 2 + 4, c.max_len + 2)) for c in spec.columns]


def error_report(table, checked, spec: Spec):
    """.xlsx bytes: the refused rows as the user wrote them (after space clean-up) plus 错误原因.

    The columns are the template's, so the user fixes the rows and uploads this file again
    (the reader ignores the 错误原因 column)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(spec.title)
    for i, width in enumerate(_widths(spec) + [60], start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.append([_text_cell(ws, c.label, font=_BOLD, fill=_HEADER_FILL) for c in spec.columns]
              + [_text_cell(ws, REASON, font=_BOLD, fill=_REASON_FILL)])
    frame = table.frame
    keys = [c.key for c in spec.columns]
    for row in sorted(checked.errors):
        values = frame.loc[row] if row in frame.index else {}
        cells = []
        for column, key in zip(spec.columns, keys):
            value = values.get(key, "") if len(values) else ""
            if isinstance(value, str) and value.startswith(LOST_DIGITS):
                value = value[len(LOST_DIGITS):]
            cells.append(_text_cell(ws, value, text_format=column.text_format))
        cells.append(_text_cell(ws, f"第{row}行：{checked.reason(row)}", font=_RED))
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template(spec: Spec, template_rows=1000):
    """.xlsx bytes: the header in Chinese, one sample row, text-formatted ID/phone columns,
    drop-down lists for the choice columns, and a 填写说明 sheet built from the same spec."""
    wb = Workbook()
    ws = wb.active
    ws.title = spec.title
    for i, column in enumerate(spec.columns, start=1):
        letter = get_column_letter(i)
        head = ws.cell(row=1, column=i, value=column.label)
        head.font = Font(bold=True, color="C00000" if column.required else "000000")
        head.fill = _HEADER_FILL
        head.alignment = Alignment(horizontal="center")
        sample = ws.cell(row=2, column=i, value=column.sample)
        sample.data_type = "s"
        ws.column_dimensions[letter].width = _widths(spec)[i - 1]
        if column.text_format:
            sample.number_format = TEXT
            # A column style applies to the cells the user types into later.
            ws.column_dimensions[letter].number_format = TEXT
            for r in range(3, template_rows + 2):
                ws.cell(row=r, column=i).number_format = TEXT
        # A drop-down list only where Excel can hold it (a list formula is at most 255 characters:
        # not 民族's 58 codes or the 3,000 region codes, which the 填写说明 sheet lists or names).
        if column.choices and len(",".join(column.choices)) <= 250:
            dv = DataValidation(type="list", formula1='"' + ",".join(column.choices) + '"', allow_blank=True,
                                showErrorMessage=True, errorTitle="输入值无效",
                                error=f"{column.label}只能填写：{'、'.join(column.choices)}")
            dv.add(f"{letter}2:{letter}{template_rows + 1}")
            ws.add_data_validation(dv)
    ws.freeze_panes = "A2"

    notes = wb.create_sheet("填写说明")
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["B"].width = 10
    notes.column_dimensions["C"].width = 80
    notes.append(["列名", "是否必填", "填写要求"])
    for cell in notes[1]:
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
    for column in spec.columns:
        requirement = column.note or f"不超过{column.max_len}个字"
        notes.append([column.label, "必填" if column.required else "选填", requirement])
    notes.append([])
    notes.append(["说明"])
    notes.cell(row=notes.max_row, column=1).font = _BOLD
    for i, line in enumerate(spec.notes, start=1):
        notes.append([f"{i}.", None, line])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
