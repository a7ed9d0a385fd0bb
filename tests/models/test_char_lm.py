"""The character-level language model: training lowers the loss, the metrics' formulas,
sampling (seeded, temperature, top-k), the TBPTT batches, a checkpoint round trip."""

import math

import numpy as np
import pytest

import visiongrad as vg
from visiongrad.models.char_lm import CharRNN, loss_metrics
from visiongrad.recipes.char_lm import chunk_batches, fit, load_char_rnn
from visiongrad.train.checkpoint import load_checkpoint, save_checkpoint

TEXT = "the cat sat on the mat. the dog sat on the log. " * 40


def tiny_model(cell="lstm", layers=2, seed=0):
    vg.manual_seed(seed)
    return CharRNN(sorted(set(TEXT)), embedding_dim=8, hidden_size=24, num_layers=layers,
                   cell=cell)


def log_softmax(scores):
    scores = scores - scores.max(axis=-1, keepdims=True)
    return scores - np.log(np.exp(scores).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_training_lowers_the_loss(cell):
    model = tiny_model(cell)
    before = model.evaluate(TEXT)["loss"]
    history = fit(model, TEXT, TEXT[:300], steps=30, batch_size=4, seq_len=16, lr=1e-2,
                  eval_every=1e9)
    after = model.evaluate(TEXT)["loss"]
    assert after < before - 0.25, (before, after)
    assert history["step"] == 30 and len(history["train_loss"]) == 30
    assert history["eval_step"] == [30] and history["val_loss"][0] < before


def test_evaluate_is_the_mean_cross_entropy_of_every_next_character():
    model = tiny_model()
    text = TEXT[:61]
    indices = model.vocabulary.encode(text)
    with vg.no_grad():
        logits, _ = model(indices[None, :-1])
    expected = -log_softmax(logits.data[0].astype(np.float64))[
        np.arange(60), indices[1:]].mean()
    metrics = model.evaluate(text, batch_size=1, seq_len=7)  # state carried over 9 chunks
    assert metrics["loss"] == pytest.approx(expected, rel=1e-5)
    assert metrics["bits_per_char"] == pytest.approx(metrics["loss"] / math.log(2))
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["loss"]))
    assert loss_metrics(math.log(2))["bits_per_char"] == pytest.approx(1.0)


def test_chunk_batches_are_consecutive_chunks_of_contiguous_streams():
    data = np.arange(1000)
    batches = chunk_batches(data, batch_size=3, seq_len=10, rng=np.random.default_rng(0))
    first = [next(batches) for _ in range(40)]
    length = (1000 - 11) // 3 // 10 * 10
    assert [new for *_, new in first].count(True) == 2  # 32 chunks per pass
    for inputs, targets, _ in first:
        assert inputs.shape == targets.shape == (3, 10)
        np.testing.assert_array_equal(targets, inputs + 1)
    (a, _, _), (b, _, _) = first[0], first[1]
    np.testing.assert_array_equal(b[:, 0], a[:, -1] + 1)  # each row goes on where it stopped
    np.testing.assert_array_equal(a[1, 0] - a[0, 0], length)  # rows are consecutive streams


def greedy(model, prime, length):
    """The most likely next character, one at a time, from the whole text so far."""
    indices = list(model.vocabulary.encode(prime))
    for _ in range(length):
        with vg.no_grad():
            logits, _ = model(np.array([indices]))
        indices.append(int(np.argmax(logits.data[0, -1])))
    return model.vocabulary.decode(np.array(indices))


def test_sampling_is_seeded_and_low_temperature_is_argmax():
    model = tiny_model()
    fit(model, TEXT, TEXT[:300], steps=10, batch_size=4, seq_len=16, lr=1e-2, eval_every=1e9)
    first = model.sample("the ", 40, temperature=1.0, seed=3)
    assert first.startswith("the ") and len(first) == 44
    assert model.sample("the ", 40, temperature=1.0, seed=3) == first
    assert len({model.sample("the ", 40, temperature=1.0, seed=s) for s in range(4)}) > 1
    expected = greedy(model, "the ", 30)
    assert model.sample("the ", 30, temperature=1e-4, seed=0) == expected
    assert model.sample("the ", 30, temperature=1.0, seed=5, top_k=1) == expected
    assert model.sample("the ", 0) == "the "


def test_first_draw_follows_softmax_over_temperature():
    model = tiny_model(layers=1)
    with vg.no_grad():
        logits, _ = model(model.vocabulary.encode("the c")[None])
    scores = logits.data[0, -1].astype(np.float64)
    for temperature in (0.02, 2.0):
        p = np.exp(log_softmax(scores / temperature))
        draws = [model.sample("the c", 1, temperature=temperature, seed=s)[-1]
                 for s in range(400)]
        counts = np.array([draws.count(c) for c in model.vocabulary.idx_to_char]) / 400
        assert np.abs(counts - p).max() < 4 * np.sqrt(p.max() / 400) + 0.01, temperature


def test_checkpoint_round_trip_gives_identical_samples(tmp_path):
    model = tiny_model("gru")
    fit(model, TEXT, TEXT[:300], steps=5, batch_size=4, seq_len=16, eval_every=1e9)
    path = save_checkpoint(tmp_path / "lm", model, config={"model": model.config()})
    contents = load_checkpoint(path)
    twin = load_char_rnn(contents["config"]["model"], contents["model"])
    assert twin.vocabulary.idx_to_char == model.vocabulary.idx_to_char
    assert twin.sample("the ", 50, 0.8, seed=1) == model.sample("the ", 50, 0.8, seed=1)


def test_truncated_bptt_carries_the_state_and_cuts_the_graph():
    model = tiny_model()
    inputs = model.vocabulary.encode(TEXT[:33])
    x, y = inputs[None, :-1], inputs[None, 1:]
    whole, _ = model.loss(x, y)
    first, state = model.loss(x[:, :16], y[:, :16])
    second, _ = model.loss(x[:, 16:], y[:, 16:], model.detach_state(state))
    fresh, _ = model.loss(x[:, 16:], y[:, 16:])
    assert (first.item() + second.item()) / 2 == pytest.approx(whole.item(), rel=1e-5)
    assert abs(second.item() - fresh.item()) > 1e-4
    assert all(s.requires_grad for s in state)
    assert not any(s.requires_grad for s in model.detach_state(state))


def test_bad_input_is_a_clear_error():
    model = tiny_model()
    with pytest.raises(ValueError, match="temperature"):
        model.sample("the", 5, temperature=0)
    with pytest.raises(ValueError, match="length"):
        model.sample("the", -1)
    with pytest.raises(ValueError, match="'Z'"):
        model.sample("Zebra", 5)
    with pytest.raises(ValueError, match="prime"):
        model.sample("", 5)
    with pytest.raises(ValueError, match="top_k"):
        model.sample("the", 5, top_k=0)
    with pytest.raises(ValueError, match="cell"):
        CharRNN("abc", cell="lstmx")
    with pytest.raises(ValueError, match="too short"):
        fit(model, TEXT[:50], TEXT[:50], steps=1, batch_size=4, seq_len=16)
    with pytest.raises(ValueError, match="exactly one"):
        fit(model, TEXT, TEXT, steps=1, seconds=1.0)
