"""Uploaded proofs (纸质协议书扫描件, 解约证明, 其他去向证明材料): checked by content, stored by key.

A view turns the request's file into an `Upload` with `from_request` (empty, too large, not a
PDF/JPEG/PNG by its first bytes, a PDF that does not parse or carries scripts, launch actions or
embedded files, an image that does not decode → `UploadError` with a Chinese message; images are
re-encoded without their metadata). The workflow stores it
with `save` only after every rule has passed, and `discard`s it if the transaction fails, so a
refused request leaves no file behind. Keys are random; files are served only through views that
have checked the row the key belongs to.
"""
import os
import secrets
from dataclasses import dataclass

from flask import abort, current_app, send_file

# Magic numbers: the type comes from the content, never from the name or the browser's claim.
_SIGNATURES = (
    (b"%PDF-", "pdf", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
)
ALLOWED_TEXT = "PDF、JPG 或 PNG"


class UploadError(ValueError):
    pass


@dataclass(frozen=True)
class Upload:
    data: bytes
    ext: str
    mimetype: str
    filename: str = ""


def max_bytes():
    return current_app.config["UPLOAD_MAX_BYTES"]


def from_bytes(data, filename="", label="证明材料"):
    if not data:
        raise UploadError(f"{label}是空文件，请重新选择")
    limit = max_bytes()
    if len(data) > limit:
        raise UploadError(f"{label}不能超过 {limit // (1024 * 1024)} MB")
    for magic, ext, mimetype in _SIGNATURES:
        if data.startswith(magic):
            data = _checked_pdf(data, label) if ext == "pdf" else _reencoded_image(data, ext, label)
            return Upload(data, ext, mimetype, os.path.basename(filename or "")[:100])
    raise UploadError(f"{label}须为 {ALLOWED_TEXT} 文件（按文件内容识别）")


# Active content a proof never needs: scripts (also XFA forms, which carry them), actions that
# start programs, embedded files. Checked on every object, object streams included.
_PDF_SCRIPT_KEYS = {"/JS", "/JavaScript", "/XFA"}
_PDF_EMBED_KEYS = {"/EmbeddedFiles", "/EmbeddedFile", "/EF", "/RichMedia"}


def _checked_pdf(data, label):
    """The bytes as uploaded (a signed PDF stays signed) once qpdf has parsed the whole file and
    no object carries a script, a launch action or an embedded file."""
    import io

    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            for obj in pdf.objects:
                if not isinstance(obj, pikepdf.Dictionary):
                    continue
                keys = set(obj.keys())
                action = obj.get("/S")
                if keys & _PDF_SCRIPT_KEYS or action == pikepdf.Name.JavaScript:
                    raise UploadError(f"{label}：PDF中含有脚本，不能上传")
                if action in (pikepdf.Name.Launch, pikepdf.Name.ImportData):
                    raise UploadError(f"{label}：PDF中含有启动程序或导入数据的动作，不能上传")
                if keys & _PDF_EMBED_KEYS:
                    raise UploadError(f"{label}：PDF中含有嵌入文件，不能上传")
            if len(pdf.pages) == 0:
                raise UploadError(f"{label}：文件不是有效的PDF（没有页面），请重新导出后上传")
    except pikepdf.PasswordError:
        raise UploadError(f"{label}：PDF已加密，请去除密码后上传") from None
    except pikepdf.PdfError:
        raise UploadError(f"{label}：文件不是有效的PDF，请重新导出后上传") from None
    return data


def _reencoded_image(data, ext, label):
    """JPEG/PNG decoded in full and written again by Pillow: what does not decode is refused, and
    metadata (EXIF with GPS, comments, text chunks) and anything hidden after the image is dropped.
    The EXIF orientation is applied first so the scan still stands upright."""
    import io
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    fmt = {"jpg": "JPEG", "png": "PNG"}[ext]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                img.load()
                img = ImageOps.exif_transpose(img)
                # Pillow writes some of `info` back (a JPEG's comment): keep only PNG transparency.
                img.info = {k: v for k, v in img.info.items() if k == "transparency"}
                out = io.BytesIO()
                if fmt == "JPEG":
                    if img.mode not in ("RGB", "L", "CMYK"):
                        img = img.convert("RGB")
                    img.save(out, "JPEG", quality=90)
                else:
                    img.save(out, "PNG", optimize=False)
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError, OSError,
            ValueError, SyntaxError):
        raise UploadError(f"{label}：图片文件已损坏或无法识别，请重新拍照或扫描后上传") from None
    return out.getvalue()


def from_request(file_storage, label="证明材料", required=True):
    """A werkzeug FileStorage (request.files[...]) → Upload; None when optional and not chosen."""
    if file_storage is None or not file_storage.filename:
        if required:
            raise UploadError(f"请上传{label}")
        return None
    data = file_storage.stream.read(max_bytes() + 1)  # never read more than the limit
    return from_bytes(data, file_storage.filename, label)


def _root():
    return os.path.realpath(current_app.config["UPLOAD_DIR"])


def path_of(key):
    path = os.path.realpath(os.path.join(_root(), key))
    if not path.startswith(_root() + os.sep):
        raise UploadError("文件不存在")
    return path


def private_dir(path):
    """`path` and the folders up to UPLOAD_DIR (itself included), made 0700: proofs, imports and
    exports hold personal data, readable by the app's own user only."""
    root = _root()
    path = os.path.realpath(path)
    os.makedirs(path, mode=0o700, exist_ok=True)
    while True:
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o700)
        if path == root or not path.startswith(root + os.sep):
            return
        path = os.path.dirname(path)


def create_private(path):
    """A new file, 0600 from its creation (never readable by others, not even for a moment)."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def save(upload, folder="proofs"):
    key = f"{folder}/{secrets.token_hex(16)}.{upload.ext}"
    path = path_of(key)
    private_dir(os.path.dirname(path))
    with create_private(path) as fh:
        fh.write(upload.data)
    return key


def exists(key):
    """Whether the stored file `key` is still there (purged and discarded files are not)."""
    try:
        return bool(key) and os.path.isfile(path_of(key))
    except UploadError:
        return False


def discard(key):
    if key:
        try:
            os.remove(path_of(key))
        except (OSError, UploadError):
            pass


def send(key, download_name):
    """Serve a stored file; the caller has checked that the acting party may see its row.
    A row without a file (key None) or a file gone from disk answers 404."""
    if not key:
        abort(404)
    path = path_of(key)
    if not os.path.exists(path):
        abort(404)
    ext = key.rsplit(".", 1)[-1]
    mimetype = {ext_: mt for _m, ext_, mt in _SIGNATURES}.get(ext, "application/octet-stream")
    response = send_file(path, mimetype=mimetype, download_name=f"{download_name}.{ext}", as_attachment=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
