"""The engine: graph construction, backward order, accumulation, broadcasting, no_grad."""

import gc
import weakref

import numpy as np
import pytest

import visiongrad as vg


def test_course_example_add_multiply():
    """f(x, y, z) = (x + y) z at x=-2, y=5, z=-4: f = -12, grads (-4, -4, 3)."""
    x, y, z = (vg.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    f = (x + y) * z
    f.backward()
    assert f.item() == -12.0
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)


def test_course_example_sigmoid_neuron():
    """1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) at w=(2,-3,-3), x=(-1,-2)."""
    w = vg.tensor([2.0, -3.0, -3.0], requires_grad=True)
    x = vg.tensor([-1.0, -2.0], requires_grad=True)
    out = 1 / (1 + (-(w[0] * x[0] + w[1] * x[1] + w[2])).exp())
    out.backward()
    assert out.item() == pytest.approx(0.73, abs=0.005)
    np.testing.assert_allclose(w.grad, [-0.20, -0.39, 0.20], atol=0.005)
    np.testing.assert_allclose(x.grad, [0.39, -0.59], atol=0.005)


def test_gradients_from_several_consumers_are_summed():
    x = vg.tensor(3.0, requires_grad=True)
    y = x * x + x * 2 + x  # dy/dx = 2x + 3
    y.backward()
    assert x.grad == pytest.approx(9.0)


def test_diamond_graph_runs_each_node_once_after_all_consumers():
    x = vg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    a = x * 3
    b = a.exp()
    c = a * a
    (b + c).sum().backward()
    expected = 3 * np.exp(3 * x.data) + 18 * x.data
    np.testing.assert_allclose(x.grad, expected)


def test_backward_twice_accumulates_into_leaf_grad():
    x = vg.tensor(2.0, requires_grad=True)
    (x * x).backward()
    (x * x).backward()
    assert x.grad == pytest.approx(8.0)


def test_leaf_grads_never_alias_each_other():
    a = vg.tensor(np.ones(3), requires_grad=True)
    b = vg.tensor(np.ones(3), requires_grad=True)
    (a + b).sum().backward()
    a.grad *= 10
    np.testing.assert_array_equal(b.grad, np.ones(3))


def test_long_chain_does_not_overflow_the_stack():
    x = vg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_broadcast_gradients_are_reduced_to_input_shapes():
    a = vg.tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    b = vg.tensor(np.ones((1, 3)), requires_grad=True)
    c = vg.tensor(np.float64(2.0), requires_grad=True)
    ((a * b + c) ** 2).sum().backward()
    assert b.grad.shape == (1, 3) and c.grad.shape == ()
    np.testing.assert_allclose(b.grad[0], (2 * (a.data + 2) * a.data).sum(0))
    np.testing.assert_allclose(c.grad, (2 * (a.data + 2)).sum())


def test_intermediate_grads_released_unless_retained():
    x = vg.tensor(2.0, requires_grad=True)
    h = x * 3
    kept = (x * 4).retain_grad()
    (h * h + kept).backward()
    assert h.grad is None
    assert kept.grad == 1.0


def test_graph_released_after_backward_unless_retained():
    x = vg.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad == pytest.approx(8.0)
    assert y.is_leaf  # the graph was released by the second call


def test_no_grad_records_nothing_and_restores_state():
    x = vg.tensor(1.0, requires_grad=True)
    with vg.no_grad():
        y = x * 2
        assert not vg.is_grad_enabled()
    assert vg.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf


def test_no_grad_as_decorator():
    @vg.no_grad()
    def double(t):
        return t * 2

    assert not double(vg.tensor(1.0, requires_grad=True)).requires_grad


def test_detach_cuts_the_graph():
    x = vg.tensor(3.0, requires_grad=True)
    y = x * x.detach()
    y.backward()
    assert x.grad == 3.0


def test_backward_on_non_scalar_needs_a_gradient():
    x = vg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"non-scalar tensor of shape \(2, 3\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"\(3,\) does not match tensor shape \(2, 3\)"):
        (x * 2).backward(np.ones(3))
    (x * 2).backward(np.full((2, 3), 0.5))
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))


def test_backward_without_requires_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        vg.tensor(1.0).backward()


def test_engine_checks_gradient_shapes_from_functions():
    class Broken(vg.Function):
        def forward(self, x):
            return x * 2

        def backward(self, grad_out):
            return grad_out.sum()

    x = vg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Broken.backward returned a gradient of shape \(\)"):
        Broken.apply(x).sum().backward()


def test_dtype_policy():
    assert vg.tensor([1.0, 2.0]).dtype == np.float32
    assert vg.tensor(np.zeros(2)).dtype == np.float64
    assert vg.tensor(np.arange(3)).dtype.kind == "i"
    x = vg.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    y = x * 2.5 + 1 - x / 3
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    vg.set_default_dtype(np.float64)
    assert vg.tensor([1.0]).dtype == np.float64
    with pytest.raises(ValueError, match="float32 or float64"):
        vg.set_default_dtype(np.int32)
    with pytest.raises(TypeError, match="only floating tensors"):
        vg.tensor(np.arange(3), requires_grad=False, dtype=np.int64).__class__(
            np.arange(3), requires_grad=True)


