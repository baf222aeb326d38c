"""Agreement documents: the verification seal, the agreement PDF and the public verification.

`seal(agreement)` is called by `workflow.certify` inside its transaction: it gives a certified
agreement a check code (printed with the number, typed on /verify) and the SHA-256 of its
canonical content, so a printed copy can be checked against what the school certified.

`agreement_pdf(agreement)` renders 毕业生就业协议书 (templates/documents/agreement.html) with
wkhtmltopdf through pdfkit and keeps the bytes in `AgreementDocument`, keyed by the SHA-256 of the
HTML it printed. The HTML has no clock in it, so the same agreement in the same state gives the same
fingerprint (a cache hit); anything the PDF shows changing — the template included — a withdrawal (status back to accepted:
the 未生效 watermark returns), a termination (已解约), a new flow event — gives a new fingerprint,
a fresh render, and the older rows of that agreement are deleted.

Safety (CVE-2025-26240 and friends): every value reaches the HTML through Jinja's autoescape;
pdfkit's reading of `<meta name="pdfkit-…">` tags is switched off (`_SafePDFKit`), and HTML that
still holds such a tag is refused before wkhtmltopdf runs; wkhtmltopdf runs with JavaScript and
local file access off, every network request sent to a dead proxy, a clean environment and a timeout.
"""
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess

import pdfkit
import segno
from flask import current_app, render_template
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from . import labels, regions
from .extensions import db
from .models import AgreementDocument, Employer, FlowEvent, School, Student

# Unambiguous characters only (no 0/O, 1/I/L): people type the code from paper.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CHECK_CODE_LENGTH = 8

CANONICAL_FIELDS = (
    "number", "kind", "student_id", "school_id", "employer_id", "employer_name", "employer_credit_code",
    "job_category", "position", "probation_days", "probation_salary", "salary", "penalty",
    "report_region", "report_deadline", "work_region", "contact_name", "contact_phone",
    "archive_mode", "archive_unit", "archive_address", "archive_postcode", "archive_contact",
    "archive_phone", "hukou_mode", "hukou_address", "certified_at",
)

# Statuses that have a document: accepted is the parties' 未生效 preview; certified is in force;
# terminated is kept for the record with an 已解约 watermark. Everything else is only an offer.
DOCUMENT_STATUSES = ("accepted", "certified", "terminated")
# What /verify tells about a number + check code.
VERIFY_STATUS = {"certified": "生效", "terminated": "已解约"}


class RenderError(Exception):
    """wkhtmltopdf failed (or refused to run): the view shows the user `USER_MESSAGE`."""

    USER_MESSAGE = "协议书生成失败，请稍后重试；如多次失败，请联系学校就业部门。"


# ---------------------------------------------------------------- seal (called by workflow.certify)

def canonical_content(agreement):
    """The agreement's certified content as one stable string (sorted keys, ISO dates), with the
    student's printed identity — 姓名, 身份证号 and the school's code (R19)."""
    data = {}
    for name in CANONICAL_FIELDS:
        value = getattr(agreement, name)
        data[name] = value.isoformat() if hasattr(value, "isoformat") else value
    data["student_name"] = agreement.student.name
    data["student_id_number"] = agreement.student.id_number
    data["school_code"] = agreement.school.code
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_hash(agreement):
    return hashlib.sha256(canonical_content(agreement).encode("utf-8")).hexdigest()


def new_check_code():
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CHECK_CODE_LENGTH))


def seal(agreement):
    """Called at certification: keep the check code across a withdraw/re-certify, refresh the hash."""
    if not agreement.check_code:
        agreement.check_code = new_check_code()
    agreement.content_hash = content_hash(agreement)


# ---------------------------------------------------------------- public verification

def verify_base_url():
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/verify"


def verify_url(agreement):
    """What the QR code holds: the /verify page with number and check code filled in."""
    return f"{verify_base_url()}?number={agreement.number}&code={agreement.check_code}"


def normalize_code(code):
    """People type from paper: ignore case, spaces and dashes."""
    return re.sub(r"[\s\-]", "", code or "").upper()


