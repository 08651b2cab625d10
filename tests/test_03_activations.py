"""Module 03 Activations: values against PyTorch, stability for huge inputs, and softmax
on every backend. (Their gradients are Module 06's: tests/test_06_earlier_gradients.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn


def F(lib):
    """``tinytorch.nn.functional`` or ``torch.nn.functional``: one spelling for both."""
    return lib.nn.functional


# name, fn(lib, x), rtol (1e-4 where a reduction along dim accumulates)
ACTIVATIONS = [
    ("relu", lambda lib, x: F(lib).relu(x), 1e-5),
    ("leaky_relu", lambda lib, x: F(lib).leaky_relu(x, 0.2), 1e-5),
    ("sigmoid", lambda lib, x: F(lib).sigmoid(x), 1e-5),
    ("tanh", lambda lib, x: F(lib).tanh(x), 1e-5),
    ("gelu", lambda lib, x: F(lib).gelu(x), 1e-5),
    ("gelu_tanh", lambda lib, x: F(lib).gelu(x, approximate="tanh"), 1e-5),
    ("silu", lambda lib, x: F(lib).silu(x), 1e-5),
    ("tensor_relu", lambda lib, x: x.relu(), 1e-5),
    ("tensor_sigmoid", lambda lib, x: x.sigmoid(), 1e-5),
    ("tensor_tanh", lambda lib, x: x.tanh(), 1e-5),
] + [
    (f"softmax_dim{d}", lambda lib, x, d=d: F(lib).softmax(x, dim=d), 1e-4) for d in (0, 1, 2, -1)
] + [
    (f"log_softmax_dim{d}", lambda lib, x, d=d: F(lib).log_softmax(x, dim=d), 1e-4)
    for d in (0, 1, 2, -1)
] + [
    ("tensor_softmax", lambda lib, x: x.softmax(1), 1e-4),
    ("tensor_log_softmax", lambda lib, x: x.log_softmax(-1), 1e-4),
]
SHAPE = (3, 4, 5)


def _run_both(fn, x: np.ndarray, torch, rng, gradients: bool = True):
    ours = tt.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out, want = fn(tt, ours), fn(torch, theirs)
    if not gradients:
        return out, want, None, None
    probe = rng.standard_normal(want.shape).astype(x.dtype)
    (out * tt.tensor(probe)).sum().backward()
    (want * torch.tensor(probe)).sum().backward()
    return out, want, ours.grad, theirs.grad


@pytest.mark.parametrize("name,fn,rtol", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_matches_torch(name, fn, rtol, rng, torch):
    x = (rng.standard_normal(SHAPE) * 3).astype(np.float32)
    out, want, _, _ = _run_both(fn, x, torch, rng, gradients=False)
    assert out.dtype == np.float32 and out.shape == tuple(want.shape)
    np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=rtol, atol=rtol)


EXTREMES = np.array([[-1000.0, -100.0, -30.0, 0.0, 30.0, 100.0, 1000.0]], dtype=np.float32)


def extreme_inputs() -> np.ndarray:
    return np.concatenate([EXTREMES, EXTREMES[:, ::-1]]).reshape(2, 7, 1).repeat(2, axis=2)


@pytest.mark.parametrize("name,fn,rtol", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_extreme_inputs_stay_finite_and_match_torch(name, fn, rtol, rng, torch):
    x = extreme_inputs()
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        out, want, _, _ = _run_both(fn, x, torch, rng, gradients=False)
    assert np.all(np.isfinite(out.data))
    np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=rtol, atol=rtol)


def test_sigmoid_saturates_exactly():
    out = nn.functional.sigmoid(tt.tensor([-1000.0, 1000.0]))
    assert out.tolist() == [0.0, 1.0]


def test_log_softmax_of_huge_logits_is_exact():
    out = nn.functional.log_softmax(tt.tensor([[1000.0, 0.0, -1000.0]]), dim=1)
    np.testing.assert_allclose(out.data, [[0.0, -1000.0, -2000.0]])


def test_softmax_rows_sum_to_one(rng):
    x = tt.tensor(rng.standard_normal(SHAPE).astype(np.float32) * 10)
    for dim in range(3):
        np.testing.assert_allclose(nn.functional.softmax(x, dim).data.sum(axis=dim), 1.0,
                                   rtol=1e-6)


SOFTMAX_SHAPES = [((1, 1), 1), ((1, 1), 0), ((7, 13, 5), 0), ((7, 13, 5), 1), ((7, 13, 5), 2),
                  ((32, 10), -1)]


def softmax_reference(x: np.ndarray, dim: int) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=dim, keepdims=True))
    return shifted / shifted.sum(axis=dim, keepdims=True)


@pytest.mark.parametrize("shape,dim", SOFTMAX_SHAPES)
def test_softmax_forward_on_every_backend(shape, dim, backend, rng):
    x = rng.standard_normal(shape).astype(np.float32) * 4
    out = nn.functional.softmax(tt.tensor(x, requires_grad=True), dim)
    np.testing.assert_allclose(out.data, softmax_reference(x, dim), rtol=1e-5, atol=1e-6)


def test_softmax_goes_through_the_backend_kernel(monkeypatch):
    from tinytorch import backends

    calls = []
    kernels = backends.current()
    original = kernels.softmax
    monkeypatch.setattr(kernels, "softmax", lambda x, axis: calls.append(axis) or original(x, axis))
    nn.functional.softmax(tt.ones(2, 3), dim=-1)
    assert calls == [1]


def test_dim_out_of_range_is_a_clear_error():
    with pytest.raises(IndexError, match="dim 3 is out of range"):
        nn.functional.softmax(tt.ones(2, 3), dim=3)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        nn.functional.gelu(tt.ones(2), approximate="fast")
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("erf")


MODULES = [
    (nn.ReLU(), lambda x: nn.functional.relu(x), "ReLU()"),
    (nn.LeakyReLU(0.1), lambda x: nn.functional.leaky_relu(x, 0.1),
     "LeakyReLU(negative_slope=0.1)"),
    (nn.Sigmoid(), lambda x: nn.functional.sigmoid(x), "Sigmoid()"),
    (nn.Tanh(), lambda x: nn.functional.tanh(x), "Tanh()"),
    (nn.GELU(), lambda x: nn.functional.gelu(x), "GELU(approximate='none')"),
    (nn.GELU("tanh"), lambda x: nn.functional.gelu(x, "tanh"), "GELU(approximate='tanh')"),
    (nn.SiLU(), lambda x: nn.functional.silu(x), "SiLU()"),
    (nn.Softmax(dim=0), lambda x: nn.functional.softmax(x, 0), "Softmax(dim=0)"),
    (nn.LogSoftmax(dim=1), lambda x: nn.functional.log_softmax(x, 1), "LogSoftmax(dim=1)"),
]


@pytest.mark.parametrize("module,fn,text", MODULES, ids=[m[2] for m in MODULES])
def test_activation_modules_wrap_the_functions(module, fn, text, rng):
    x = tt.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    np.testing.assert_array_equal(module(x).data, fn(x).data)
    assert repr(module) == text
    assert list(module.parameters()) == []


def test_gelu_module_matches_torch(torch, rng):
    x = rng.standard_normal((5, 6)).astype(np.float32) * 3
    want = torch.nn.GELU()(torch.tensor(x)).numpy()
    np.testing.assert_allclose(nn.GELU()(tt.tensor(x)).data, want, rtol=1e-5, atol=1e-6)


def test_float64_stays_float64():
    x = tt.tensor(np.linspace(-3, 3, 7), requires_grad=True)
    for fn in (nn.functional.relu, nn.functional.gelu, nn.functional.silu,
               lambda t: nn.functional.softmax(t, 0)):
        assert fn(x).dtype == np.float64


def test_softmax_of_a_0d_tensor_along_dim_0_and_minus_1():
    import tinytorch

    assert tinytorch.tensor(3.0).softmax(0).item() == 1.0
    assert tinytorch.tensor(3.0).log_softmax(-1).item() == 0.0