def test_comparisons_give_boolean_tensors_without_grad():
    x = vg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == bool and not mask.requires_grad
    np.testing.assert_array_equal(mask.data, [False, True, True])
    np.testing.assert_array_equal((x == 2.0).data, [False, True, False])


def test_ndarray_on_the_left_uses_tensor_operators():
    x = vg.tensor(np.ones(2), requires_grad=True)
    y = np.array([2.0, 3.0]) * x
    assert isinstance(y, vg.Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 3.0])


def test_to_dot_draws_the_course_graph_with_gradients():
    x, y, z = (vg.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    q = x + y
    f = q * z
    vg.retain_grads(f)
    f.backward(retain_graph=True)
    dot = vg.to_dot(f, names={"x": x, "y": y, "z": z, "q": q, "f": f})
    assert dot.startswith("digraph")
    assert dot.count("label=\"Add\"") == 1 and dot.count("label=\"Mul\"") == 1
    assert "q\\nshape ()\\nvalue 3\\ngrad -4" in dot
    assert "x\\nshape ()\\nvalue -2\\ngrad -4" in dot
    assert "z\\nshape ()\\nvalue -4\\ngrad 3" in dot


def test_to_dot_after_a_plain_backward_draws_the_whole_small_graph():
    """The README's first snippet: backward() without options, then to_dot(f)."""
    x, y, z = (vg.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    f = (x + y) * z
    f.backward()
    dot = vg.to_dot(f, names={"x": x, "y": y, "z": z, "f": f})
    assert dot.count('label="Add"') == 1 and dot.count('label="Mul"') == 1
    assert "x\\nshape ()\\nvalue -2\\ngrad -4" in dot
    assert "z\\nshape ()\\nvalue -4\\ngrad 3" in dot
    assert "shape ()\\nvalue 3\\ngrad -4" in dot  # x + y, an intermediate
    assert "f\\nshape ()\\nvalue -12\\ngrad 1" in dot
    assert dot.count("->") == 6
    assert f.is_leaf and x.grad == -4.0  # the graph itself was still released


def test_the_drawing_kept_by_backward_holds_no_reference_cycle():
    """A loop of small graphs frees each one when its root goes, without the collector."""
    x = vg.tensor([1.0, 2.0], requires_grad=True)
    root = x * x
    root.backward(np.ones(2))
    value = weakref.ref(root.data)
    gc.disable()
    try:
        del root
        assert value() is None
    finally:
        gc.enable()


def test_backward_lets_each_activation_go_once_its_gradient_went_on():
    """An activation nearer the loss is freed before the ops nearer the input run their
    backward passes (a network's peak memory in backward), not when backward returns."""
    seen = []

    class Watch(vg.autograd.Function):
        def forward(self, x):
            return x * 1.0

        def backward(self, grad_out):
            seen.append(activation() is None)
            return grad_out

    x = vg.tensor(np.ones(2 * vg.autograd.DRAWN_GRAPH_ELEMENTS), requires_grad=True)
    hidden = Watch.apply(x) * 2.0
    activation = weakref.ref(hidden.data)
    loss = hidden.sum()
    del hidden
    gc.disable()
    try:
        loss.backward()
    finally:
        gc.enable()
    assert seen == [True]
    np.testing.assert_array_equal(x.grad, 2.0)


def test_to_dot_draws_constants_dashed_and_a_large_graph_is_not_kept():
    x = vg.tensor([1.0, 2.0], requires_grad=True)
    (x * np.array([3.0, 4.0])).sum().backward()
    assert "style=dashed" in vg.to_dot(x * 1.0)
    big = vg.tensor(np.ones(vg.autograd.DRAWN_GRAPH_ELEMENTS), requires_grad=True)
    loss = (big * 2.0).sum()
    loss.backward()
    assert 'label="Mul"' not in vg.to_dot(loss)  # released: its arrays are freed


def test_manual_seed_makes_the_generator_reproducible():
    vg.manual_seed(123)
    a = vg.random.get_generator().standard_normal(5)
    state = vg.random.get_state()
    b = vg.random.get_generator().standard_normal(5)
    vg.manual_seed(123)
    np.testing.assert_array_equal(a, vg.random.get_generator().standard_normal(5))
    vg.random.set_state(state)
    np.testing.assert_array_equal(b, vg.random.get_generator().standard_normal(5))
    with pytest.raises(ValueError, match="non-negative integer"):
        vg.manual_seed(-1)


@pytest.mark.parametrize("data", [np.array([1, "a"], dtype=object), np.array(["a", "b"]),
                                  ["a", "b"], np.array([b"x"]), [None, 1.0]])
def test_a_tensor_of_objects_or_strings_is_refused(data):
    with pytest.raises(TypeError, match="tensor"):
        vg.tensor(data)
