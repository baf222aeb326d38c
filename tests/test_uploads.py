"""Uploaded proofs (scans, letters, certificates): recognised by their content, not their name, and
refused when empty or too large — nothing stored then (app.uploads)."""
import pytest

from app import uploads
from tests.support.checks import stored_files
from tests.support.factories import PDF_BYTES


@pytest.mark.parametrize("data, message", [
    (b"", "空文件"),
    (b"MZ\x90\x00 this is an exe", "PDF、JPG 或 PNG"),
    (b"<html><script>alert(1)</script>", "PDF、JPG 或 PNG"),
])
def test_upload_is_refused_by_content_not_by_name(data, message):
    before = stored_files()
    with pytest.raises(uploads.UploadError) as info:
        uploads.from_bytes(data, "证明.pdf")  # the name claims PDF; the content decides
    assert message in str(info.value)
    assert stored_files() == before


def test_upload_over_the_size_limit_is_refused(app):
    limit = app.config["UPLOAD_MAX_BYTES"]
    before = stored_files()
    with pytest.raises(uploads.UploadError) as info:
        uploads.from_bytes(PDF_BYTES + b"0" * (limit - len(PDF_BYTES) + 1), "big.pdf")
    assert str(info.value) == f"证明材料不能超过 {limit // (1024 * 1024)} MB"
    # the limit itself is fine (bytes after %%EOF do not stop a PDF from parsing)
    assert uploads.from_bytes(PDF_BYTES + b"0" * (limit - len(PDF_BYTES)), "ok.pdf").ext == "pdf"
    assert stored_files() == before
