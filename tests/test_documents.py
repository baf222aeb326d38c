"""毕业生就业协议书 PDF and /verify (issue 6).

Needs wkhtmltopdf, fonts-noto-cjk and poppler-utils (pdftotext, pdftoppm) — the Makefile's Debian
packages — and zxing-cpp (pip) to read the QR code back from the rendered page.
"""
import os
import re
import shutil
import subprocess
from datetime import timedelta

import pytest

from app import documents, workflow
from app.extensions import db
from app.models import AgreementDocument
from tests.support.factories import (NOW, accepted_offer, certified_offer, make_employer, make_student, offer,
                                     paper_terms, proof)
from tests.support.pdf import normalize, page_pixels, pdf_text
from tests.support.scenes import scene

# Skipped on a bare developer machine only; in CI (CI=true) a missing binary fails every test here.
pytestmark = pytest.mark.skipif(
    not (shutil.which("wkhtmltopdf") and shutil.which("pdftotext") and shutil.which("pdftoppm"))
    and not os.environ.get("CI"),
    reason="wkhtmltopdf / poppler-utils not installed (make deb)")

INJECTION = '<meta name="pdfkit-enable-local-file-access"><iframe src="file:///etc/passwd">'


@pytest.fixture
def world():
    """武汉大学, its reviewer, the approved 武汉星光科技有限公司 and the student 张三丰."""
    return scene(student={"name": "张三丰"}, employer={"name": "武汉星光科技有限公司"})


@pytest.fixture
def certified(world):
    return certified_offer(world.employer, world.student, world.reviewer)


# ---------------------------------------------------------------- the PDF itself

def test_certified_pdf_shows_number_and_both_parties(certified, world, tmp_path):
    pdf = documents.agreement_pdf(certified)
    assert pdf.startswith(b"%PDF")
    text = normalize(pdf_text(pdf, tmp_path))
    assert certified.number in text
    assert "武汉星光科技有限公司" in text and "张三丰" in text
    assert world.student.id_number in text  # in full on the parties' copy
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
    agreement = accepted_offer(world.employer, world.student)
    pdf = documents.agreement_pdf(agreement)
    text = normalize(pdf_text(pdf, tmp_path))
    assert "未生效" in text
    assert "校验码" not in text and "SHA-256" not in text  # nothing to verify yet


def test_offer_that_is_not_an_agreement_has_no_document(world):
    pending = offer(world.employer, world.student)
    with pytest.raises(ValueError):
        documents.agreement_pdf(pending)


def test_terminated_agreement_prints_as_terminated(certified, world, tmp_path):
    terminate(certified, world)
    text = normalize(pdf_text(documents.agreement_pdf(certified), tmp_path))
    assert "已解约" in text and certified.number in text


def terminate(agreement, world, now=None):
    """Student asks, employer agrees, school approves (R11): the agreement becomes terminated."""
    now = now or NOW + timedelta(days=10)
    termination = workflow.request_termination(world.student, agreement, "个人原因", now=now)
    workflow.agree_termination(world.employer, termination, now=now + timedelta(hours=1))
    workflow.approve_termination(world.reviewer, termination, now=now + timedelta(hours=2))
    db.session.refresh(agreement)
    assert agreement.status == "terminated"
    return termination


# ---------------------------------------------------------------- safe rendering (CVE-2025-26240)

