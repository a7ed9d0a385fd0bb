"""``lm train --minutes``: the time budget holds the final validation pass too (it used to
run after the budget: a 2-minute run took 3). The clock is a stand-in that advances by a
fixed cost per training step and per validated character, so the arithmetic is checked
exactly, whatever the machine's load."""

from __future__ import annotations

import numpy as np
import pytest

from visiongrad.data import CharVocabulary
from visiongrad.models.char_lm import CharRNN
from visiongrad.recipes import char_lm
from visiongrad.recipes.char_lm import evaluation_seconds, fit

TEXT = "".join(np.random.default_rng(0).choice(list("abcdefgh \n"), 60_000))
STEP_SECONDS, SECONDS_PER_CHARACTER = 0.01, 4e-5  # a 40,000-character pass costs 1.6 s


class StandInClock:
    def __init__(self):
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = StandInClock()
    monkeypatch.setattr(char_lm, "time", clock)
    return clock


def timed_model(clock: StandInClock) -> CharRNN:
    """A small model whose steps and validation passes advance ``clock`` by their cost."""
    model = CharRNN(CharVocabulary.from_text(TEXT), embedding_dim=8, hidden_size=16,
                    num_layers=1)
    loss, evaluate = model.loss, model.evaluate
    validating = []

    def timed_loss(*args):
        clock.now += 0.0 if validating else STEP_SECONDS
        return loss(*args)

    def timed_evaluate(text):  # its own losses are counted in its cost, not as steps
        clock.now += SECONDS_PER_CHARACTER * (len(text) - 1)
        validating.append(True)
        try:
            return evaluate(text)
        finally:
            validating.pop()

    model.loss, model.evaluate = timed_loss, timed_evaluate
    return model


def test_the_final_validation_pass_ends_within_the_time_budget(clock):
    model = timed_model(clock)
    budget, val = 3.0, TEXT[:40_000]  # the final pass takes half the budget
    history = fit(model, TEXT[40_000:], val, seconds=budget, batch_size=4, seq_len=16,
                  eval_every=1e9)
    final = SECONDS_PER_CHARACTER * (len(val) - 1)
    assert history["step"] > 0 and history["eval_step"] == [history["step"]]
    # without the reserve the run took budget + final (4.6 s); the overrun is one step
    assert budget - STEP_SECONDS <= history["seconds"] <= budget + STEP_SECONDS
    assert history["seconds"] < budget + final / 2


def test_the_estimate_of_a_validation_pass_is_its_duration(clock):
    model = timed_model(clock)
    val = model.vocabulary.encode(TEXT[:30_000])
    estimate = evaluation_seconds(model, val)
    assert estimate == pytest.approx(SECONDS_PER_CHARACTER * (len(val) - 1))
