"""Corpus BLEU: against sacrebleu on random corpora (test-only reference), and by hand."""

import math

import numpy as np
import pytest

from visiongrad.train.bleu import bleu_scores, corpus_bleu


def test_by_hand():
    assert corpus_bleu(["a cat on a mat"], [["a cat on a mat"]]) == pytest.approx(100)
    # a 2-word hypothesis of a 4-word reference: p1 = p2 = 1, BP = exp(1 - 4/2)
    assert corpus_bleu([["a", "cat"]], [[["a", "cat", "on", "mat"]]], max_order=2) == \
        pytest.approx(100 * math.exp(-1))
    # one of two unigrams clipped (the reference has one "a"); the closest reference counts
    assert corpus_bleu(["a a"], [["a b", "a b c d e"]], max_order=1) == pytest.approx(50)
    assert corpus_bleu(["x y"], [["a b"]]) == 0.0
    assert set(bleu_scores(["a b"], [["a b"]])) == {"bleu1", "bleu2", "bleu3", "bleu4"}


def test_matches_sacrebleu_on_random_sentences():
    sacrebleu = pytest.importorskip("sacrebleu", reason="sacrebleu is a test-only reference")
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(8)]
    for _ in range(60):
        n, refs_per = int(rng.integers(1, 15)), int(rng.integers(1, 4))
        hyps = [" ".join(rng.choice(words, rng.integers(0, 12))) for _ in range(n)]
        refs = [[" ".join(rng.choice(words, rng.integers(1, 12))) for _ in range(refs_per)]
                for _ in range(n)]
        streams = [[refs[i][r] for i in range(n)] for r in range(refs_per)]
        for order in (1, 2, 3, 4):
            expected = sacrebleu.metrics.BLEU(max_ngram_order=order, tokenize="none"
                                              ).corpus_score(hyps, streams).score
            assert corpus_bleu(hyps, refs, order) == pytest.approx(expected, abs=1e-9)


def test_bad_input():
    with pytest.raises(ValueError, match="one list per hypothesis"):
        corpus_bleu(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="no reference"):
        corpus_bleu(["a"], [[]])
    with pytest.raises(ValueError, match="max_order"):
        corpus_bleu(["a"], [["a"]], max_order=0)
