"""Module 06 Autograd: gradients of every op, against PyTorch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch as tt
from tests._ops_table import OP_CASES
from tinytorch.autograd import Function, gradcheck


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.name)
def test_gradcheck_every_op(case, rng):
    """Finite differences in float64: needs nothing but TinyTorch."""
    inputs = [tt.tensor(a, requires_grad=True) for a in case.inputs(rng, np.float64)]
    assert gradcheck(lambda *xs: case.fn(tt, *xs), inputs)


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.name)
def test_gradients_match_torch(case, rng, torch):
    arrays = case.inputs(rng)
    ours = [tt.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, want = case.fn(tt, *ours), case.fn(torch, *theirs)
    probe = rng.standard_normal(want.shape).astype(np.float32)
    (out * tt.tensor(probe)).sum().backward()
    (want * torch.tensor(probe)).sum().backward()
    for mine, ref in zip(ours, theirs, strict=True):
        assert mine.grad is not None and mine.grad.dtype == np.float32
        np.testing.assert_allclose(mine.grad.data, ref.grad.numpy(), rtol=case.rtol,
                                   atol=case.rtol)


@pytest.mark.parametrize("case", [c for c in OP_CASES if c.name.startswith("matmul")],
                         ids=lambda c: c.name)
def test_matmul_gradients_on_every_backend(case, rng, backend):
    inputs = [tt.tensor(a, requires_grad=True) for a in case.inputs(rng, np.float64)]
    assert gradcheck(lambda *xs: case.fn(tt, *xs), inputs)


def test_gradient_accumulates_when_tensor_is_reused():
    x = tt.tensor([2.0, 3.0], requires_grad=True)
    y = x * x + x  # x used three times
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [5.0, 7.0])
    (x * 2).sum().backward()  # a second graph adds to .grad, like PyTorch
    np.testing.assert_allclose(x.grad.data, [7.0, 9.0])


def test_diamond_graph_uses_topological_order():
    x = tt.tensor(1.5, requires_grad=True)
    a = x * 2
    b = a.exp()
    c = a * 3
    (b + c).backward()  # d/dx = 2*exp(2x) + 6
    assert x.grad.item() == pytest.approx(2 * np.exp(3.0) + 6, rel=1e-6)


def test_broadcast_gradient_is_reduced_to_input_shape():
    x = tt.ones(3, 1, requires_grad=True)
    b = tt.ones(4, requires_grad=True)
    (x + b).sum().backward()
    assert x.grad.shape == (3, 1) and np.all(x.grad.data == 4)
    assert b.grad.shape == (4,) and np.all(b.grad.data == 3)


def test_no_grad_records_nothing():
    x = tt.ones(2, requires_grad=True)
    with tt.no_grad():
        y = x * 2
        assert not tt.is_grad_enabled()
        with tt.enable_grad():
            z = x * 2
    assert tt.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_detach_cuts_the_graph():
    x = tt.ones(2, requires_grad=True)
    y = (x * 3).detach()
    assert not y.requires_grad and y.is_leaf
    z = (y * x).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_leaves_and_non_leaves():
    x = tt.ones(2, requires_grad=True)
    y = x * 2
    assert x.is_leaf and not y.is_leaf
    y.retain_grad()
    w = y * 3
    (w.sum()).backward()
    assert x.grad is not None
    np.testing.assert_allclose(y.grad.data, [3.0, 3.0])  # kept because of retain_grad
    assert w.grad is None  # non-leaf: not kept


def test_second_backward_needs_retain_graph():
    x = tt.ones(2, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    z = (x * x).sum()
    x.grad = None
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.data, [4.0, 4.0])


def test_graph_is_released_after_backward():
    x = tt.ones(1000, requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    y.sum().backward()
    assert node.released and not hasattr(node, "out") and node.inputs == ()


def test_backward_with_explicit_gradient():
    x = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(tt.tensor([1.0, 0.0, 2.0]))
    np.testing.assert_allclose(x.grad.data, [2.0, 0.0, 12.0])


def test_backward_on_non_scalar_explains_what_to_pass():
    y = tt.ones(3, 2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"shape \(3, 2\).*gradient=.*sum\(\)\.backward"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"gradient has shape \(2,\)"):
        y.backward(tt.ones(2))


def test_backward_without_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tt.ones(2).sum().backward()


def test_long_chain_does_not_hit_recursion_limit():
    x = tt.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 5000, rel=1e-3)


def test_gradcheck_catches_a_wrong_backward():
    class WrongSquare(Function):
        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, grad):
            return (grad * self.a,)  # missing the factor 2

    x = tt.tensor([0.5, -1.5], requires_grad=True)
    with pytest.raises(AssertionError, match="gradcheck failed for input 0"):
        gradcheck(lambda t: WrongSquare.apply(t), [x])


def test_grad_of_max_with_ties_is_shared():
    x = tt.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.5, 0.5])


def test_cast_gradient_returns_to_input_dtype():
    x = tt.ones(3, requires_grad=True)
    (x.double() * 2).sum().backward()
    assert x.grad.dtype == np.float32


def test_saved_bytes_counts_activation_memory():
    from tinytorch.autograd import graph_nodes, saved_bytes

    x = tt.randn(64, 100)
    w = tt.randn(100, 50, requires_grad=True)
    y = (x @ w).exp()          # matmul saves x and w, exp saves its output
    assert len(graph_nodes(y)) == 2
    expected = x.data.nbytes + w.data.nbytes + y.data.nbytes
    assert saved_bytes(y) == expected
    with tt.no_grad():
        assert saved_bytes((x @ w).exp()) == 0


from hypothesis import given, settings  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4))
def test_broadcast_gradients_sum_back_to_each_input(shapes):
    """d(sum(a*b))/da = b summed over the axes a was broadcast along (and vice versa)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    ta, tb = tt.tensor(a, requires_grad=True), tt.tensor(b, requires_grad=True)
    (ta * tb).sum().backward()
    out_shape = np.broadcast_shapes(a.shape, b.shape)
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    for mine, other, grad in ((a, b, ta.grad.data), (b, a, tb.grad.data)):
        full = np.broadcast_to(other, out_shape)
        lead = len(out_shape) - mine.ndim  # axes the broadcast added in front
        want = full.sum(axis=tuple(range(lead)))
        want = want.sum(axis=tuple(i for i, n in enumerate(mine.shape) if n == 1), keepdims=True)
        np.testing.assert_allclose(grad, want.reshape(mine.shape), rtol=1e-10)


