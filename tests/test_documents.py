"""毕业生就业协议书 PDF and /verify (issue 6).

Needs wkhtmltopdf, fonts-noto-cjk and poppler-utils (pdftotext, pdftoppm) — the Makefile's Debian
packages — and zxing-cpp (pip) to read the QR code back from the rendered page.
"""
import re
import shutil
import subprocess
from datetime import timedelta

import numpy as np
import pytest

from app import documents, workflow
from app.extensions import db
from app.models import AgreementDocument
from tests.factories import (NOW, accepted_offer, certified_offer, make_employer, make_reviewer, make_school,
                             make_student, make_user)

pytestmark = pytest.mark.skipif(
    not (shutil.which("wkhtmltopdf") and shutil.which("pdftotext") and shutil.which("pdftoppm")),
    reason="wkhtmltopdf / poppler-utils not installed (make deb)")

INJECTION = '<meta name="pdfkit-enable-local-file-access"><iframe src="file:///etc/passwd">'


def pdf_text(pdf, tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout
    return text.decode("utf-8")


def normalize(text):
    """pdftotext may give Kangxi radicals (⾼ for 高, STACK-NOTES): map them back, drop spaces."""
    import unicodedata

    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def page_pixels(pdf, tmp_path, dpi=200):
    """First page as a grayscale numpy array (pdftoppm → PGM, read without Pillow)."""
    path = tmp_path / "a.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-f", "1", "-l", "1", str(path), str(tmp_path / "p")],
                   check=True)
    [pgm] = list(tmp_path.glob("p*.pgm"))
    data = pgm.read_bytes()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    width, height = int(m.group(1)), int(m.group(2))
    return np.frombuffer(data[m.end():], dtype=np.uint8).reshape(height, width)


@pytest.fixture
def world():
    school = make_school("10486", "武汉大学")
    student = make_student(school, name="张三丰")
    employer = make_employer(approved_by=school, name="武汉星光科技有限公司")
    reviewer = make_reviewer(school)
    return {"school": school, "student": student, "employer": employer, "reviewer": reviewer}


@pytest.fixture
def certified(world):
    return certified_offer(world["employer"], world["student"], world["reviewer"])


# ---------------------------------------------------------------- the PDF itself

def test_certified_pdf_shows_number_and_both_parties(certified, world, tmp_path):
    pdf = documents.agreement_pdf(certified)
    assert pdf.startswith(b"%PDF")
    text = normalize(pdf_text(pdf, tmp_path))
    assert certified.number in text
    assert "武汉星光科技有限公司" in text and "张三丰" in text
    assert world["student"].id_number in text  # in full on the parties' copy
    assert certified.check_code in text and certified.content_hash in text
    assert "毕业生就业协议书" in text and "签约须知" in text and "流程追踪" in text
    assert "未生效" not in text


def test_pdf_embeds_a_cjk_font(certified, tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(documents.agreement_pdf(certified))
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts


def test_qr_code_decodes_to_the_verify_url(app, certified, tmp_path):
    import zxingcpp

    pixels = page_pixels(documents.agreement_pdf(certified), tmp_path)
    results = zxingcpp.read_barcodes(pixels)
    texts = [r.text for r in results if r.format == zxingcpp.BarcodeFormat.QRCode]
    expected = f"{app.config['PUBLIC_BASE_URL']}/verify?number={certified.number}&code={certified.check_code}"
    assert texts == [expected]


def test_preview_before_certification_says_not_in_force(world, tmp_path):
    agreement = accepted_offer(world["employer"], world["student"])
    pdf = documents.agreement_pdf(agreement)
    text = normalize(pdf_text(pdf, tmp_path))
    assert "未生效" in text
    assert "校验码" not in text and "SHA-256" not in text  # nothing to verify yet


def test_offer_that_is_not_an_agreement_has_no_document(world):
    from tests.factories import offer

    pending = offer(world["employer"], world["student"])
    with pytest.raises(ValueError):
        documents.agreement_pdf(pending)
