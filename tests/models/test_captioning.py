"""CaptioningRNN: the course's loss check, gradients of the whole loss (rnn, lstm, gru, with
and without attention), sampling and <END>, the params view, bad input; the attention op."""

import numpy as np
import pytest

import visiongrad.functional as F
from tests.helpers import assert_gradcheck, torch_or_skip
from visiongrad.autograd import no_grad
from visiongrad.gradcheck import numerical_gradient
from visiongrad.models import CaptioningRNN
from visiongrad.ops.attention import DotProductAttention, attention_weights

VOCAB = {"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3, "bag": 4, "left": 5}


def course_model(cell):
    """The course's check: N=10, D=20, W=30, H=40, its three-word vocabulary, linspace."""
    model = CaptioningRNN({"<NULL>": 0, "cat": 2, "dog": 3}, input_dim=20, wordvec_dim=30,
                          hidden_dim=40, cell_type=cell, dtype=np.float64)
    for name, value in model.params.items():
        model.params[name] = np.linspace(-1.4, 1.3, num=value.size).reshape(*value.shape)
    features = np.linspace(-1.5, 0.3, num=10 * 20).reshape(10, 20)
    captions = (np.arange(10 * 13) % 3).reshape(10, 13)
    return model, features, captions


def test_course_rnn_loss_value():
    model, features, captions = course_model("rnn")
    assert abs(model.loss(features, captions).item() - 9.83235591003) < 1e-10


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def reference_loss(params, features, captions, cell):
    """The course's captioning loss written out in NumPy, step by step."""
    p = params
    x_in, y, H = captions[:, :-1], captions[:, 1:], p["Wh"].shape[0]
    h, c, loss = features @ p["W_proj"] + p["b_proj"], 0.0, 0.0
    for t in range(x_in.shape[1]):
        a = p["W_embed"][x_in[:, t]] @ p["Wx"] + h @ p["Wh"] + p["b"]
        if cell == "lstm":  # gate order i, f, o, g
            i, f, o = (_sigmoid(a[:, k * H:(k + 1) * H]) for k in range(3))
            c = f * c + i * np.tanh(a[:, 3 * H:])
            h = o * np.tanh(c)
        else:  # gru, r z n, one bias: n = tanh(x Wx_n + b_n + r * (h Wh_n))
            gx = p["W_embed"][x_in[:, t]] @ p["Wx"] + p["b"]
            gh = h @ p["Wh"]
            r, z = _sigmoid(gx[:, :H] + gh[:, :H]), _sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
            n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
            h = (1 - z) * n + z * h
        scores = h @ p["W_vocab"] + p["b_vocab"]
        log_p = scores - scores.max(1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
        loss -= (log_p[np.arange(len(y)), y[:, t]] * (y[:, t] != 0)).sum()
    return loss / len(captions)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_course_check_lstm_gru_against_numpy(cell):
    model, features, captions = course_model(cell)
    expected = reference_loss(dict(model.params), features, captions, cell)
    assert abs(model.loss(features, captions).item() - expected) < 1e-10


def small_model(cell, attention, seed=0):
    rng = np.random.default_rng(seed)
    model = CaptioningRNN(VOCAB, input_dim=5, wordvec_dim=4, hidden_dim=6, cell_type=cell,
                          attention=attention, dtype=np.float64, rng=seed)
    for name, value in model.params.items():
        model.params[name] = rng.standard_normal(value.shape) * 0.5
    features = rng.standard_normal((3, 5, 2, 3) if attention else (3, 5))
    captions = rng.integers(0, len(VOCAB), (3, 5))
    captions[:, 0] = 1
    captions[0, 3:] = 0  # padding, masked out
    return model, features, captions


@pytest.mark.parametrize("attention", [False, True])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_scores_gradcheck(cell, attention):
    """Every parameter and the features, through the vocabulary scores (float64)."""
    model, features, captions = small_model(cell, attention)
    names = list(model.params)

    def scores(*tensors):
        for name, tensor in zip(names, tensors[:-1], strict=True):
            model._parameters[name] = tensor  # the checked tensors stand in for the parameters
        return model.scores(tensors[-1], captions[:, :-1])

    assert_gradcheck(scores, [*model.params.values(), features], h=1e-5,
                     max_coords=40)


@pytest.mark.parametrize("attention", [False, True])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_loss_gradients_match_numerical(cell, attention):
    model, features, captions = small_model(cell, attention, seed=1)
    model.loss(features, captions).backward()
    rng = np.random.default_rng(0)

    def loss():
        with no_grad():
            return model.loss(features, captions).item()

    for name, parameter in model.named_parameters():
        coords = rng.choice(parameter.size, size=min(parameter.size, 20), replace=False)
        numerical = numerical_gradient(loss, parameter.data, coords=coords)
        analytic = parameter.grad.reshape(-1)[coords]
        numerical = numerical.reshape(-1)[coords]
        # the loss is a sum of order 10: round-off is relative to the gradient's scale
        assert np.abs(analytic - numerical).max() <= 1e-6 * np.abs(numerical).max(), name


def test_params_view_and_layouts():
    model = CaptioningRNN(VOCAB, input_dim=7, wordvec_dim=5, hidden_dim=4, cell_type="lstm",
                          attention=True)
    shapes = {name: value.shape for name, value in model.params.items()}
    assert shapes == {"W_proj": (7, 4), "b_proj": (4,), "W_embed": (6, 5), "Wx": (5, 16),
                      "Wh": (4, 16), "b": (16,), "Wattn": (4, 16), "W_vocab": (4, 6),
                      "b_vocab": (6,), "Wattn_vocab": (4, 6)}
    assert list(model.state_dict()) == list(shapes)
    model.params["b"] = np.arange(16.0)
    assert model.b.data.dtype == np.float32 and model.b.data[3] == 3
    with pytest.raises(ValueError, match="params\\['b'\\] must have shape"):
        model.params["b"] = np.zeros(3)
    with pytest.raises(KeyError, match="no parameter"):
        model.params["W"]


def test_sample_greedy_and_end():
    model, features, _ = small_model("lstm", False)
    model.params["W_vocab"] = np.zeros_like(model.params["W_vocab"])
    model.params["b_vocab"] = np.eye(6)[3] * 5  # "a" wins every step
    assert (model.sample(features, max_length=4) == 3).all()
    model.params["b_vocab"] = np.eye(6)[2] * 5  # <END> wins: kept, then <NULL>
    captions = model.sample(features, max_length=4)
    assert captions.shape == (3, 4) and (captions[:, 0] == 2).all() and (captions[:, 1:] == 0).all()


@pytest.mark.parametrize("attention", [False, True])
def test_sample_stops_each_caption_at_its_end(attention):
    model, features, _ = small_model("gru", attention, seed=2)
    model.params["b_vocab"] = model.params["b_vocab"] + np.eye(6)[2]
    out = model.sample(np.concatenate([features] * 10), max_length=6, temperature=1.5, rng=0)
    captions, weights = out if attention else (out, None)
    ended_early = 0
    for n, row in enumerate(captions):
        ends = np.flatnonzero(row == 2)
        if len(ends):
            assert (row[ends[0] + 1:] == 0).all()
            ended_early += ends[0] < 5
        if attention:
            steps = ends[0] + 1 if len(ends) else 6
            np.testing.assert_allclose(weights[n, :steps].sum(axis=(1, 2)), 1)
            assert (weights[n, steps:] == 0).all()
    assert ended_early > 0
    assert weights is None or weights.shape == (30, 6, 2, 3)


def test_bad_input():
    with pytest.raises(ValueError, match="<NULL>"):
        CaptioningRNN({"a": 0, "b": 1})
    with pytest.raises(ValueError, match="non-negative integers"):
        CaptioningRNN({"<NULL>": 0, "a": -1})
    with pytest.raises(ValueError, match="cell_type"):
        CaptioningRNN(VOCAB, cell_type="transformer")
    model = CaptioningRNN(VOCAB, input_dim=5, wordvec_dim=4, hidden_dim=6)
    features = np.zeros((2, 5), np.float32)
    with pytest.raises(ValueError, match="outside the vocabulary of 6"):
        model.loss(features, np.array([[1, 6, 2], [1, 3, 2]]))
    with pytest.raises(ValueError, match="N = 2"):
        model.loss(features, np.ones((3, 4), dtype=int))
    with pytest.raises(ValueError, match="T >= 2"):
        model.loss(features, np.ones((2, 1), dtype=int))
    with pytest.raises(TypeError, match="integer"):
        model.loss(features, np.ones((2, 3)))
    with pytest.raises(ValueError, match="input_dim = 5"):
        model.loss(np.zeros((2, 4)), np.ones((2, 3), dtype=int))
    with pytest.raises(ValueError, match="<START> and <END>"):
        CaptioningRNN({"<NULL>": 0, "cat": 1}, input_dim=5).sample(features)
    with pytest.raises(ValueError, match="max_length"):
        model.sample(features, max_length=0)


def test_attention_op_gradcheck_and_formula():
    rng = np.random.default_rng(0)
    h, A = rng.standard_normal((3, 4)), rng.standard_normal((3, 4, 2, 3))
    assert_gradcheck(lambda h, A: DotProductAttention.apply(h, A), [h, A])
    scores = np.array([[h[n] @ A[n, :, i, j] / 2 for i in range(2) for j in range(3)]
                       for n in range(3)])
    alpha = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
    np.testing.assert_allclose(attention_weights(h, A).reshape(3, 6), alpha, rtol=1e-12)
    context = DotProductAttention.apply(h, A).data
    np.testing.assert_allclose(context, np.einsum("nhl,nl->nh", A.reshape(3, 4, 6), alpha))
    with pytest.raises(ValueError, match="A must be"):
        DotProductAttention.apply(h, A[:, :3])


def test_functional_dot_product_attention_is_the_courses():
    """F.dot_product_attention(prev_h, A) -> (context, weights), as the course's."""
    rng = np.random.default_rng(3)
    h, A = rng.standard_normal((2, 5)), rng.standard_normal((2, 5, 3, 2))
    context, weights = F.dot_product_attention(h, A)
    scores = np.einsum("nh,nhl->nl", h, A.reshape(2, 5, 6)) / np.sqrt(5)
    alpha = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
    np.testing.assert_allclose(weights, alpha.reshape(2, 3, 2), rtol=1e-12)
    np.testing.assert_allclose(context.data, np.einsum("nhl,nl->nh", A.reshape(2, 5, 6), alpha))
    assert_gradcheck(lambda h, A: F.dot_product_attention(h, A)[0], [h, A])
    with pytest.raises(ValueError, match="h must be"):
        F.dot_product_attention(h[0], A)


def test_attention_op_matches_torch_sdpa():
    torch = torch_or_skip()
    rng = np.random.default_rng(1)
    for N, H, side in ((2, 5, 3), (4, 8, 2)):
        h, A = rng.standard_normal((N, H)), rng.standard_normal((N, H, side, side))
        th = torch.tensor(h, requires_grad=True)
        tA = torch.tensor(A, requires_grad=True)
        keys = tA.flatten(2).transpose(1, 2)
        out = torch.nn.functional.scaled_dot_product_attention(th[:, None], keys, keys)[:, 0]
        g = rng.standard_normal((N, H))
        out.backward(torch.tensor(g))
        import visiongrad as vg
        vh, vA = vg.tensor(h, requires_grad=True), vg.tensor(A, requires_grad=True)
        ours = DotProductAttention.apply(vh, vA)
        ours.backward(g)
        np.testing.assert_allclose(ours.data, out.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(vh.grad, th.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(vA.grad, tA.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("attention", [False, True])
def test_greedy_sampling_emits_the_best_teacher_forced_score(attention):
    """Sampling and the teacher-forced scores are one computation: fed its own words, the
    model's scores pick the same words (the attention context included in both)."""
    model, features, _ = small_model("lstm", attention, seed=3)
    out = model.sample(features, max_length=5)
    sampled = out[0] if attention else out
    inputs = np.concatenate([np.full((3, 1), 1), sampled[:, :-1]], axis=1)
    best = model.scores(features, inputs).data.argmax(axis=2)
    for row, words in enumerate(sampled):
        steps = len(words) if 2 not in words else list(words).index(2) + 1
        np.testing.assert_array_equal(best[row, :steps], words[:steps])


def test_attention_context_feeds_the_scores_and_zero_gives_the_course_model():
    model, features, captions = small_model("lstm", True, seed=4)
    h, contexts = model.hidden_states(features, captions[:, :-1])
    scores = model.scores(features, captions[:, :-1]).data
    np.testing.assert_allclose(scores, h.data @ model.params["W_vocab"]
                               + contexts.data @ model.params["Wattn_vocab"]
                               + model.params["b_vocab"], rtol=1e-12)
    assert np.abs(contexts.data @ model.params["Wattn_vocab"]).max() > 0.1
    model.params["Wattn_vocab"] = np.zeros_like(model.params["Wattn_vocab"])
    np.testing.assert_allclose(model.scores(features, captions[:, :-1]).data,
                               h.data @ model.params["W_vocab"] + model.params["b_vocab"],
                               rtol=1e-12)
