"""Agreement documents: verification seal now; the PDF and /verify come with the documents issue.

`seal(agreement)` is called by `workflow.certify` inside its transaction: it gives a certified
agreement a check code (printed with the number, typed on /verify) and the SHA-256 of its
canonical content, so a printed copy can be checked against what the school certified.
"""
import hashlib
import json
import secrets

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


def canonical_content(agreement):
    """The agreement's certified content as one stable string (sorted keys, ISO dates)."""
    data = {}
    for name in CANONICAL_FIELDS:
        value = getattr(agreement, name)
        data[name] = value.isoformat() if hasattr(value, "isoformat") else value
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
