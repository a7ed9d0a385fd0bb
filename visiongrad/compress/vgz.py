"""The ``.vgz`` file: a model compressed by pruning, weight sharing and Huffman coding.

Layout (all integers little-endian)::

    offset 0   4 bytes   magic b"VGZ1"
    offset 4   uint32    H, the size of the header
    offset 8   H bytes   the header: zlib-compressed UTF-8 JSON (strict; below)
    offset 8+H           the sections, back to back, in the header's order; their sizes
                         add up to exactly the rest of the file

The header is ``{"format": "visiongrad-vgz/1", "config": {...}, "tensors": [...]}``;
``config`` is the checkpoint's config (model name, input shape, classes, normaliser), and
each tensor (a state-dict entry, in order) is one of:

- ``{"name", "shape", "dtype", "stored", "encoding": "raw", "sections": [n]}``: the
  values in C order (decoded as ``dtype``: float32, float64 or int64), stored as
  ``stored`` (the same dtype, or float16 for a floating one): biases, batch-norm
  statistics;
- ``{"name", "shape", "dtype": "float32", "stored", "encoding": "shared", "coding":
  "huffman" or "fixed", "cluster_bits": c, "index_bits": b, "centroids": K, "entries": n,
  "sections": [codebook, g, s]}`` and, when coded by Huffman, ``"gap_lengths"`` and
  ``"symbol_lengths"`` (canonical code lengths, :mod:`.huffman`): a pruned and clustered
  weight. Section 1 is the codebook (K values stored as float32 or float16); section 2
  the n relative gaps and section 3 the n symbols of :mod:`.sparse` (0 = zero, k =
  centroid k - 1), each Huffman coded or packed at b (gaps) and c (symbols) bits.

Reading checks every size before it allocates: the header's size against the file and
against :data:`MAX_HEADER_BYTES` once decompressed, every field's type and range, the
sections' sizes against the file, each shape against its sections (raw: exactly; shared:
``n <= 8 x`` section bytes and ``size < (n + 1) 2**b``), and all tensors together at most
:data:`MAX_EXPANSION` times the file's size (plus :data:`EXPANSION_ALLOWANCE`). Anything
else, and a code running past its section's end, is a :class:`VgzError` naming the file.
"""

from __future__ import annotations

import json
import math
import os
import struct
import zlib
from collections.abc import Mapping

import numpy as np

from . import huffman
from .sparse import dense_symbols, pack_bits, relative_indices, unpack_bits

MAGIC = b"VGZ1"
FORMAT = "visiongrad-vgz/1"
SUFFIX = ".vgz"
MAX_HEADER_BYTES = 1 << 20
"""Largest decompressed header read."""
MAX_EXPANSION = 1024
"""A file's tensors may hold at most this many bytes per byte of file (40x is typical)."""
EXPANSION_ALLOWANCE = 1 << 20
DTYPES = {"float32": np.float32, "float64": np.float64, "int64": np.int64}
"""The dtypes a tensor decodes to."""
STORED = {"float16": np.float16, **DTYPES}
"""The dtypes values are stored as (floating ones may be stored in float16: ``half``)."""
INDEX_BITS = range(2, 9)
"""Widths of the relative index tried per layer; the one giving the fewest bytes is kept."""


class VgzError(ValueError):
    """A file that is not a readable ``.vgz`` model; the message names the file.

    Examples
    --------
    >>> from visiongrad.compress import VgzError
    >>> from visiongrad.compress import decode_vgz
    >>> try:
    ...     decode_vgz(b'not a model', source='model.vgz')
    ... except VgzError as error:
    ...     print(type(error).__name__, 'model.vgz' in str(error))
    VgzError True
    """


