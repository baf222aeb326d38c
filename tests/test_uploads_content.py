"""An uploaded proof is checked past its first bytes (issue 16, finding 9): a PDF must parse and
carry no script, launch action or embedded file; a JPEG/PNG must decode and is re-encoded without
its metadata. Refusals are Chinese and store nothing."""
import io

import pikepdf
import pytest
from PIL import Image

from app import uploads
from app.models import Agreement
from tests.support.checks import count, stored_files
from tests.support.factories import PDF_BYTES, paper_terms
from tests.support.web import form_with_file


def _pdf(change=None, **save):
    pdf = pikepdf.open(io.BytesIO(PDF_BYTES))
    if change:
        change(pdf)
    out = io.BytesIO()
    pdf.save(out, **save)
    return out.getvalue()


def _open_action_js(pdf):
    pdf.Root.OpenAction = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript,
                                                               JS=pikepdf.String("app.alert(1)")))


def _names_js(pdf):
    action = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")))
    pdf.Root.Names = pikepdf.Dictionary(JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("a"), action])))


def _page_action_js(pdf):
    pdf.pages[0].obj.AA = pikepdf.Dictionary(O=pdf.make_indirect(pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))))


def _launch(pdf):
    pdf.Root.OpenAction = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("calc.exe")))


def _attachment(pdf):
    pdf.attachments["a.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00")


NOT_A_PDF = "文件不是有效的PDF"
SCRIPT = "PDF中含有脚本，不能上传"


@pytest.mark.parametrize("data, message", [
    (b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>", NOT_A_PDF),
    (b"%PDF-" + b"0" * 100, NOT_A_PDF),
    (PDF_BYTES[:200], NOT_A_PDF),  # cut off: no trailer
    (_pdf(_open_action_js), SCRIPT),
    (_pdf(_names_js), SCRIPT),
    (_pdf(_page_action_js), SCRIPT),
    # in a compressed object stream, and with the name spelled with #-escapes
    (_pdf(_open_action_js, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True), SCRIPT),
    (_pdf(_open_action_js).replace(b"/JS ", b"/J#53 "), SCRIPT),
    (_pdf(_launch), "启动程序"),
    (_pdf(_attachment), "嵌入文件"),
], ids=["html-after-magic", "zeros", "truncated", "openaction-js", "names-js", "page-aa-js", "objstm-js",
        "escaped-name-js", "launch", "embedded-file"])
def test_pdf_that_does_not_parse_or_carries_active_content_is_refused(app, data, message):
    before = stored_files()
    with pytest.raises(uploads.UploadError) as info:
        uploads.from_bytes(data, "证明.pdf")
    assert message in str(info.value)
    assert stored_files() == before


def test_clean_pdf_is_kept_byte_for_byte(app):
    upload = uploads.from_bytes(PDF_BYTES, "证明.pdf")
    assert upload.ext == "pdf" and upload.data == PDF_BYTES


def _jpeg_with_gps():
    img = Image.new("RGB", (40, 30), (200, 10, 10))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (30.0, 31.0, 0.0)}  # GPSInfo: latitude
    exif[0x0112] = 6  # Orientation: rotate 90° to display
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, comment=b"secret comment")
    return out.getvalue()


def test_jpeg_is_reencoded_without_metadata_and_upright(app):
    data = _jpeg_with_gps()
    assert b"PhoneMaker" in data
    upload = uploads.from_bytes(data, "scan.jpg")
    assert upload.ext == "jpg" and b"PhoneMaker" not in upload.data and b"secret comment" not in upload.data
    with Image.open(io.BytesIO(upload.data)) as img:
        assert img.format == "JPEG" and not img.getexif() and img.size == (30, 40)  # rotated as shown


def test_png_is_reencoded_without_text_chunks_or_trailing_data(app):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "张三 13800138000")
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG", pnginfo=info)
    data = out.getvalue() + b"<html><script>alert(1)</script>"
    upload = uploads.from_bytes(data, "scan.png")
    assert b"13800138000".decode() not in upload.data.decode("latin-1") and b"<html>" not in upload.data
    with Image.open(io.BytesIO(upload.data)) as img:
        assert img.format == "PNG" and img.size == (8, 8) and not img.text


@pytest.mark.parametrize("data", [
    b"\xff\xd8\xff\xe0" + b"<html>not a jpeg</html>",
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
], ids=["jpeg-magic-html", "png-magic-zeros"])
def test_image_that_does_not_decode_is_refused(app, data):
    before = stored_files()
    with pytest.raises(uploads.UploadError) as info:
        uploads.from_bytes(data, "scan.jpg")
    assert "图片文件已损坏或无法识别" in str(info.value)
    assert stored_files() == before


def test_polyglot_refused_through_the_page(client, login, w):
    login(client, w.student_user.username)
    fields = {k: str(v) for k, v in paper_terms().items() if v is not None}
    before = stored_files()
    response = client.post("/student/paper/new", data=form_with_file(
        fields, b"%PDF-1.4\n<html><script>alert(1)</script></html>", "scan.pdf"), content_type="multipart/form-data")
    assert "文件不是有效的PDF" in response.get_data(as_text=True)
    assert count(Agreement, Agreement.kind == "paper") == 0 and stored_files() == before
