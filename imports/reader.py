"""Safe readers: what an uploaded spreadsheet is, whether it may be opened, and its cells as text.

Order of checks (each refusal is an `ImportRefused` with a Chinese message, nothing parsed yet):
1. the first bytes decide the format (.xlsx zip or text CSV); the name/extension is never trusted,
   so an .exe or a PDF renamed .xlsx is refused after reading a few bytes;
2. the file size cap (`Limits.max_bytes`) while reading, never reading more than cap + 1 bytes;
3. for .xlsx, the zip directory: entry count, encryption, the declared uncompressed total and the
   compression ratio (zip bomb: a 511 KB file can inflate to 521 MiB, STACK-NOTES), then the
   entries are inflated once in a stream with the same cap, so a directory that lies about its
   sizes is caught before the parser sees the file;
4. the parser (calamine, which neither loads DTDs nor expands entities; openpyxl, used only to
   write, uses defusedxml when installed — `defusedxml_active()`), stopping after the row cap.

Every cell comes back as text: numbers stored as numbers are turned back into their digits when
that is exact, and marked `LOST_DIGITS` when the cell can no longer hold them (an 18-digit ID
number typed into a number cell has already lost its last digits inside Excel).
"""
import csv
import io
import itertools
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from .spec import Spec


class ImportRefused(ValueError):
    """The whole file is refused; the message is shown to the user as is."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20 * 1024 * 1024
    max_rows: int = 50_000
    max_unzipped_bytes: int = 200 * 1024 * 1024
    max_zip_ratio: int = 100
    max_zip_entries: int = 2_000

    @classmethod
    def from_config(cls, config):
        """From a Flask config (or any mapping) holding the IMPORT_* settings."""
        return cls(
            max_bytes=int(config["IMPORT_MAX_BYTES"]),
            max_rows=int(config["IMPORT_MAX_ROWS"]),
            max_unzipped_bytes=int(config["IMPORT_MAX_UNZIPPED_BYTES"]),
            max_zip_ratio=int(config["IMPORT_MAX_ZIP_RATIO"]),
        )


# A cell that held a number too big to be exact (ID numbers typed as numbers): the validator
# refuses it with "set the column to text"; the error report shows it without the marker.
LOST_DIGITS = "\x00"

XLSX, CSV = "xlsx", "csv"
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx
_BINARY = (b"MZ", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b",
           b"\x7fELF", b"BZh", b"\xfd7zXZ", b"PK\x05\x06", b"PK\x07\x08")
_NOT_A_TABLE = "文件内容不是 Excel (.xlsx) 或 CSV 表格，请使用下载的模板填写后上传（按文件内容识别，与扩展名无关）"
_SNIFF = 8


def _mb(n):
    return f"{n / (1024 * 1024):g} MB"


@dataclass
class Received:
    data: bytes
    fmt: str  # XLSX | CSV


def receive(source, limits=Limits()):
    """Read an upload (bytes or a binary stream) after sniffing its first bytes; size-capped."""
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    head = stream.read(_SNIFF) or b""
    if not head:
        raise ImportRefused("上传的文件是空的，请重新选择文件")
    fmt = sniff(head)
    rest = stream.read(limits.max_bytes + 1 - len(head)) or b""
    data = head + rest
    if len(data) > limits.max_bytes:
        raise ImportRefused(f"文件不能超过 {_mb(limits.max_bytes)}，请拆分后分批导入")
    if fmt == XLSX:
        check_zip(data, limits)
    else:
        _check_text(data)
    return Received(data, fmt)


def sniff(head):
    """The format from the first bytes only."""
    if head.startswith(_ZIP):
        return XLSX
    if head.startswith(_OLE2):
        raise ImportRefused("不支持旧版 Excel (.xls) 文件或加密的文件，请在 Excel 中另存为 .xlsx（不设密码）后上传")
    if any(head.startswith(magic) for magic in _BINARY) or b"\x00" in head:
        raise ImportRefused(_NOT_A_TABLE)
    return CSV


def _check_text(data):
    sample = data[:4096]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    if b"\x00" in sample or controls > len(sample) // 100 + 2:
        raise ImportRefused(_NOT_A_TABLE)


def check_zip(data, limits=Limits()):
    """Zip-bomb and format checks of an .xlsx before any parser opens it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportRefused("文件已损坏或不是有效的 .xlsx 文件，请在 Excel 中另存为 .xlsx 后重新上传") from None
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise ImportRefused(_NOT_A_TABLE)
    if len(infos) > limits.max_zip_entries:
        raise ImportRefused("文件结构异常（压缩包内文件过多），已拒绝导入")
    if any(i.flag_bits & 0x1 for i in infos):
        raise ImportRefused("不支持加密的文件，请取消密码后另存为 .xlsx 上传")
    declared = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    too_big = f"文件解压后超过 {_mb(limits.max_unzipped_bytes)}（疑似压缩炸弹），已拒绝导入"
    if declared > limits.max_unzipped_bytes:
        raise ImportRefused(too_big)
    if declared > 1024 * 1024 and declared > limits.max_zip_ratio * max(packed, 1):
        raise ImportRefused(f"文件压缩比异常（超过 {limits.max_zip_ratio} 倍，疑似压缩炸弹），已拒绝导入")
    # The directory may lie: inflate each entry in a stream, never past the declared size
    # (zipfile stops there and checks the CRC) and never past the cap in total.
    total = 0
    try:
        for info in infos:
            with archive.open(info) as entry:
                while chunk := entry.read(1024 * 1024):
                    total += len(chunk)
                    if total > limits.max_unzipped_bytes:
                        raise ImportRefused(too_big)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise ImportRefused("文件已损坏或不是有效的 .xlsx 文件，请在 Excel 中另存为 .xlsx 后重新上传") from None


