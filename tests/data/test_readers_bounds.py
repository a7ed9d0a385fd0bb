"""Readers bounded by what their file can hold, and values refused rather than misread
(issue 28, items 3, 7, 9, 12 and 14): IDX gzip expansion, a text of every code point,
npz labels and class names, and image formats chosen by content."""

import gzip
import io
import struct
import sys
import zipfile

import numpy as np
import pytest
from fuzzing import memory_bound, traced_peak
from PIL import Image

from visiongrad.data import DataFormatError, load_text, read_idx, read_image, read_npz
from visiongrad.data.text import CharVocabulary


def test_idx_gzip_expanding_past_twenty_times_its_size_is_refused_up_front(tmp_path):
    declared = 100 << 20  # 100 MiB of zeros: 100 kB of gzip
    path = tmp_path / "bomb-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", declared)
                                   + bytes(declared), compresslevel=1))
    assert path.stat().st_size < 1 << 20
    peak, error = traced_peak(read_idx, path)
    assert isinstance(error, DataFormatError), error
    assert f"{path}: IDX header declares shape ({declared},)" in str(error)
    assert "a likely gzip bomb" in str(error)
    assert peak < memory_bound(path), peak
    small = tmp_path / "zeros-idx1-ubyte.gz"  # zeros compress 1000:1; below 16 MiB they load
    small.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 10**6)
                                    + bytes(10**6)))
    assert read_idx(small).shape == (10**6,)


def test_a_text_of_every_code_point_is_one_clear_error_not_a_huge_model(tmp_path):
    path = tmp_path / "unicode.txt"
    text = "".join(chr(code) for code in range(sys.maxunicode + 1)
                   if not 0xD800 <= code < 0xE000)
    path.write_text(text, encoding="utf-8")

    def vocabulary(file):
        return CharVocabulary.from_text(load_text(file))

    peak, error = traced_peak(vocabulary, path)
    assert isinstance(error, ValueError)
    assert "1112064 distinct characters is more than the 10000" in str(error)
    assert peak < memory_bound(path), peak
    assert len(CharVocabulary.from_text(text[:10_000])) == 10_000


def npz_file(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_npz_labels_and_class_names_are_checked_before_use(tmp_path):
    x = np.zeros((2, 1, 2, 2), np.uint8)
    zero_d = npz_file(tmp_path / "zero_d.npz", x=x, y=np.array(1))
    with pytest.raises(DataFormatError, match=r"zero_d.npz \(y\): labels must be a 1-D integer "
                                              r"array, got shape \(\)"):
        read_npz(zero_d)
    names = npz_file(tmp_path / "bytes.npz", x=x, y=np.array([0, 1]),
                     classes=np.array([b"cat", b"dog"]))
    assert read_npz(names).classes == ["cat", "dog"]  # not "b'cat'"
    bad = npz_file(tmp_path / "latin1.npz", x=x, y=np.array([0, 1]),
                   classes=np.array([b"caf\xe9", b"dog"]))
    with pytest.raises(DataFormatError, match=r"latin1.npz \(classes\): a class name is not "
                                              "UTF-8"):
        read_npz(bad)
    nested = npz_file(tmp_path / "nested.npz", x=x, y=np.array([0, 1]),
                      classes=np.array([["a", "b"]]))
    with pytest.raises(DataFormatError, match=r"nested.npz \(classes\): class names must be a "
                                              "1-D array"):
        read_npz(nested)


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_npz_header_with_boolean_sizes_is_one_clear_error(tmp_path):
    header = b"{'descr': '|u1', 'fortran_order': False, 'shape': (True, 4), }"
    member = b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + header.ljust(117) + b"\n" \
        + bytes(4)
    path = tmp_path / "bool_shape.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", member)
        archive.writestr("y.npy", _npy(np.array([0])))
    with pytest.raises(DataFormatError, match=r"bool_shape.npz \(x\): header declares shape "
                                              r"\(True, 4\); sizes must be non-negative"):
        read_npz(path)


EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n%%EndComments\n"
       b"0 0 moveto 8 8 lineto stroke\nshowpage\n%%EOF\n")


def test_an_eps_named_png_never_reaches_ghostscript(tmp_path, monkeypatch):
    from PIL import EpsImagePlugin

    def ghostscript(*args, **kwargs):
        raise AssertionError("the EPS decoder (Ghostscript) was started")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "load", ghostscript)
    path = tmp_path / "picture.png"
    path.write_bytes(EPS)
    with pytest.raises(DataFormatError, match=r"picture.png: not a readable image \(not PNG, "
                                              r"JPEG, BMP, GIF or WebP\)"):
        read_image(path)


def test_a_cie_lab_tiff_is_refused_not_read_as_rgb(tmp_path):
    path = tmp_path / "lab.tif"
    Image.new("LAB", (4, 4), (50, 20, 30)).save(path, format="TIFF")
    assert Image.open(path).mode == "LAB"
    with pytest.raises(DataFormatError, match="lab.tif: not a readable image"):
        read_image(path)