def test_injected_meta_and_iframe_render_as_text(world, tmp_path):
    employer = make_employer(approved_by=world.school, name=INJECTION)
    student = make_student(world.school, department=INJECTION[:100], major="<b>软件工程</b>")
    agreement = certified_offer(employer, student, world.reviewer, position='"><img src=x>职位')
    # A remark in the flow trace too: withdraw with the payload as reason, certify again.
    workflow.withdraw_certification(world.reviewer, agreement, INJECTION, now=NOW + timedelta(days=1))
    workflow.certify(world.reviewer, agreement, now=NOW + timedelta(days=1, hours=1))

    html = documents.agreement_html(agreement)
    assert "<meta name=\"pdfkit-" not in html and "<iframe" not in html and "<img src=x>" not in html
    assert "&lt;meta name=&#34;pdfkit-enable-local-file-access&#34;&gt;" in html
    argv = documents.wkhtmltopdf_command(html, documents.pdf_options())
    assert "--enable-local-file-access" not in argv and "--disable-local-file-access" in argv

    text = pdf_text(documents.agreement_pdf(agreement), tmp_path)
    flat = normalize(text)
    assert normalize('<meta name="pdfkit-enable-local-file-access">') in flat
    assert "file:///etc/passwd" in flat
    with open("/etc/passwd") as fh:
        first_line = fh.readline().strip()
    assert first_line.split(":")[0] + ":x:" not in text and "/bin/bash" not in text and "nologin" not in text


def test_pdfkit_meta_tags_never_become_options():
    import pdfkit

    raw = ('<html><head><meta name="pdfkit-enable-local-file-access" content="">'
           '<meta name="pdfkit-allow" content="/etc"></head><body>x</body></html>')
    # Plain pdfkit would obey the tags (the CVE): proves this test can fail.
    plain = pdfkit.PDFKit(raw, "string", configuration=pdfkit.configuration(wkhtmltopdf="/usr/bin/wkhtmltopdf"))
    assert "--enable-local-file-access" in plain.command()
    argv = documents.wkhtmltopdf_command(raw, documents.pdf_options())
    assert "--enable-local-file-access" not in argv and "--allow" not in argv
    # (Without a content attribute plain pdfkit even crashes with IndexError; ours ignores it.)
    documents.wkhtmltopdf_command(f"<html><head>{INJECTION}</head></html>", documents.pdf_options())
    # And HTML that still holds such a tag is refused before wkhtmltopdf runs.
    for variant in (raw, raw.replace('"', "'"), raw.upper(), f"<html><head>{INJECTION}</head></html>"):
        with pytest.raises(documents.RenderError):
            documents.html_to_pdf(variant, documents.pdf_options())


def test_wkhtmltopdf_fetches_no_network_and_no_local_file(tmp_path):
    """Even raw HTML (not our escaped template) cannot make wkhtmltopdf load a URL or a file."""
    import http.server
    import socket
    import threading

    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        for body in (f'<img src="http://127.0.0.1:{port}/x.png">',
                     f'<link rel="stylesheet" href="http://localhost:{port}/a.css">',
                     '<iframe src="file:///etc/passwd"></iframe>',
                     '<img src="file:///etc/hostname">'):
            html = f"<html><head><meta charset='utf-8'></head><body>测试{body}</body></html>"
            try:  # refused (a load error) or printed without the resource
                pdf = documents.html_to_pdf(html, documents.pdf_options())
            except documents.RenderError:
                continue
            text = pdf_text(pdf, tmp_path)
            assert "root:" not in text and socket.gethostname() not in text
        assert hits == []
    finally:
        server.shutdown()
    argv = documents.wkhtmltopdf_command("<p>x</p>", documents.pdf_options())
    assert "--disable-javascript" in argv and "--disable-local-file-access" in argv


# ---------------------------------------------------------------- the cache

@pytest.fixture
def renders(monkeypatch):
    """Counts wkhtmltopdf runs."""
    calls = []
    real = documents.html_to_pdf

    def counting(html, options):
        calls.append(html)
        return real(html, options)

    monkeypatch.setattr(documents, "html_to_pdf", counting)
    return calls


def stored(agreement):
    return db.session.query(AgreementDocument).filter_by(agreement_id=agreement.id).all()


def test_second_download_comes_from_the_store(certified, renders):
    first = documents.agreement_pdf(certified)
    second = documents.agreement_pdf(certified)
    assert first == second and len(renders) == 1
    [row] = stored(certified)
    assert bytes(row.pdf) == first


