"""Corpus BLEU (Papineni et al., 2002) as sacrebleu computes it, on tokenised sentences.

For n = 1..N: p_n = (sum over hypotheses of the clipped n-gram matches) / (sum of the
hypotheses' n-gram counts), a match clipped to the most times the n-gram occurs in any
one reference of that hypothesis. BLEU-N = BP * exp(mean_n log p_n), times 100, with the
brevity penalty BP = exp(1 - r / c) if c < r else 1, where c is the hypotheses' total
length and r the sum of the reference lengths closest to each hypothesis's length (the
shorter one on a tie). A p_n with no match is smoothed as sacrebleu's default "exp"
method does: the k-th such order gets 1 / (2^k * count_n); with no match of any order the
score is 0.

Sentences are lists of tokens (or strings, split on whitespace): this is sacrebleu's
``tokenize="none"``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence


def _tokens(sentence) -> list[str]:
    return sentence.split() if isinstance(sentence, str) else list(sentence)


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def corpus_statistics(hypotheses: Sequence, references: Sequence[Sequence],
                      max_order: int = 4) -> tuple[list[int], list[int], int, int]:
    """(matches per order, n-grams per order, hypothesis length, reference length)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"references must give one list per hypothesis: got "
                         f"{len(hypotheses)} hypotheses and {len(references)} reference lists")
    matches, counts = [0] * max_order, [0] * max_order
    hyp_length = ref_length = 0
    for row, (hypothesis, refs) in enumerate(zip(hypotheses, references, strict=True)):
        hyp = _tokens(hypothesis)
        refs = [_tokens(ref) for ref in ([refs] if isinstance(refs, str) else refs)]
        if not refs:
            raise ValueError(f"hypothesis {row} has no reference")
        hyp_length += len(hyp)
        ref_length += min((abs(len(ref) - len(hyp)), len(ref)) for ref in refs)[1]
        for n in range(1, max_order + 1):
            hyp_ngrams = _ngrams(hyp, n)
            most = Counter()
            for ref in refs:
                most |= _ngrams(ref, n)
            matches[n - 1] += sum((hyp_ngrams & most).values())
            counts[n - 1] += max(len(hyp) - n + 1, 0)
    return matches, counts, hyp_length, ref_length


def corpus_bleu(hypotheses: Sequence, references: Sequence[Sequence],
                max_order: int = 4) -> float:
    """BLEU-``max_order`` (0..100) of ``hypotheses`` against their ``references`` (one list
    of reference sentences per hypothesis; sentences as token lists or strings)."""
    if int(max_order) != max_order or max_order < 1:
        raise ValueError(f"max_order must be a positive integer, got {max_order}")
    matches, counts, c, r = corpus_statistics(hypotheses, references, max_order)
    if not any(matches):
        return 0.0
    log_sum, halvings = 0.0, 1.0
    for n in range(max_order):
        if counts[n] == 0:
            return 0.0
        if matches[n] == 0:
            halvings *= 2
            precision = 1.0 / (halvings * counts[n])
        else:
            precision = matches[n] / counts[n]
        log_sum += math.log(precision)
    brevity = 1.0 if c >= r else (math.exp(1 - r / c) if c > 0 else 0.0)
    return 100.0 * brevity * math.exp(log_sum / max_order)


def bleu_scores(hypotheses: Sequence, references: Sequence[Sequence],
                max_order: int = 4) -> dict[str, float]:
    """{"bleu1": ..., ..., "bleu<max_order>": ...}: corpus BLEU-1 to BLEU-max_order."""
    return {f"bleu{n}": corpus_bleu(hypotheses, references, n) for n in range(1, max_order + 1)}