# ----- writing ---------------------------------------------------------------------------
def _codebook(weight: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(centroids, symbols): a weight's distinct non-zero values and, per weight, 0 or
    1 + the index of its value. A weight with more than ``2**bits - 1`` values was not
    clustered to ``bits`` bits."""
    centroids = np.unique(weight[weight != 0]).astype(np.float32)
    if centroids.size > 2 ** bits - 1:
        raise ValueError(f"a weight with {centroids.size} distinct values does not fit "
                         f"{bits} cluster bits (cluster it first)")
    symbols = np.searchsorted(centroids, weight.ravel().astype(np.float32)) + 1
    return centroids, np.where(weight.ravel() != 0, symbols, 0)


def _coded(stream: np.ndarray, alphabet: int, bits: int, use_huffman: bool):
    """(bytes, lengths or None) of one stream, Huffman coded or packed at ``bits``."""
    if not use_huffman:
        return pack_bits(stream, bits), None
    lengths = huffman.code_lengths(np.bincount(stream, minlength=alphabet))
    return huffman.encode(stream, lengths), lengths


def _stored_bytes(array: np.ndarray, stored: str) -> bytes:
    return np.ascontiguousarray(array).astype(np.dtype(STORED[stored]).newbyteorder("<")
                                              ).tobytes()


def encode_shared(weight: np.ndarray, cluster_bits: int, use_huffman: bool,
                  index_bits: int | None = None, half: bool = False) -> tuple[dict, list[bytes]]:
    """A clustered weight's header entry (without its name) and its three sections.

    ``index_bits`` None tries every width in :data:`INDEX_BITS` and keeps the smallest.
    """
    if index_bits is None:
        candidates = [encode_shared(weight, cluster_bits, use_huffman, bits, half)
                      for bits in INDEX_BITS]
        return min(candidates, key=lambda entry: sum(map(len, entry[1])))
    centroids, symbols = _codebook(weight, cluster_bits)
    gaps, entry_symbols = relative_indices(symbols, index_bits)
    gap_bytes, gap_lengths = _coded(gaps, 2 ** index_bits, index_bits, use_huffman)
    symbol_bytes, symbol_lengths = _coded(entry_symbols, centroids.size + 1, cluster_bits,
                                          use_huffman)
    stored = "float16" if half else "float32"
    entry = {"shape": list(weight.shape), "dtype": "float32", "stored": stored,
             "encoding": "shared",
             "coding": "huffman" if use_huffman else "fixed", "cluster_bits": cluster_bits,
             "index_bits": index_bits, "centroids": int(centroids.size),
             "entries": int(gaps.size)}
    if use_huffman:
        entry["gap_lengths"] = gap_lengths.tolist()
        entry["symbol_lengths"] = symbol_lengths.tolist()
    return entry, [_stored_bytes(centroids, stored), gap_bytes, symbol_bytes]


def encode_vgz(state: Mapping[str, np.ndarray], config: Mapping, cluster_bits: Mapping[str, int],
               use_huffman: bool = True, half: bool = False) -> tuple[bytes, list[dict]]:
    """The ``.vgz`` bytes of a state dict, and each tensor's header entry with its
    ``"bytes"`` (its sections' total).

    ``cluster_bits`` names the weights to store shared (each clustered to at most
    ``2**bits - 1`` values beside zero); every other entry is stored raw. ``half`` stores
    the codebooks and the raw floating tensors in float16 (they decode to float32).

    Examples
    --------
    >>> from visiongrad.compress import encode_vgz
    >>> state = {'weight': np.zeros((4, 4), np.float32)}
    >>> data, entries = encode_vgz(state, {'model': 'mlp'}, cluster_bits={})
    >>> data[:4], len(entries)
    (b'VGZ1', 1)
    """
    entries, sections = [], []
    for name, value in state.items():
        array = np.asarray(value)
        if name in cluster_bits:
            entry, parts = encode_shared(array, int(cluster_bits[name]), use_huffman,
                                         half=half)
        else:
            dtype = next((key for key, kind in DTYPES.items() if array.dtype == kind), None)
            if dtype is None:
                raise ValueError(f"cannot store {name} of dtype {array.dtype} in a .vgz file")
            stored = "float16" if half and array.dtype.kind == "f" else dtype
            parts = [_stored_bytes(array, stored)]
            entry = {"shape": list(array.shape), "dtype": dtype, "stored": stored,
                     "encoding": "raw"}
        entry = {"name": name, **entry, "sections": [len(part) for part in parts]}
        entries.append(entry)
        sections += parts
    header = zlib.compress(json.dumps({"format": FORMAT, "config": dict(config),
                                       "tensors": entries}, allow_nan=False).encode(), 9)
    data = MAGIC + struct.pack("<I", len(header)) + header + b"".join(sections)
    return data, [{**entry, "bytes": sum(entry["sections"])} for entry in entries]


# ----- reading ---------------------------------------------------------------------------
class _Bad(ValueError):
    """Raised while reading; :func:`decode_vgz` adds the file's name."""


def _int(entry: Mapping, key: str, low: int, high: int) -> int:
    value = entry.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _Bad(f"tensor {entry.get('name')!r:.60}: {key} must be an integer in "
                   f"[{low}, {high}], got {value!r:.40}")
    return value


def _shape(entry: Mapping) -> tuple[int, ...]:
    shape = entry.get("shape")
    if not isinstance(shape, list) or len(shape) > 8 or not all(
            isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2 ** 40 for n in shape):
        raise _Bad(f"tensor {entry.get('name')!r:.60}: shape must be a list of at most 8 "
                   f"non-negative integers, got {shape!r:.80}")
    return tuple(shape)


def _lengths(entry: Mapping, key: str, alphabet: int) -> np.ndarray:
    lengths = entry.get(key)
    if not isinstance(lengths, list) or len(lengths) > alphabet or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in lengths):
        raise _Bad(f"tensor {entry.get('name')!r:.60}: {key} must be a list of at most "
                   f"{alphabet} integers")
    return huffman.check_lengths(np.asarray(lengths, dtype=np.int64))


def _check_entry(entry) -> int:
    """Validate one header entry (no data read); return the bytes it will allocate."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise _Bad("each tensor must be an object with a string name")
    shape, name = _shape(entry), entry["name"]
    size = math.prod(shape)
    sections = entry.get("sections")
    encoding = entry.get("encoding")
    expected = {"raw": 1, "shared": 3}.get(encoding) if isinstance(encoding, str) else None
    if expected is None:
        raise _Bad(f"tensor {name!r:.60}: unknown encoding {entry.get('encoding')!r:.20}")
    if not isinstance(sections, list) or len(sections) != expected or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in sections):
        raise _Bad(f"tensor {name!r:.60}: sections must be {expected} non-negative sizes")
    if not isinstance(entry.get("dtype"), str) or entry["dtype"] not in DTYPES or (
            entry["encoding"] == "shared" and entry["dtype"] != "float32"):
        raise _Bad(f"tensor {name!r:.60}: unsupported dtype {entry.get('dtype')!r:.20}")
    stored = entry.get("stored")
    if not isinstance(stored, str) or stored not in STORED or (
            stored != entry["dtype"] and not (stored == "float16"
                                               and entry["dtype"].startswith("float"))):
        raise _Bad(f"tensor {name!r:.60}: cannot store {entry['dtype']} as {stored!r:.20}")
    itemsize, stored_size = (np.dtype(DTYPES[entry["dtype"]]).itemsize,
                             np.dtype(STORED[stored]).itemsize)
    if entry["encoding"] == "raw":
        if sections[0] != size * stored_size:
            raise _Bad(f"tensor {name!r:.60}: shape {shape} needs {size * stored_size} "
                       f"bytes, its section has {sections[0]}")
        return size * itemsize
    cluster_bits, index_bits = (_int(entry, "cluster_bits", 1, 16),
                                _int(entry, "index_bits", 1, 16))
    centroids = _int(entry, "centroids", 0, 2 ** cluster_bits - 1)
    entries = _int(entry, "entries", 0, 8 * min(sections[1], sections[2]))
    if not isinstance(entry.get("coding"), str) or entry["coding"] not in ("huffman", "fixed"):
        raise _Bad(f"tensor {name!r:.60}: unknown coding {entry.get('coding')!r:.20}")
    if sections[0] != stored_size * centroids:
        raise _Bad(f"tensor {name!r:.60}: {centroids} centroids need "
                   f"{stored_size * centroids} bytes, its codebook section has {sections[0]}")
    if entry["coding"] == "fixed" and sections[1:] != [-(-entries * index_bits // 8),
                                                       -(-entries * cluster_bits // 8)]:
        raise _Bad(f"tensor {name!r:.60}: {entries} entries of {index_bits} and "
                   f"{cluster_bits} bits do not fill sections of {sections[1:]} bytes")
    if size >= (entries + 1) * 2 ** index_bits:
        raise _Bad(f"tensor {name!r:.60}: {entries} entries of {index_bits}-bit gaps cannot "
                   f"cover shape {shape}")
    return size * itemsize


def _decode_shared(entry: Mapping, parts: list[bytes]) -> np.ndarray:
    shape, name, count = tuple(entry["shape"]), entry["name"], entry["entries"]
    centroids = _values(parts[0], entry["stored"], "float32")
    if entry["coding"] == "huffman":
        gap_lengths = _lengths(entry, "gap_lengths", 2 ** entry["index_bits"])
        symbol_lengths = _lengths(entry, "symbol_lengths", centroids.size + 1)
        gaps = huffman.decode(parts[1], gap_lengths, count)
        symbols = huffman.decode(parts[2], symbol_lengths, count)
    else:
        gaps = unpack_bits(parts[1], entry["index_bits"], count)
        symbols = unpack_bits(parts[2], entry["cluster_bits"], count)
    size = math.prod(shape)
    covered = int(np.sum(gaps + 1))
    if not covered <= size < covered + 2 ** entry["index_bits"]:
        raise _Bad(f"tensor {name!r:.60}: its gaps cover {covered} positions, not the "
                   f"{size} of shape {shape}")
    if symbols.size and symbols.max() > centroids.size:
        raise _Bad(f"tensor {name!r:.60}: a symbol refers to centroid {symbols.max()} of "
                   f"{centroids.size}")
    values = np.concatenate([np.zeros(1, dtype=np.float32), centroids])
    return values[dense_symbols(gaps, symbols, size)].reshape(shape)


def decode_vgz(data: bytes, source: str = "<bytes>") -> tuple[dict[str, np.ndarray], dict]:
    """``(state, config)`` of ``.vgz`` bytes; ``source`` names them in errors.

    Raises
    ------
    VgzError
        (a ``ValueError``) For anything but a well-formed file, naming ``source``.

    Examples
    --------
    >>> from visiongrad.compress import decode_vgz
    >>> from visiongrad.compress import encode_vgz
    >>> state = {'weight': np.eye(3, dtype=np.float32)}
    >>> data, _ = encode_vgz(state, {'model': 'mlp'}, cluster_bits={})
    >>> restored, config = decode_vgz(data)
    >>> np.array_equal(restored['weight'], state['weight']), config
    (True, {'model': 'mlp'})
    """
    try:
        return _decode(data)
    except (_Bad, huffman.HuffmanError) as error:
        raise VgzError(f"{source} is not a readable .vgz file: {error}") from None


def _decode(data: bytes) -> tuple[dict[str, np.ndarray], dict]:
    if len(data) < 8 or data[:4] != MAGIC:
        raise _Bad(f"it does not start with {MAGIC!r}")
    (header_size,) = struct.unpack("<I", data[4:8])
    if header_size > len(data) - 8:
        raise _Bad(f"its header claims {header_size} bytes but the file has {len(data) - 8} "
                   f"after the magic")
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(data[8:8 + header_size], MAX_HEADER_BYTES)
    except zlib.error as error:
        raise _Bad(f"its header is not zlib data ({error})") from None
    if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        raise _Bad(f"its header is truncated, longer than {MAX_HEADER_BYTES} bytes, or "
                   f"followed by stray bytes")
    try:
        header = json.loads(text.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise _Bad(f"its header is not strict JSON ({str(error):.100})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _Bad(f"its header is not a {FORMAT} header")
    tensors, config = header.get("tensors"), header.get("config")
    if not isinstance(tensors, list) or not isinstance(config, dict):
        raise _Bad("its header lacks the tensors list or the config object")
    allocated = sum(_check_entry(entry) for entry in tensors)
    if len({entry["name"] for entry in tensors}) != len(tensors):
        raise _Bad("two tensors have the same name")
    body = len(data) - 8 - header_size
    declared = sum(sum(entry["sections"]) for entry in tensors)
    if declared != body:
        raise _Bad(f"its sections claim {declared} bytes but {body} follow the header "
                   f"(truncated or padded)")
    if allocated > MAX_EXPANSION * len(data) + EXPANSION_ALLOWANCE:
        raise _Bad(f"its tensors would take {allocated} bytes, more than {MAX_EXPANSION} "
                   f"times the file's {len(data)}")
    state, offset = {}, 8 + header_size
    for entry in tensors:
        parts = []
        for size in entry["sections"]:
            parts.append(data[offset:offset + size])
            offset += size
        if entry["encoding"] == "raw":
            state[entry["name"]] = _values(parts[0], entry["stored"], entry["dtype"]
                                           ).reshape(entry["shape"])
        else:
            state[entry["name"]] = _decode_shared(entry, parts)
    return state, config


def _values(data: bytes, stored: str, dtype: str) -> np.ndarray:
    """Little-endian ``stored`` values as a new array of ``dtype``."""
    return np.frombuffer(data, dtype=np.dtype(STORED[stored]).newbyteorder("<")).astype(
        DTYPES[dtype])


def _refuse_constant(name: str):
    raise _Bad(f"its header is not strict JSON (it holds {name})")


def read_vgz(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """``(state, config)`` of a ``.vgz`` file (see :func:`decode_vgz`).

    Examples
    --------
    >>> from visiongrad.compress import read_vgz
    >>> import os, tempfile; path = os.path.join(tempfile.mkdtemp(), 'model.vgz')
    >>> from visiongrad.compress import encode_vgz
    >>> state = {'weight': np.eye(3, dtype=np.float32)}
    >>> data, _ = encode_vgz(state, {'model': 'mlp'}, cluster_bits={})
    >>> _ = open(path, 'wb').write(data)
    >>> state, config = read_vgz(path)
    >>> state['weight'].shape, config
    ((3, 3), {'model': 'mlp'})
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    with open(path, "rb") as handle:
        data = handle.read()
    return decode_vgz(data, str(path))


def read_vgz_checkpoint(path: str | os.PathLike) -> dict:
    """A ``.vgz`` file as ``train.checkpoint.load_checkpoint`` returns a checkpoint:
    ``{"model": state dict, "config": config}`` (nothing else is stored)."""
    state, config = read_vgz(path)
    return {"model": state, "config": config}