def test_withdrawal_and_termination_replace_the_stored_pdf(certified, world, renders, tmp_path):
    documents.agreement_pdf(certified)
    workflow.withdraw_certification(world.reviewer, certified, "信息有误", now=NOW + timedelta(days=1))
    preview = documents.agreement_pdf(certified)
    assert "未生效" in normalize(pdf_text(preview, tmp_path))
    assert len(renders) == 2 and len(stored(certified)) == 1  # the certified copy is gone

    workflow.certify(world.reviewer, certified, now=NOW + timedelta(days=2))
    again = documents.agreement_pdf(certified)
    assert "未生效" not in normalize(pdf_text(again, tmp_path))
    terminate(certified, world)
    final = documents.agreement_pdf(certified)
    assert "已解约" in normalize(pdf_text(final, tmp_path))
    assert len(renders) == 4 and len(stored(certified)) == 1


def test_render_failure_raises_render_error(app, certified, tmp_path, monkeypatch):
    slow = tmp_path / "wkhtmltopdf"
    slow.write_text("#!/bin/sh\nsleep 5\n")
    slow.chmod(0o755)
    monkeypatch.setitem(app.config, "WKHTMLTOPDF", str(slow))
    monkeypatch.setitem(app.config, "PDF_TIMEOUT_SECONDS", 1)
    with pytest.raises(documents.RenderError):
        documents.agreement_pdf(certified)
    monkeypatch.setitem(app.config, "WKHTMLTOPDF", str(tmp_path / "missing"))
    with pytest.raises(documents.RenderError):
        documents.agreement_pdf(certified)
    assert stored(certified) == []


# ---------------------------------------------------------------- verification

def test_verify_url_and_masking(certified):
    result = documents.verify(certified.number, certified.check_code.lower())
    assert result["status"] == "生效" and result["in_force"] is True
    assert result["student"] == "张*丰" and result["employer"] == "武汉****有限公司"
    assert result["content_hash"] == certified.content_hash == documents.content_hash(certified)
    assert documents.verify(certified.number, "ABCDEFGH") is None
    assert documents.verify("120262048699999", certified.check_code) is None


@pytest.mark.parametrize("name,masked", [("王伟", "王*"), ("欧阳明月", "欧**月"), ("李", "李")])
def test_mask_name_keeps_first_and_last_character(name, masked):
    assert documents.mask_name(name) == masked


def test_certified_paper_agreement_prints_without_an_online_employer(world, tmp_path):
    agreement = workflow.record_paper_agreement(world.student, paper_terms(), proof(), now=NOW)
    workflow.certify(world.reviewer, agreement, now=NOW + timedelta(hours=1))
    text = normalize(pdf_text(documents.agreement_pdf(agreement), tmp_path))
    assert agreement.number == "220261048600001" and agreement.number in text
    assert "武汉纸质签约有限公司" in text and "纸质签约" in text and "张三丰" in text


REMARK = "单位修改了报到期限和试用期，学生确认后重新应约，"


@pytest.mark.parametrize("remark_of", [lambda i: (REMARK * (1 + i % 4))[:200], lambda i: (REMARK * 9)[:200],
                                       lambda i: None], ids=["mixed", "all-longest", "none"])
def test_every_page_of_a_long_preview_carries_the_watermark(world, tmp_path, remark_of):
    """A flow trace too long for the second sheet goes on continuation sheets, each with the 未生效
    mark (wkhtmltopdf repeats nothing by itself: a mark is drawn per sheet) — whatever the rows'
    heights: a sheet estimated too full would spill onto a page without the mark."""
    from app.extensions import db
    from app.models import FlowEvent

    agreement = accepted_offer(world.employer, world.student)
    for i in range(70):
        remark = remark_of(i)
        db.session.add(FlowEvent(agreement_id=agreement.id, actor_name=f"武汉星光科技有限公司人事部{i}",
                                 action="amend", remark=remark))
    db.session.commit()
    path = tmp_path / "long.pdf"
    path.write_bytes(documents.agreement_pdf(agreement))
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages >= 3
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(path), "-"],
                              capture_output=True, check=True).stdout.decode("utf-8")
        assert "未生效" in normalize(text), f"page {page} of {pages} has no watermark"
    assert "人事部69" in normalize(pdf_text(path.read_bytes(), tmp_path))  # nothing lost
