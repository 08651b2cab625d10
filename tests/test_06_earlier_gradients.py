"""Module 06 Autograd: the gradients of what Modules 03-05 built - activations, softmax,
Linear, Dropout, Module.zero_grad, losses - against PyTorch and finite differences.

Modules 03-05 check values only, so a student who has not written a backward rule yet
can complete them; the backward rules are Module 06's exercises, and these are its tests.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch as tt
from tests.test_03_activations import (
    ACTIVATIONS,
    SHAPE,
    SOFTMAX_SHAPES,
    _run_both,
    extreme_inputs,
    softmax_reference,
)
from tests.test_04_layers import MLP, torch_twin
from tests.test_05_losses import (
    CASES,
    HUGE,
    HUGE_CASES,
    IDS,
    W4,
    _classes,
    _compare_with_torch,
    _logits,
)
from tinytorch import nn
from tinytorch.autograd import gradcheck

# ---- Module 03: activations ---------------------------------------------------------------

@pytest.mark.parametrize("name,fn,rtol", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_gradients_match_torch(name, fn, rtol, rng, torch):
    x = (rng.standard_normal(SHAPE) * 3).astype(np.float32)
    _, _, grad, want_grad = _run_both(fn, x, torch, rng)
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad.data, want_grad.numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name,fn,rtol", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_gradcheck(name, fn, rtol, rng):
    # shift away from 0, where relu's kink would fool a finite difference
    x = rng.standard_normal(SHAPE)
    x = x + np.sign(x) * 0.05
    assert gradcheck(lambda t: fn(tt, t), [tt.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("name,fn,rtol", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_gradients_of_extreme_inputs_stay_finite(name, fn, rtol, rng, torch):
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        _, _, grad, want_grad = _run_both(fn, extreme_inputs(), torch, rng)
    assert np.all(np.isfinite(grad.data))
    np.testing.assert_allclose(grad.data, want_grad.numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("shape,dim", SOFTMAX_SHAPES)
def test_softmax_backward_on_every_backend(shape, dim, backend, rng):
    x = rng.standard_normal(shape).astype(np.float32) * 4
    probe = rng.standard_normal(shape).astype(np.float32)
    t = tt.tensor(x, requires_grad=True)
    (nn.functional.softmax(t, dim) * tt.tensor(probe)).sum().backward()
    want = softmax_reference(x, dim)
    want_grad = want * (probe - (probe * want).sum(axis=dim, keepdims=True))
    np.testing.assert_allclose(t.grad.data, want_grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("backend_name", ["loop", "native"])
def test_softmax_gradcheck_on_backend(backend_name):
    if backend_name not in tt.available_backends():
        pytest.skip(f"backend {backend_name} is not available here")
    x = np.random.default_rng(0).standard_normal((3, 4))
    with tt.use_backend(backend_name):
        assert gradcheck(lambda t: nn.functional.softmax(t, 1), [tt.tensor(x, requires_grad=True)])


# ---- Module 04: layers --------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 7), (2, 4, 7), (7,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients_match_torch(shape, bias, rng, torch):
    layer = nn.Linear(7, 3, bias=bias)
    ref = torch_twin(layer, torch, bias)
    x = rng.standard_normal(shape).astype(np.float32)
    ours, theirs = tt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, want = layer(ours), ref(theirs)
    probe = rng.standard_normal(want.shape).astype(np.float32)
    (out * tt.tensor(probe)).sum().backward()
    (want * torch.tensor(probe)).sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.weight.grad.data, ref.weight.grad.numpy(), rtol=1e-4,
                               atol=1e-5)
    if bias:
        np.testing.assert_allclose(layer.bias.grad.data, ref.bias.grad.numpy(), rtol=1e-4,
                                   atol=1e-5)


def test_linear_gradcheck(rng):
    x, w, b = rng.standard_normal((4, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)
    inputs = [tt.tensor(a, requires_grad=True) for a in (x, w, b)]
    assert gradcheck(nn.functional.linear, inputs)


def test_linear_gradcheck_on_every_backend(rng, backend):
    x, w = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4))
    inputs = [tt.tensor(a, requires_grad=True) for a in (x, w)]
    assert gradcheck(nn.functional.linear, inputs)


def test_zero_grad_and_requires_grad():
    model = MLP()
    model(tt.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not model(tt.randn(2, 4)).requires_grad


def test_dropout_gradient_flows_through_kept_units():
    x = tt.ones(200, 100, requires_grad=True)
    out = nn.Dropout(0.25)(x)
    kept = out.data != 0
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, kept / 0.75)


def test_dropout_gradcheck_with_fixed_mask():
    x = tt.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)

    def fn(t):
        tt.manual_seed(11)  # the same mask for every finite-difference evaluation
        return nn.functional.dropout(t, 0.3)

    assert gradcheck(fn, [x])


# ---- Module 05: losses --------------------------------------------------------------------

@pytest.mark.parametrize("name,fn,make,target_grad", CASES, ids=IDS)
def test_loss_gradients_match_torch(name, fn, make, target_grad, rng, torch):
    x, target = make(rng)
    _compare_with_torch(fn, x, target, torch, rng, target_grad)


@pytest.mark.parametrize("name,fn,make,target_grad", CASES, ids=IDS)
def test_loss_gradcheck(name, fn, make, target_grad, rng):
    x, target = make(rng)
    inputs = [tt.tensor(x.astype(np.float64), requires_grad=True)]
    if target_grad:
        inputs.append(tt.tensor(target.astype(np.float64), requires_grad=True))
        assert gradcheck(lambda a, t: fn(tt, a, t), inputs)
    else:
        assert gradcheck(lambda a: fn(tt, a, tt.tensor(target)), inputs)


@pytest.mark.parametrize("name,fn,target", HUGE_CASES, ids=[c[0] for c in HUGE_CASES])
def test_loss_gradients_of_huge_logits_stay_finite(name, fn, target, rng, torch):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        _compare_with_torch(fn, HUGE, target, torch, rng, target_grad=False)


def test_fused_cross_entropy_equals_log_softmax_plus_nll(rng):
    x, y = _logits(rng, (16, 10)), _classes(rng, 16, 10)
    a, b = tt.tensor(x, requires_grad=True), tt.tensor(x, requires_grad=True)
    fused = nn.functional.cross_entropy(a, tt.tensor(y))
    composed = nn.functional.nll_loss(nn.functional.log_softmax(b, 1), tt.tensor(y))
    fused.backward()
    composed.backward()
    assert fused.item() == pytest.approx(composed.item(), rel=1e-6)
    np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-5, atol=1e-7)
    assert len(tt.autograd.graph_nodes(nn.functional.cross_entropy(
        tt.tensor(x, requires_grad=True), tt.tensor(y)))) == 1  # one node, not two


def test_cross_entropy_gradient_is_softmax_minus_onehot(rng):
    x, y = _logits(rng, (5, 3)).astype(np.float64), _classes(rng, 5, 3)
    t = tt.tensor(x, requires_grad=True)
    nn.functional.cross_entropy(t, tt.tensor(y), reduction="sum").backward()
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(t.grad.data, p - np.eye(3)[y], rtol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weight", [None, W4])
def test_cross_entropy_backward_stays_float32(smoothing, weight, rng):
    """A float64 mask inside backward would double the bytes of every gradient after it."""
    x = tt.tensor(_logits(rng, (6, 4)), requires_grad=True)
    w = None if weight is None else tt.tensor(weight)
    loss = nn.functional.cross_entropy(x, tt.tensor(_classes(rng, 6, 4, ignore=True)),
                                       weight=w, label_smoothing=smoothing)
    (grad_logits, _) = loss.grad_fn.backward(np.array(1.0, dtype=np.float32))
    assert grad_logits.dtype == np.float32


def test_float64_targets_keep_float32_gradients():
    x = tt.zeros(3, 2, requires_grad=True)
    nn.functional.binary_cross_entropy_with_logits(x, tt.tensor(np.ones((3, 2)))).backward()
    assert x.grad.dtype == np.float32