def mask_name(name):
    """乙方 on /verify: 王伟 → 王*, 欧阳明月 → 欧**月."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name or "-"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_org(name):
    """甲方 on /verify: keeps the first two and the last four characters (…有限公司)."""
    name = (name or "").strip()
    if len(name) <= 6:
        return mask_name(name)
    return name[:2] + "*" * (len(name) - 6) + name[-4:]


def verify(number, code):
    """Number + check code → what /verify may show, or None (unknown number, wrong code, or an
    agreement that is not in force: all answer alike, so numbers cannot be probed)."""
    from .models import Agreement

    number, code = (number or "").strip(), normalize_code(code)
    if not re.fullmatch(r"\d{15}", number) or not re.fullmatch(r"[A-Z0-9]{1,20}", code):
        return None
    agreement = db.session.scalar(select(Agreement).where(Agreement.number == number))
    if agreement is None or not agreement.check_code:
        hmac.compare_digest(code.encode(), b"X" * CHECK_CODE_LENGTH)  # same work either way
        return None
    if not hmac.compare_digest(code.encode(), agreement.check_code.encode()):
        return None
    if agreement.status not in VERIFY_STATUS:
        # A withdrawn certification (R10) keeps its number and code but is no longer in force.
        return {"number": agreement.number, "status": "未生效", "in_force": False,
                "employer": mask_org(agreement.employer_name), "student": mask_name(agreement.student.name),
                "school": agreement.school.name, "content_hash": agreement.content_hash}
    return {
        "number": agreement.number,
        "status": VERIFY_STATUS[agreement.status],
        "in_force": agreement.status == "certified",
        "employer": mask_org(agreement.employer_name),
        "student": mask_name(agreement.student.name),
        "school": agreement.school.name,
        "content_hash": agreement.content_hash,
    }


# ---------------------------------------------------------------- the agreement HTML

def qr_data_uri(url):
    """A PNG data URI (no file, no network) of the QR code for `url`."""
    return segno.make(url, error="m", micro=False).png_data_uri(scale=6, border=4)


# The flow trace is laid out in sheets so that each page carries the watermark (wkhtmltopdf repeats
# nothing fixed). Heights in mm, estimated on the safe side from the template's CSS (A4, 14 mm
# margins, 8.5 pt trace text): a row is one line plus one per extra line its longest cell wraps to.
TRACE_FIRST_SHEET_MM = 160  # below the 续页 header, the signature table and the trace heading
TRACE_NEXT_SHEET_MM = 215   # below the 续页 header and the table head, above the footnote
TRACE_ROW_MM, TRACE_LINE_MM = 5.2, 3.8
TRACE_CHARS_PER_LINE = {"actor_name": 14, "remark": 21}


def trace_sheets(events):
    """The flow trace cut into sheets: [[event, …], …], at least one (possibly empty) sheet."""
    sheets, current, used, budget = [], [], 0.0, TRACE_FIRST_SHEET_MM
    for e in events:
        lines = max([1] + [-(-len(getattr(e, f) or "") // n) for f, n in TRACE_CHARS_PER_LINE.items()])
        height = TRACE_ROW_MM + TRACE_LINE_MM * (lines - 1)
        if current and used + height > budget:
            sheets.append(current)
            current, used, budget = [], 0.0, TRACE_NEXT_SHEET_MM
        current.append(e)
        used += height
    sheets.append(current)
    return sheets


def document_context(agreement):
    """Everything the agreement template shows; plain values, no clock (the fingerprint is the HTML)."""
    student = db.session.get(Student, agreement.student_id)
    school = db.session.get(School, agreement.school_id)
    employer = db.session.get(Employer, agreement.employer_id) if agreement.employer_id else None
    events = db.session.scalars(
        select(FlowEvent).where(FlowEvent.agreement_id == agreement.id).order_by(FlowEvent.id)
    ).all()
    status = agreement.status
    watermark = _watermark(agreement)
    status_text = {"accepted": "未生效（待学校鉴证）", "certified": "已生效（学校鉴证通过）",
                   "terminated": "已解约"}.get(status, labels.label(labels.AGREEMENT_STATUS, status))
    sealed = bool(agreement.number and agreement.check_code)
    url = verify_url(agreement) if sealed and status in VERIFY_STATUS else None
    return {
        "a": agreement,
        "student": student,
        "school": school,
        "employer": employer,
        "events": events,
        "trace_sheets": trace_sheets(events),
        "status": status,
        "status_text": status_text,
        "watermark": watermark,
        "verify_base": verify_base_url(),
        "verify_url": url,
        "qr": qr_data_uri(url) if url else None,
        "nature": labels.label(labels.EMPLOYER_NATURE, employer.nature) if employer else "-",
        "region": regions.full_name(employer.region) if employer and employer.region else "-",
    }


def agreement_html(agreement):
    # render_template: autoescape is on for .html templates — no user text reaches the HTML raw.
    return render_template("documents/agreement.html", **document_context(agreement))


def fingerprint(html):
    return hashlib.sha256(html.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- wkhtmltopdf

class _SafePDFKit(pdfkit.PDFKit):
    """pdfkit turns any `<meta name="pdfkit-…">` in an HTML string into a wkhtmltopdf option
    (CVE-2025-26240, unfixed in pdfkit 1.0.0). Our options come only from `pdf_options()`."""

    def _find_options_in_meta(self, content):
        return {}


_META_OPTION = re.compile(r"<meta\b[^>]*\bname\s*=\s*[\"']?\s*pdfkit-", re.IGNORECASE)


def pdf_options():
    """wkhtmltopdf options: A4, and no JavaScript, local files or network. (Debian's wkhtmltopdf is
    built without patched Qt: no --header-*/--footer-*; the template prints what a header would.)"""
    options = {
        "quiet": "",
        "encoding": "UTF-8",
        "page-size": "A4",
        "margin-top": "14mm",
        "margin-bottom": "14mm",
        "margin-left": "14mm",
        "margin-right": "14mm",
        "disable-javascript": "",
        "disable-local-file-access": "",
        "disable-plugins": "",
        # wkhtmltopdf has no "offline" switch: send every http(s) request to a closed local port.
        "proxy": "http://127.0.0.1:9",
        "proxy-hostname-lookup": "",
    }
    return options


def _environ():
    """wkhtmltopdf gets no proxy variables, secrets or anything else from our environment."""
    keep = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": "/tmp",
            "XDG_RUNTIME_DIR": "/tmp"}
    return keep


def wkhtmltopdf_command(html, options):
    """The argv pdfkit would run for `html` (tests check no option comes from the HTML)."""
    config = pdfkit.configuration(wkhtmltopdf=current_app.config["WKHTMLTOPDF"])
    kit = _SafePDFKit(html, "string", options=options, configuration=config)
    return kit.command()


def html_to_pdf(html, options):
    """Run wkhtmltopdf on `html` (stdin → stdout) with a timeout; RenderError on any failure."""
    if _META_OPTION.search(html):
        raise RenderError("HTML holds a pdfkit option tag")
    try:
        args = wkhtmltopdf_command(html, options)
    except OSError as e:  # pdfkit checks the binary exists
        raise RenderError(f"wkhtmltopdf not found: {e}") from e
    timeout = current_app.config["PDF_TIMEOUT_SECONDS"]
    try:
        result = subprocess.run(args, input=html.encode("utf-8"), capture_output=True, timeout=timeout,
                                env=_environ(), cwd="/tmp", check=False)
    except subprocess.TimeoutExpired as e:
        raise RenderError(f"wkhtmltopdf timed out after {timeout}s") from e
    except OSError as e:
        raise RenderError(f"wkhtmltopdf could not start: {e}") from e
    # A non-zero exit means a resource failed to load (blocked file/network): never print that.
    if result.returncode != 0 or not result.stdout.startswith(b"%PDF"):
        stderr = result.stderr.decode("utf-8", "replace")[-500:]
        raise RenderError(f"wkhtmltopdf exit {result.returncode}: {stderr}")
    return result.stdout


# ---------------------------------------------------------------- the cache

def _watermark(agreement):
    return {"accepted": "未生效", "terminated": "已解约"}.get(agreement.status)


def render_agreement(agreement):
    """Uncached: (fingerprint, pdf bytes)."""
    html = agreement_html(agreement)
    return fingerprint(html), html_to_pdf(html, pdf_options())


def agreement_pdf(agreement):
    """The agreement's PDF as it is now: from `AgreementDocument` when the fingerprint matches,
    otherwise rendered once, stored, and older versions of this agreement deleted."""
    if agreement.status not in DOCUMENT_STATUSES:
        raise ValueError(f"agreement {agreement.id} is {agreement.status}: no document")
    html = agreement_html(agreement)
    key = fingerprint(html)
    cached = db.session.scalar(select(AgreementDocument.pdf).where(
        AgreementDocument.agreement_id == agreement.id, AgreementDocument.fingerprint == key))
    if cached is not None:
        return bytes(cached)
    pdf = html_to_pdf(html, pdf_options())
    db.session.execute(delete(AgreementDocument).where(
        AgreementDocument.agreement_id == agreement.id, AgreementDocument.fingerprint != key))
    db.session.add(AgreementDocument(agreement_id=agreement.id, fingerprint=key, pdf=pdf))
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent request stored the same version first: same bytes
        db.session.rollback()
    return pdf


def download_name(agreement):
    who = agreement.number or f"预览{agreement.id}"
    return f"毕业生就业协议书-{who}.pdf"
