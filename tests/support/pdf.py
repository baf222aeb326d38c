"""Reading a rendered PDF back: its text (pdftotext) and its first page's pixels (pdftoppm).
Needs poppler-utils (the Makefile's Debian packages)."""
import re
import subprocess

import numpy as np


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
