"""Writing spreadsheets users download: write-only openpyxl sheets with a bold frozen header, and the
formula-injection guard every text cell (and every CSV field) gets."""


FORMULA_PREFIXES = ("=", "+", "-", "@")
PERCENT = "0.0%"
INTEGER = "#,##0"


def csv_safe(value):
    """CSV has no cell types: a text starting with = + - @ gets a leading ' (OWASP formula injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class SheetWriter:
    """Rows into a write-only openpyxl sheet: bold frozen header, widths, number formats, and every
    text starting with = + - @ stored as a string cell (never a live formula; quotePrefix keeps
    it text when edited in Excel). Write-only keeps memory flat for long lists."""

    def __init__(self, wb, title, headers, widths=None, formats=None):
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Font, PatternFill
        from openpyxl.utils import get_column_letter

        self._cell = WriteOnlyCell
        self.ws = wb.create_sheet(title)
        self.ws.freeze_panes = "A2"
        self.formats = formats or {}
        for i, header in enumerate(headers):
            width = (widths[i] if widths and i < len(widths) and widths[i] else
                     max(10, min(40, 2 * len(str(header)) + 4)))
            self.ws.column_dimensions[get_column_letter(i + 1)].width = width
        head = []
        for header in headers:
            cell = WriteOnlyCell(self.ws, value=header)
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
            cell.alignment = Alignment(horizontal="center", vertical="center")
            head.append(cell)
        self.ws.append(head)
        self.rows = 0

    def append(self, values):
        row = []
        for i, value in enumerate(values):
            if hasattr(value, "item"):  # numpy scalar
                value = value.item()
            if isinstance(value, float) and value != value:  # NaN
                value = None
            fmt = self.formats.get(i)
            if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
                cell = self._cell(self.ws, value=value)
                cell.data_type = "s"
                cell.quotePrefix = True
                row.append(cell)
            elif fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
                cell = self._cell(self.ws, value=value)
                cell.number_format = fmt
                row.append(cell)
            else:
                row.append(value)
        self.ws.append(row)
        self.rows += 1


def new_workbook():
    from openpyxl import Workbook

    return Workbook(write_only=True)

