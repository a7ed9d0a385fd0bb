"""Plain-text corpora for character-level language models: a reader, a character
vocabulary and the train/validation split.

>>> from visiongrad.data import load_text, CharVocabulary, split_text
>>> text = load_text()                       # the embedded Shakespeare plays, no files needed
>>> vocab = CharVocabulary.from_text(text)
>>> train, val = split_text(text)            # the last 10% held out
>>> vocab.decode(vocab.encode("To be")) == "To be"
True
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from .npz import MAX_EXPANSION_RATIO
from .readers import DataFormatError

EMBEDDED_TEXT = Path(__file__).resolve().parent / "embedded" / "shakespeare.txt.gz"
"""Shakespeare's 37 plays, 4.8 MB of UTF-8 stored as 1.9 MB of gzip (Project Gutenberg,
public domain; see ``LICENSE-shakespeare.txt`` beside it and
``scripts/build_shakespeare_corpus.py``).

Examples
--------
>>> EMBEDDED_TEXT.name, EMBEDDED_TEXT.is_file()
('shakespeare.txt.gz', True)
"""

GZIP_MAX_RATIO = MAX_EXPANSION_RATIO
"""A ``.gz`` text may expand to at most this many times its size on disk (plain text
compresses about 3:1; a gzip bomb reaches 1000:1 and is refused before it is held)."""

MAX_VOCABULARY = 10_000
"""Most distinct characters a :class:`CharVocabulary` may hold: a corpus in Chinese uses a
few thousand; a file of every code point (1.1 million) would make a model whose output
layer and logits take tens of GiB."""

__all__ = ["EMBEDDED_TEXT", "MAX_VOCABULARY", "load_text", "CharVocabulary", "split_text"]


def load_text(path=None) -> str:
    """The text of a UTF-8 file, or of a gzip-compressed one when the name ends in ``.gz``;
    ``None`` gives the embedded Shakespeare corpus.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    DataFormatError
        (a ``ValueError``) the file is empty, is not UTF-8 text, or is a ``.gz`` file that
        is not gzip or expands past ``GZIP_MAX_RATIO`` times its size; the message names the
        file and, for bad UTF-8, the offset of the first bad byte.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> text = data.load_text()   # the embedded Shakespeare
    >>> len(text) > 1_000_000, text[:9]
    (True, "ALL'S WEL")
    """
    path = EMBEDDED_TEXT if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such text file")
    raw = _decompressed(path) if path.suffix == ".gz" else path.read_bytes()
    if not raw:
        raise DataFormatError(f"{path}: the text file is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{path}: not UTF-8 text (byte 0x{raw[error.start]:02x} at "
                              f"offset {error.start})") from None
    return text.removeprefix("\ufeff")  # a byte-order mark is not part of the text


def _decompressed(path: Path) -> bytes:
    """The bytes of a gzip file, read in pieces and refused once they pass the ratio cap."""
    limit = GZIP_MAX_RATIO * max(path.stat().st_size, 1)
    pieces, total = [], 0
    try:
        with gzip.open(path, "rb") as stream:
            while piece := stream.read(1 << 20):
                total += len(piece)
                if total > limit:
                    raise DataFormatError(f"{path}: expands to more than {GZIP_MAX_RATIO} "
                                          "times its size; refused as a likely gzip bomb")
                pieces.append(piece)
    except (OSError, EOFError, zlib.error) as error:
        raise DataFormatError(f"{path}: not a readable gzip file ({error})") from None
    return b"".join(pieces)


def _check_size(count: int) -> None:
    if count == 0:
        raise ValueError("CharVocabulary: no characters given (empty text)")
    if count > MAX_VOCABULARY:
        raise ValueError(f"CharVocabulary: {count} distinct characters is more than the "
                         f"{MAX_VOCABULARY} a character model may have")


class CharVocabulary:
    """The characters of a text, each with an integer index (sorted by code point); at most
    :data:`MAX_VOCABULARY` of them (more is a ``ValueError``).

    Attributes
    ----------
    idx_to_char : list of str
        The characters; index i stands for ``idx_to_char[i]``.
    char_to_idx : dict
        The inverse map.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> vocabulary = data.CharVocabulary.from_text('hello')
    >>> vocabulary.idx_to_char, vocabulary.encode('hole'), vocabulary.decode([2, 1])
    (['e', 'h', 'l', 'o'], array([1, 3, 2, 0]), 'lh')
    """

    def __init__(self, chars):
        if isinstance(chars, str):  # distinct code points counted in NumPy, before any set
            codes = np.unique(np.frombuffer(chars.encode("utf-32-le", "surrogatepass"),
                                            dtype=np.uint32))
            _check_size(len(codes))
            chars = map(chr, codes.tolist())
        self.idx_to_char = sorted(set(chars))
        _check_size(len(self.idx_to_char))
        if any(len(c) != 1 for c in self.idx_to_char):
            raise ValueError("CharVocabulary: every entry must be a single character")
        self.char_to_idx = {c: i for i, c in enumerate(self.idx_to_char)}
        codes = np.array([ord(c) for c in self.idx_to_char])
        self._index_of_code = np.full(codes.max() + 1, -1, dtype=np.int64)
        self._index_of_code[codes] = np.arange(len(codes))

    @classmethod
    def from_text(cls, text: str) -> CharVocabulary:
        """The vocabulary of every character that occurs in ``text``."""
        return cls(text)

    def __len__(self) -> int:
        return len(self.idx_to_char)

    def __repr__(self) -> str:
        return f"CharVocabulary({len(self)} characters)"

    def encode(self, text: str) -> np.ndarray:
        """``text`` as an int64 array of indices; a character outside the vocabulary is a
        ``ValueError`` naming it and its position."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        known = codes < len(self._index_of_code)
        indices = np.where(known, self._index_of_code[np.where(known, codes, 0)], -1)
        if (indices < 0).any():
            position = int(np.argmax(indices < 0))
            raise ValueError(f"character {text[position]!r} at position {position} is not in "
                             f"the vocabulary of {len(self)} characters")
        return indices

    def decode(self, indices) -> str:
        """The text of a sequence of indices (the inverse of ``encode``)."""
        indices = np.asarray(indices).reshape(-1)
        if indices.size and (indices.dtype.kind not in "iu" or indices.min() < 0
                             or indices.max() >= len(self)):
            raise ValueError(f"decode: indices must be integers in [0, {len(self)}), got "
                             f"values from {indices.min()} to {indices.max()}")
        return "".join(self.idx_to_char[i] for i in indices.tolist())


def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """(train, validation): the validation part is the last ``val_fraction`` of the text,
    so it is text the model has never seen, not a shuffled sample of it.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import data
    >>> train, val = data.split_text('abcdefghij', val_fraction=0.2)
    >>> train, val
    ('abcdefgh', 'ij')
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    cut = len(text) - int(round(len(text) * val_fraction))
    if cut <= 0 or cut >= len(text):
        raise ValueError(f"a text of {len(text)} characters is too short to hold out "
                         f"{val_fraction:.0%} of it for validation")
    return text[:cut], text[cut:]