def test_pow_gradient_is_zero_where_exponent_is_zero(torch):
    """d/da a**0 = 0 everywhere, including a == 0 (0 * 0**-1 would be nan)."""
    base, exponent = np.array([0.0, 0.0, 2.0], np.float32), np.array([0.0, 3.0, 0.0], np.float32)
    ours = [tt.tensor(base, requires_grad=True), tt.tensor(exponent, requires_grad=True)]
    theirs = [torch.tensor(base, requires_grad=True), torch.tensor(exponent, requires_grad=True)]
    (ours[0] ** ours[1]).sum().backward()
    (theirs[0] ** theirs[1]).sum().backward()
    for mine, ref in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine.grad.data, ref.grad.numpy(), rtol=1e-6)
    x = tt.tensor([0.0, 1.0], requires_grad=True)
    (x ** 0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_int_operand_keeps_float32_gradients():
    """An int tensor in the graph must not promote the gradient flowing back to float64."""
    w = tt.ones(3, requires_grad=True)
    y = w * tt.tensor([1, 2, 3])
    assert y.dtype == np.float32
    y.retain_grad()
    (y / tt.tensor([2, 2, 2])).sum().backward()
    assert y.grad.dtype == np.float32 and w.grad.dtype == np.float32
    assert w.grad.tolist() == [0.5, 1.0, 1.5]


def test_max_along_dim_of_a_0d_tensor_passes_the_gradient():
    x = tt.tensor(2.0, requires_grad=True)
    (x.max(dim=0).values * 3).backward()
    assert x.grad.item() == 3.0
