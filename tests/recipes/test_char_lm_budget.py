"""``lm train --minutes``: the time budget holds the final validation pass too (it used to
run after the budget: a 2-minute run took 3)."""

from __future__ import annotations

import time

import numpy as np

from visiongrad.data import CharVocabulary
from visiongrad.models.char_lm import CharRNN
from visiongrad.recipes.char_lm import evaluation_seconds, fit

TEXT = "".join(np.random.default_rng(0).choice(list("abcdefgh \n"), 200_000))


def small_model() -> CharRNN:
    return CharRNN(CharVocabulary.from_text(TEXT), embedding_dim=8, hidden_size=32,
                   num_layers=1)


def test_the_final_validation_pass_ends_within_the_time_budget():
    model, durations = small_model(), []
    evaluate = model.evaluate

    def timed(text):
        started = time.perf_counter()
        metrics = evaluate(text)
        durations.append(time.perf_counter() - started)
        return metrics

    model.evaluate = timed
    budget, val = 3.0, TEXT[:150_000]  # a validation pass of a large part of the budget
    history = fit(model, TEXT[50_000:], val, seconds=budget, batch_size=4, seq_len=16,
                  eval_every=1e9)
    final = durations[-1]
    assert history["step"] > 0 and final > 0.1 * budget
    # without the reserve the run took budget + final
    assert history["seconds"] <= budget + 0.5 * final, (history["seconds"], final)


def test_the_estimate_of_a_validation_pass_is_its_duration():
    model = small_model()
    val = model.vocabulary.encode(TEXT[:100_000])
    estimate = evaluation_seconds(model, val)
    started = time.perf_counter()
    model.evaluate(val)
    assert 0.5 < estimate / (time.perf_counter() - started) < 2.0
