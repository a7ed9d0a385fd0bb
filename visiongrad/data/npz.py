"""Reading ``.npz`` archives with every declared size checked before anything is allocated.

``numpy.load`` trusts the ``.npy`` header inside an archive: a few hundred bytes declaring
shape (10**12,) make it reserve that much before it finds that the data is missing. Here
each member's header is parsed first, its dtype must be plain (numeric or boolean; text
for the optional class names, never objects), and shape x item size must equal the bytes
the member holds (its uncompressed size, itself bounded by what deflate can produce from
the compressed bytes). Data is then read in chunks, so memory follows what the file
really holds.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from collections.abc import Sequence

import numpy as np

from .errors import DataFormatError

__all__ = ["MAX_EXPANSION_RATIO", "MIN_EXPANSION_LIMIT", "MAX_NPZ_MEMBER_BYTES",
           "expansion_limit", "load_npz_arrays", "read_at_most", "unreadable_zip_members"]

#: Most times a compressed file or member may expand (gzip'd text and IDX files, deflated
#: checkpoint storages): real data compresses 1.1:1 (weights) to 5:1 (images, text); a
#: compression bomb reaches 1000:1 and is refused as soon as it passes this.
MAX_EXPANSION_RATIO = 20
#: What any compressed file may expand to, whatever its size (small files of zeros).
MIN_EXPANSION_LIMIT = 16 << 20

#: Most bytes one array in an archive may hold (16 GiB).
MAX_NPZ_MEMBER_BYTES = 2**34
#: Deflate's largest expansion (about 1032:1), with slack for headers.
_DEFLATE_RATIO = 1100
_CHUNK = 1 << 20
#: Zip flag bits past which Python's zipfile cannot read a member (it raises RuntimeError or
#: NotImplementedError): encryption 0x1, compressed patched data 0x20, strong encryption 0x40.
_UNREADABLE_FLAGS = 0x1 | 0x20 | 0x40


def expansion_limit(compressed_bytes: int) -> int:
    """The most bytes ``compressed_bytes`` of gzip or deflate may expand to here."""
    return max(MAX_EXPANSION_RATIO * compressed_bytes, MIN_EXPANSION_LIMIT)


def unreadable_zip_members(archive: zipfile.ZipFile) -> list[str]:
    """The names of ``archive``'s members that zipfile cannot open (encrypted or patched),
    for a reader to refuse in one clear error before it reads any."""
    return [info.filename for info in archive.infolist() if info.flag_bits & _UNREADABLE_FLAGS]


def read_at_most(handle, limit: int) -> bytearray:
    """Up to ``limit`` bytes from ``handle``, read in 1 MiB chunks: memory grows with what
    the stream really holds, never with what a header claims."""
    data = bytearray()
    while len(data) < limit:
        chunk = handle.read(min(_CHUNK, limit - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _member_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str,
                  text: bool) -> np.ndarray:
    """One ``.npy`` member as an array, refusing object/structured dtypes and lying sizes."""
    if info.file_size > min(MAX_NPZ_MEMBER_BYTES,
                            max(info.compress_size, 1) * _DEFLATE_RATIO + 65536):
        raise DataFormatError(f"{source}: declares {info.file_size} bytes uncompressed from "
                              f"{info.compress_size} compressed bytes; refused")
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise DataFormatError(f"{source}: .npy format version {version} is not read "
                                  "(it exists only for structured dtypes)")
        if not all(type(size) is int and size >= 0 for size in shape):
            raise DataFormatError(f"{source}: header declares shape {shape!r:.80}; sizes must "
                                  "be non-negative integers")
        kinds = "biufcUS" if text else "biufc"
        if dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype is not None \
                or dtype.hasobject:
            raise DataFormatError(f"{source}: dtype {dtype} is refused (plain numeric arrays "
                                  f"only{', or text' if text else ''})")
        nbytes = math.prod(shape) * dtype.itemsize
        held = info.file_size - member.tell()
        if nbytes != held:
            raise DataFormatError(f"{source}: header declares shape {shape} of {dtype} "
                                  f"({nbytes} bytes) but the member holds {held} bytes")
        data = read_at_most(member, nbytes + 1)
    if len(data) != nbytes:
        raise DataFormatError(f"{source}: holds {len(data)} bytes, its header declares {nbytes}")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def load_npz_arrays(path: str | os.PathLike, required: Sequence[str],
                    optional_text: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """The arrays ``required`` (plain numeric) and, when present, ``optional_text`` (numeric
    or text) from the ``.npz`` archive ``path``, checked as the module docstring says.

    Raises
    ------
    DataFormatError
        Not a zip archive, a required array missing, a refused dtype, a size that
        disagrees with the data, or damaged data; the message names ``path``.
    """
    with open(path, "rb") as handle:
        if handle.read(6) == np.lib.format.MAGIC_PREFIX:
            raise DataFormatError(f"{path}: a .npy array, not a .npz archive with "
                                  f"{' and '.join(required)}")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            unreadable = unreadable_zip_members(archive)
            if unreadable:
                raise DataFormatError(f"{path}: encrypted or patched member(s) "
                                      f"{unreadable[:5]} cannot be read")
            missing = [key for key in required if key not in members]
            if missing:
                raise DataFormatError(f"{path}: missing array(s) {missing}; found "
                                      f"{sorted(members)[:20]}")
            return {key: _member_array(archive, members[key], f"{path} ({key})",
                                       text=key in optional_text)
                    for key in (*required, *optional_text) if key in members}
    except DataFormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            zlib.error, NotImplementedError, SyntaxError, KeyError, MemoryError) as error:
        raise DataFormatError(f"{path}: not a readable .npz archive "
                              f"({type(error).__name__}: {str(error):.200})") from None