def defusedxml_active():
    """openpyxl parses XML through defusedxml only when it is installed (it is a requirement)."""
    from openpyxl.xml import DEFUSEDXML

    return bool(DEFUSEDXML)


# ---------------------------------------------------------------- cells → text

def cell_text(value):
    """One calamine cell as the text the user typed (as far as it can be recovered)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            if abs(value) < 2 ** 53:
                return str(int(value))
            return LOST_DIGITS + f"{value:.15g}"
        return f"{value:.15g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") if (value.hour or value.minute or value.second) \
            else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _rows_xlsx(data, limit):
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False, nrows=limit + 1)
    except (CalamineError, ValueError, OSError, IndexError) as exc:
        raise ImportRefused("无法读取该 .xlsx 文件，请在 Excel 中另存为 .xlsx 后重新上传") from exc
    return [[cell_text(v) for v in row] for row in rows]


def _rows_csv(data, limit):
    for encoding in ("utf-8-sig", "gb18030"):  # GB18030 ⊃ GBK ⊃ GB2312
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes almost any byte string
        raise ImportRefused("CSV 文件编码无法识别，请另存为 UTF-8 或 GBK 编码后上传")
    # The csv module, not read_csv: rows with a trailing comma or a missing cell are normal in
    # hand-edited files and must not refuse the whole file.
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        return list(itertools.islice(reader, limit + 1))
    except csv.Error as exc:
        raise ImportRefused(f"CSV 文件格式不正确（{str(exc)[:80]}），请另存为 CSV 后重新上传") from exc


# ---------------------------------------------------------------- normalisation

_SPACES = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")  # \s covers U+3000 and U+00A0
_CJK_NAME = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff·•\s\u200b\ufeff]+$")


def clean_header(text):
    text = _SPACES.sub("", unicodedata.normalize("NFKC", str(text)))
    return text.replace("*", "").replace("（必填）", "").replace("(必填)", "")


def normalize(series, kind):
    """Vectorised clean-up of one column: full-width spaces and digits (１３８…) never fail a row."""
    s = series.fillna("").astype(str)
    if kind in ("code", "id_number", "phone", "email", "year", "id_or_phone", "choice", "national"):
        s = s.str.normalize("NFKC").str.replace(_SPACES, "", regex=True)
        if kind in ("id_number", "id_or_phone"):
            s = s.str.upper()
        if kind == "email":
            s = s.str.lower()
        return s
    if kind == "name":
        # 王　伟: two-character names are often padded with a full-width space to line up with
        # three-character ones; a Chinese name has no spaces. Other names keep single spaces.
        cjk = s.str.match(_CJK_NAME)
        squeezed = s.str.replace(_SPACES, " ", regex=True).str.strip()
        return squeezed.where(~cjk, s.str.replace(_SPACES, "", regex=True))
    return s.str.replace(_SPACES, " ", regex=True).str.strip()


# ---------------------------------------------------------------- the table

@dataclass
class Table:
    frame: pd.DataFrame  # one column per spec key (text), index = the sheet's row number (1-based)
    extra: list  # headers present in the file but not in the spec (ignored, e.g. 错误原因)
    spec: Spec = None  # the layout the file was read as (read_table with several specs picks one)

    def __len__(self):
        return len(self.frame)


def _names(spec):
    """header (cleaned, lower case) → column: its label and its aliases."""
    return {clean_header(name).lower(): c for c in spec.columns for name in (c.label, *c.aliases)}


def pick_spec(header, specs):
    """The layout whose columns the header row names most (the first one on a tie): our template
    with Chinese headers or the national layout with pinyin codes."""
    present = {clean_header(h).lower() for h in header if str(h).strip()}
    return max(specs, key=lambda spec: len({id(c) for name, c in _names(spec).items() if name in present}))


def read_table(received, spec, limits=Limits()):
    """Parse a received file into a Table of text columns named by the spec's keys. `spec` may be
    a tuple of specs: the file's header row decides which layout it is (`pick_spec`)."""
    limit = limits.max_rows + 50  # header, a few blank rows, and one row over the cap to notice it
    rows = _rows_xlsx(received.data, limit) if received.fmt == XLSX else _rows_csv(received.data, limit)
    if len(rows) > limit:  # never truncate silently: more rows than the cap allows are there
        raise ImportRefused(f"文件超过 {limits.max_rows} 行，请拆分后分批导入")
    # Row numbers as the user sees them in Excel (1-based, header included).
    numbered = [(i + 1, row) for i, row in enumerate(rows) if any(str(v).strip() for v in row)]
    if not numbered:
        raise ImportRefused("文件中没有数据，请使用下载的模板填写后上传")
    header_no, header = numbered[0]
    if isinstance(spec, (tuple, list)):
        spec = pick_spec(header, spec)
    labels = [clean_header(h) for h in header]
    by_label = _names(spec)
    positions, extra, seen = {}, [], set()
    for pos, label in enumerate(labels):
        if not label:
            continue
        if label.lower() in seen:
            raise ImportRefused(f"列名“{label}”重复，请每列只出现一次")
        seen.add(label.lower())
        column = by_label.get(label.lower())
        if column is None:
            extra.append(label)
        else:
            positions[column.key] = pos
    missing = [c.label for c in spec.columns if c.required and c.key not in positions]
    if missing:
        raise ImportRefused(
            f"缺少列：{'、'.join(missing)}。请使用下载的模板，第一行为列名（{'、'.join(spec.labels)}）")
    body = [(no, row) for no, row in numbered[1:]]
    if len(body) > limits.max_rows:
        raise ImportRefused(f"文件超过 {limits.max_rows} 行，请拆分后分批导入")
    if not body:
        raise ImportRefused("文件中只有列名，没有数据行")
    cells = {c.key: [(str(row[positions[c.key]]) if c.key in positions and positions[c.key] < len(row) else "")
                     for _no, row in body] for c in spec.columns}
    return _table(cells, [no for no, _row in body], spec, extra)


def _table(cells, numbers, spec, extra):
    """The Table of `cells` ({column key: [text per row]}) numbered `numbers`, each column
    normalised as its kind says."""
    index = pd.Index(numbers, name="row")
    frame = pd.DataFrame({c.key: normalize(pd.Series(cells[c.key], index=index, dtype=object), c.kind)
                          for c in spec.columns}, index=index)
    return Table(frame=frame, extra=extra, spec=spec)


def table_from_records(records, spec):
    """A Table of rows given as mappings {column key: value} (the API's JSON rows), numbered from 1
    in their order, cleaned exactly as a sheet's cells: the same checks then apply. A missing key
    or None is an empty cell; keys outside the spec are the caller's to refuse."""
    cells = {c.key: [("" if r.get(c.key) is None else str(r.get(c.key))) for r in records] for c in spec.columns}
    return _table(cells, list(range(1, len(records) + 1)), spec, [])


def read(source, spec, limits=Limits()):
    """receive + read_table: bytes or a stream in, Table out (or ImportRefused)."""
    return read_table(receive(source, limits), spec, limits)
