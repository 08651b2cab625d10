"""Module 08: the spatial kernels (conv2d, max/avg pooling and their backward passes).

Every available backend is checked against PyTorch (where installed), against
the loop specification, and -- with nothing but TinyTorch -- against finite
differences in float64. The loop backend only sees tiny shapes.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import backend_params
from tinytorch.backends import available_backends, load_backend

BACKENDS = available_backends()

#: (id, x shape (N, C, H, W), weight shape (F, C, KH, KW), stride, padding, dilation)
CONV_CASES = [
    ("3x3-pad1", (2, 3, 6, 6), (4, 3, 3, 3), (1, 1), (1, 1), (1, 1)),
    ("stride2-pad0", (2, 2, 7, 7), (3, 2, 3, 3), (2, 2), (0, 0), (1, 1)),
    ("stride2-pad1", (3, 1, 6, 6), (2, 1, 3, 3), (2, 2), (1, 1), (1, 1)),
    ("odd-7x9-k3x5-pad2", (1, 3, 7, 9), (2, 3, 3, 5), (1, 1), (2, 2), (1, 1)),
    ("dilation2", (2, 2, 9, 8), (3, 2, 3, 3), (1, 1), (1, 1), (2, 2)),
    ("mixed-hw-params", (1, 2, 8, 11), (2, 2, 2, 3), (2, 1), (1, 2), (2, 1)),
    ("batch1-C1-1x1", (1, 1, 5, 4), (2, 1, 1, 1), (1, 1), (0, 0), (1, 1)),
    ("kernel-equals-input", (2, 2, 3, 4), (2, 2, 3, 4), (1, 1), (0, 0), (1, 1)),
]
#: large enough for several threads, cols pieces with a ragged last piece, and
#: an odd batch; numpy and native only
BIG_CONV_CASES = [
    ("threads-chunks", (3, 64, 32, 32), (16, 64, 3, 3), (1, 1), (1, 1), (1, 1)),
    ("threads-stride2", (5, 8, 33, 30), (12, 8, 5, 3), (2, 2), (2, 1), (1, 1)),
]

#: (id, x shape, kernel_size, stride, padding)
POOL_CASES = [
    ("2x2-s2", (2, 3, 6, 6), (2, 2), (2, 2), (0, 0)),
    ("3x3-s2-pad1-odd", (1, 2, 7, 9), (3, 3), (2, 2), (1, 1)),
    ("3x3-s1-pad1-overlap", (2, 1, 5, 5), (3, 3), (1, 1), (1, 1)),
    ("2x3-mixed", (1, 2, 7, 8), (2, 3), (1, 2), (1, 1)),
    ("kernel-equals-input", (2, 2, 4, 5), (4, 5), (1, 1), (0, 0)),
]
BIG_POOL_CASES = [("threads", (8, 32, 32, 32), (3, 3), (2, 2), (1, 1))]


def _case_params(cases, big_cases):
    """(backend, case) pairs: the loop backend only on the small cases."""
    params = []
    for backend in backend_params():
        name = backend.values[0]
        for case in cases + (big_cases if name != "loop" else []):
            params.append(pytest.param(name, *case[1:], id=f"{name}-{case[0]}",
                                       marks=backend.marks))
    return params


def _conv_inputs(rng, x_shape, w_shape, dtype=np.float32):
    fan_in = w_shape[1] * w_shape[2] * w_shape[3]
    x = rng.standard_normal(x_shape).astype(dtype)
    w = (rng.standard_normal(w_shape) / np.sqrt(fan_in)).astype(dtype)
    return x, w


def _torch_conv(torch, x, w, grad_out_rng, stride, padding, dilation):
    """Forward, grad_out and both gradients from PyTorch autograd, in float64."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.conv2d(xt, wt, stride=stride, padding=padding, dilation=dilation)
    g = grad_out_rng.standard_normal(tuple(y.shape))
    y.backward(torch.tensor(g))
    return y.detach().numpy(), g, xt.grad.numpy(), wt.grad.numpy()


# ---- conv2d against PyTorch --------------------------------------------------

@pytest.mark.parametrize("backend_name,x_shape,w_shape,stride,padding,dilation",
                         _case_params(CONV_CASES, BIG_CONV_CASES))
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-4), (np.float64, 1e-10)],
                         ids=["float32", "float64"])
def test_conv2d_and_grads_match_torch(torch, backend_name, x_shape, w_shape, stride, padding,
                                      dilation, dtype, tol):
    backend = load_backend(backend_name)
    rng = np.random.default_rng(0)
    x, w = _conv_inputs(rng, x_shape, w_shape, dtype)
    y_ref, g, gx_ref, gw_ref = _torch_conv(torch, x, w, rng, stride, padding, dilation)
    g = g.astype(dtype)

    y = backend.conv2d(x, w, stride, padding, dilation)
    gx = backend.conv2d_backward_input(g, w, x_shape[2:], stride, padding, dilation)
    gw = backend.conv2d_backward_weight(g, x, w_shape[2:], stride, padding, dilation)
    for got, want in [(y, y_ref), (gx, gx_ref), (gw, gw_ref)]:
        assert got.dtype == dtype
        assert got.shape == want.shape
        # the weight gradient sums N*OH*OW products: scale the tolerance with it
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


@pytest.mark.parametrize("backend_name,x_shape,kernel,stride,padding",
                         _case_params(POOL_CASES, BIG_POOL_CASES))
def test_pooling_matches_torch(torch, backend_name, x_shape, kernel, stride, padding):
    backend = load_backend(backend_name)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape).astype(np.float32)
    F = torch.nn.functional

    xt = torch.tensor(x, requires_grad=True)
    y_ref, idx_ref = F.max_pool2d(xt, kernel, stride, padding, return_indices=True)
    g = rng.standard_normal(tuple(y_ref.shape)).astype(np.float32)
    y_ref.backward(torch.tensor(g))
    y, idx = backend.max_pool2d(x, kernel, stride, padding)
    assert y.dtype == np.float32 and idx.dtype == np.int64
    np.testing.assert_array_equal(y, y_ref.detach().numpy())
    np.testing.assert_array_equal(idx, idx_ref.numpy())
    np.testing.assert_allclose(backend.max_pool2d_backward(g, idx, x_shape[2:]),
                               xt.grad.numpy(), rtol=1e-6, atol=1e-6)

    xt = torch.tensor(x, requires_grad=True)
    y_ref = F.avg_pool2d(xt, kernel, stride, padding)  # count_include_pad=True by default
    y_ref.backward(torch.tensor(g))
    np.testing.assert_allclose(backend.avg_pool2d(x, kernel, stride, padding),
                               y_ref.detach().numpy(), rtol=1e-6, atol=1e-6)
    grad_x = backend.avg_pool2d_backward(g, x_shape[2:], kernel, stride, padding)
    assert grad_x.dtype == np.float32
    np.testing.assert_allclose(grad_x, xt.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_max_pool_ties_and_all_minus_inf_match_torch(torch):
    """Ties keep the first window element; an all -inf window never points at padding."""
    x = np.zeros((1, 2, 5, 5), dtype=np.float32)
    x[:, 1] = -np.inf
    y_ref, idx_ref = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1,
                                                    return_indices=True)
    for name in BACKENDS:
        y, idx = load_backend(name).max_pool2d(x, (3, 3), (2, 2), (1, 1))
        np.testing.assert_array_equal(y, y_ref.numpy(), err_msg=name)
        np.testing.assert_array_equal(idx, idx_ref.numpy(), err_msg=name)


# ---- backends agree with the loop specification (no torch needed) -----------

@pytest.mark.parametrize("backend_name", [b for b in backend_params() if b.values[0] != "loop"])
@pytest.mark.parametrize("case", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv_agrees_with_loop_spec(backend_name, case):
    _, x_shape, w_shape, stride, padding, dilation = case
    loop, backend = load_backend("loop"), load_backend(backend_name)
    rng = np.random.default_rng(2)
    x, w = _conv_inputs(rng, x_shape, w_shape)
    y = loop.conv2d(x, w, stride, padding, dilation)
    np.testing.assert_allclose(backend.conv2d(x, w, stride, padding, dilation), y,
                               rtol=1e-5, atol=1e-5)
    g = rng.standard_normal(y.shape).astype(np.float32)
    for kernel, other in [("conv2d_backward_input", w), ("conv2d_backward_weight", x)]:
        hw = x_shape[2:] if kernel.endswith("input") else w_shape[2:]
        want = getattr(loop, kernel)(g, other, hw, stride, padding, dilation)
        got = getattr(backend, kernel)(g, other, hw, stride, padding, dilation)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=kernel)


@pytest.mark.parametrize("backend_name", [b for b in backend_params() if b.values[0] != "loop"])
@pytest.mark.parametrize("case", POOL_CASES, ids=[c[0] for c in POOL_CASES])
def test_pooling_agrees_with_loop_spec(backend_name, case):
    _, x_shape, kernel, stride, padding = case
    loop, backend = load_backend("loop"), load_backend(backend_name)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape).astype(np.float32)
    y, idx = loop.max_pool2d(x, kernel, stride, padding)
    got_y, got_idx = backend.max_pool2d(x, kernel, stride, padding)
    np.testing.assert_array_equal(got_y, y)
    np.testing.assert_array_equal(got_idx, idx)
    g = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_allclose(backend.max_pool2d_backward(g, idx, x_shape[2:]),
                               loop.max_pool2d_backward(g, idx, x_shape[2:]), atol=1e-6)
    np.testing.assert_allclose(backend.avg_pool2d(x, kernel, stride, padding),
                               loop.avg_pool2d(x, kernel, stride, padding), atol=1e-6)
    np.testing.assert_allclose(
        backend.avg_pool2d_backward(g, x_shape[2:], kernel, stride, padding),
        loop.avg_pool2d_backward(g, x_shape[2:], kernel, stride, padding), atol=1e-6)


@pytest.mark.parametrize("backend_name", backend_params())
def test_max_pool_propagates_nan(backend_name):
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    y, idx = load_backend(backend_name).max_pool2d(x, (2, 2), (2, 2), (0, 0))
    assert np.isnan(y[0, 0, 0, 0]) and idx[0, 0, 0, 0] == 1
    np.testing.assert_array_equal(y[0, 0].ravel()[1:], [7, 13, 15])


@pytest.mark.parametrize("backend_name", backend_params())
def test_empty_batch_and_dtypes(backend_name):
    backend = load_backend(backend_name)
    for dtype in (np.float32, np.float64):
        x = np.ones((0, 2, 5, 5), dtype=dtype)
        w = np.ones((3, 2, 3, 3), dtype=dtype)
        y = backend.conv2d(x, w, (1, 1), (1, 1), (1, 1))
        assert y.shape == (0, 3, 5, 5) and y.dtype == dtype
        gw = backend.conv2d_backward_weight(y, x, (3, 3), (1, 1), (1, 1), (1, 1))
        assert gw.shape == (3, 2, 3, 3) and gw.dtype == dtype and not gw.any()
        gx = backend.conv2d_backward_input(y, w, (5, 5), (1, 1), (1, 1), (1, 1))
        assert gx.shape == (0, 2, 5, 5) and gx.dtype == dtype
        pooled, idx = backend.max_pool2d(x, (2, 2), (2, 2), (0, 0))
        assert pooled.shape == (0, 2, 2, 2) and pooled.dtype == dtype
        assert backend.avg_pool2d(x, (2, 2), (2, 2), (0, 0)).dtype == dtype


@pytest.mark.parametrize("backend_name", backend_params())
def test_non_contiguous_inputs(backend_name):
    backend = load_backend(backend_name)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    # the same values as x and w, laid out with transposed / negative strides
    x_view = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    w_view = w[:, :, ::-1, ::-1].copy()[:, :, ::-1, ::-1]
    np.testing.assert_allclose(backend.conv2d(x_view, w_view, (1, 1), (1, 1), (1, 1)),
                               backend.conv2d(x, w, (1, 1), (1, 1), (1, 1)), rtol=1e-6)
    np.testing.assert_array_equal(backend.max_pool2d(x_view, (2, 2), (2, 2), (0, 0))[0],
                                  backend.max_pool2d(x, (2, 2), (2, 2), (0, 0))[0])


# ---- finite differences in float64: no torch, the loop and numpy backends ----

def _numeric_grad(loss, array, eps=1e-6):
    """Central differences of loss() with respect to every element of array (in place)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = loss()
        array[index] = original - eps
        minus = loss()
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("backend_name", ["loop", "numpy"])
def test_conv_backward_matches_finite_differences(backend_name):
    backend = load_backend(backend_name)
    rng = np.random.default_rng(5)
    stride, padding, dilation = (2, 1), (1, 1), (1, 2)
    x = rng.standard_normal((2, 2, 5, 6))
    w = rng.standard_normal((3, 2, 3, 2))
    y = backend.conv2d(x, w, stride, padding, dilation)
    g = rng.standard_normal(y.shape)

    def loss():  # L = sum(conv2d(x, w) * g), so dL/dy = g
        return float(np.sum(backend.conv2d(x, w, stride, padding, dilation) * g))

    np.testing.assert_allclose(
        backend.conv2d_backward_input(g, w, (5, 6), stride, padding, dilation),
        _numeric_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        backend.conv2d_backward_weight(g, x, (3, 2), stride, padding, dilation),
        _numeric_grad(loss, w), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("backend_name", ["loop", "numpy"])
def test_pool_backward_matches_finite_differences(backend_name):
    backend = load_backend(backend_name)
    rng = np.random.default_rng(6)
    kernel, stride, padding = (3, 2), (2, 1), (1, 1)
    x = rng.standard_normal((2, 2, 5, 4))
    y, idx = backend.max_pool2d(x, kernel, stride, padding)
    g = rng.standard_normal(y.shape)

    def max_loss():
        return float(np.sum(backend.max_pool2d(x, kernel, stride, padding)[0] * g))

    def avg_loss():
        return float(np.sum(backend.avg_pool2d(x, kernel, stride, padding) * g))

    np.testing.assert_allclose(backend.max_pool2d_backward(g, idx, (5, 4)),
                               _numeric_grad(max_loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(backend.avg_pool2d_backward(g, (5, 4), kernel, stride, padding),
                               _numeric_grad(avg_loss, x), rtol=1e-6, atol=1e-7)


# ---- bad input ----------------------------------------------------------------

@pytest.mark.parametrize("backend_name", backend_params())
def test_bad_conv_arguments_raise_clear_errors(backend_name):
    backend = load_backend(backend_name)
    x = np.ones((1, 3, 5, 5), dtype=np.float32)
    w = np.ones((2, 3, 3, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"3 channels.*expects 4.*\(1, 3, 5, 5\).*\(2, 4, 3, 3\)"):
        backend.conv2d(x, np.ones((2, 4, 3, 3), dtype=np.float32), (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="larger than the padded input"):
        backend.conv2d(x, np.ones((2, 3, 7, 7), dtype=np.float32), (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="larger than the padded input"):
        backend.conv2d(x, w, (1, 1), (0, 0), (3, 3))  # dilated kernel spans 7 > 5
    with pytest.raises(ValueError, match=r"x must be 4-D"):
        backend.conv2d(x[0], w, (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        backend.conv2d(x, w, (0, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="padding must be >= 0"):
        backend.conv2d(x, w, (1, 1), (-1, 0), (1, 1))
    with pytest.raises(TypeError, match="pair of ints"):
        backend.conv2d(x, w, (1, 1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match=r"grad_out has shape \(1, 2, 4, 4\)"):
        backend.conv2d_backward_input(np.ones((1, 2, 4, 4), dtype=np.float32), w, (5, 5),
                                      (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="batch sizes differ"):
        backend.conv2d_backward_weight(np.ones((2, 2, 3, 3), dtype=np.float32), x, (3, 3),
                                       (1, 1), (0, 0), (1, 1))


@pytest.mark.parametrize("backend_name", backend_params())
def test_bad_pool_arguments_raise_clear_errors(backend_name):
    backend = load_backend(backend_name)
    x = np.ones((1, 2, 4, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="at most half the kernel"):
        backend.max_pool2d(x, (2, 2), (2, 2), (2, 2))
    with pytest.raises(ValueError, match="larger than the padded input"):
        backend.avg_pool2d(x, (5, 5), (1, 1), (0, 0))
    y, idx = backend.max_pool2d(x, (2, 2), (2, 2), (0, 0))
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 16\)"):
        backend.max_pool2d_backward(y, idx + 16, (4, 4))
    with pytest.raises(ValueError, match="indices shape"):
        backend.max_pool2d_backward(y, idx[:, :1], (4, 4))


@pytest.mark.skipif("native" not in BACKENDS, reason="native backend not built")
def test_raw_native_functions_validate_before_touching_memory():
    from tinytorch import _native

    x = np.ones((1, 3, 5, 5), dtype=np.float32)
    w = np.ones((2, 3, 3, 3), dtype=np.float32)
    with pytest.raises(TypeError, match="x must have dtype float32, got float64"):
        _native.conv2d(x.astype(np.float64), w, (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="C-contiguous"):
        _native.conv2d(x.transpose(0, 1, 3, 2), w, (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="4-D"):
        _native.conv2d(x[0], w, (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match=r"3 channels.*\(1, 3, 5, 5\).*\(2, 4, 3, 3\)"):
        _native.conv2d(x, np.ones((2, 4, 3, 3), dtype=np.float32), (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        _native.conv2d(x, w, (1, 0), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="larger than the padded input"):
        _native.conv2d(x, w, (1, 1), (0, 0), (3, 1))
    with pytest.raises(ValueError, match="grad_out has shape"):
        _native.conv2d_backward_weight(np.ones((1, 2, 4, 4), dtype=np.float32), x, (3, 3),
                                       (1, 1), (0, 0), (1, 1))
    y, idx = _native.max_pool2d(x, (2, 2), (2, 2), (0, 0))
    with pytest.raises(TypeError, match="indices must have dtype int64"):
        _native.max_pool2d_backward(y, idx.astype(np.int32), (5, 5))
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 25\)"):
        _native.max_pool2d_backward(y, idx - 1 - idx.max(), (5, 5))
    with pytest.raises(ValueError, match="at most half the kernel"):
        _native.avg_pool2d(x, (3, 3), (1, 1), (2, 2))


@pytest.mark.skipif("native" not in BACKENDS, reason="native backend not built")
def test_raw_native_functions_reject_int64_overflow_and_byte_swapped_arrays():
    """Huge padding / dilation / kernel sizes must not wrap the int64 index arithmetic."""
    from tinytorch import _native

    x = np.ones((1, 1, 3, 3), dtype=np.float32)
    w = np.ones((1, 1, 3, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="overflow int64"):
        _native.conv2d(x, w, (1, 1), (0, 0), (2**62, 1))
    with pytest.raises(ValueError, match="overflow int64"):
        _native.conv2d(x, w, (1, 1), (2**62, 0), (1, 1))
    with pytest.raises(ValueError, match="overflow int64"):
        _native.conv2d_backward_input(np.ones((1, 1, 1, 1), np.float32), w, (3, 3), (1, 1),
                                      (0, 0), (1, 2**62))
    # the average divides by KH*KW: a wrapped product turned ones into -1e-18
    with pytest.raises(ValueError, match="overflows int64"):
        _native.avg_pool2d(x, (2**62 + 1, 3), (1, 1), (2**61, 1))
    with pytest.raises(ValueError, match="overflows int64"):
        _native.avg_pool2d_backward(np.ones((1, 1, 4, 3), np.float32), (3, 3),
                                    (2**62 + 1, 3), (1, 1), (2**61, 1))
    with pytest.raises(TypeError, match="native byte order"):
        _native.conv2d(x.astype(">f4"), w, (1, 1), (0, 0), (1, 1))
    y, idx = _native.max_pool2d(x, (2, 2), (1, 1), (0, 0))
    with pytest.raises(TypeError, match="native byte order"):
        _native.max_pool2d_backward(y, idx.astype(">i8"), (3, 3))


def test_max_pool_2x2_fast_path_matches_loop_with_ties_and_nan():
    """The native 2x2/stride-2 special case must pick the same index as the general rule,
    in its scalar loop (OW < 8) and in its AVX2 loop of 8 outputs (plus a scalar tail)."""
    native = pytest.importorskip("tinytorch._native")
    from tinytorch.backends.spatial import loop

    rng = np.random.default_rng(5)
    for W in (8, 34, 35):
        x = rng.integers(0, 3, size=(2, 3, 6, W)).astype(np.float32)  # many ties
        x[0, 0, 0, 1] = np.nan
        x[1, 2, 3, 3] = np.nan
        x[1, 2, 2, 2] = np.nan  # two NaNs in one window: the last (row-major) wins
        if W > 8:
            x[0, 1, 2:4, 18:20] = -np.inf  # an all -inf window: its first pixel
            x[1, 0, 5, 21] = np.nan  # a NaN in the last tap of a vector lane
        y, idx = native.max_pool2d(x, (2, 2), (2, 2), (0, 0))
        want_y, want_idx = loop.max_pool2d(x, (2, 2), (2, 2), (0, 0))
        np.testing.assert_array_equal(idx, want_idx, err_msg=f"W={W}")
        np.testing.assert_array_equal(y, want_y)  # NaN == NaN for assert_array_equal


#: shapes around the direct convolution's tile edges: output widths below one
#: vector, between one and two (the overlapping last vector), a ragged strip
#: after full ones; filter counts around MR (channels in several blocks: below)
DIRECT_CASES = [
    ((2, 3, 5, 5), (5, 3, 3, 3), (1, 1), (1, 1), (1, 1)),
    ((1, 4, 6, 14), (7, 4, 3, 3), (1, 1), (1, 1), (1, 1)),
    ((2, 5, 4, 28), (13, 5, 3, 3), (1, 1), (1, 1), (1, 1)),
    ((1, 70, 9, 33), (6, 70, 3, 3), (1, 1), (1, 1), (1, 1)),
    ((3, 17, 13, 29), (12, 17, 3, 5), (2, 1), (2, 1), (1, 2)),
    ((1, 9, 3, 40), (1, 9, 1, 1), (1, 1), (0, 0), (1, 1)),
    ((2, 2, 9, 9), (3, 2, 2, 2), (1, 1), (0, 3), (3, 1)),
]


@pytest.mark.skipif("native" not in BACKENDS, reason="native backend not built")
@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation", DIRECT_CASES)
def test_native_direct_conv_agrees_with_im2col_and_float64(x_shape, w_shape, stride, padding,
                                                          dilation):
    from tinytorch import _native

    rng = np.random.default_rng(sum(x_shape) + sum(w_shape))
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    ref = load_backend("numpy").conv2d(x.astype(np.float64), w.astype(np.float64), stride,
                                       padding, dilation)
    for algorithm in ("auto", "im2col", "direct"):
        y = _native.conv2d(x, w, stride, padding, dilation, algorithm)
        assert y.shape == ref.shape
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max(),
                                   err_msg=algorithm)


@pytest.mark.skipif("native" not in BACKENDS, reason="native backend not built")
def test_native_direct_conv_in_several_channel_blocks():
    """The direct kernel sums the channels in blocks whose filter-tile weights (MR x cb*KH*KW)
    and slab rows (cb x KH rows of the padded width) fit a quarter of L2 (conv_direct.cpp):
    enough channels for three blocks, forward and (with as many filters) input gradient."""
    from tinytorch import _native

    info = _native.gemm_blocking()
    per_channel = (info["mr"] * 9 + 3 * 8) * 4  # 3x3 kernel, padded width 6 + 2
    C = 2 * (info["l2"] // 4 // per_channel) + 5  # two full blocks and a bit
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, C, 6, 6)).astype(np.float32)
    w = rng.standard_normal((9, C, 3, 3)).astype(np.float32)
    one = (1, 1)
    ref = load_backend("numpy").conv2d(x.astype(np.float64), w.astype(np.float64), one, one, one)
    y = _native.conv2d(x, w, one, one, one, "direct")
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    wt = np.ascontiguousarray(w.transpose(1, 0, 2, 3))  # C filters of 9 channels
    g = rng.standard_normal((1, C, 6, 6)).astype(np.float32)
    ref = load_backend("numpy").conv2d_backward_input(g.astype(np.float64),
                                                      wt.astype(np.float64), (6, 6), one, one,
                                                      one)
    gx = _native.conv2d_backward_input(g, wt, (6, 6), one, one, one)
    np.testing.assert_allclose(gx, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


#: unit-stride cases, where the native input gradient is a direct convolution of
#: grad_out with the flipped weights, and two whose padding exceeds the kernel's
#: reach ((KH-1)*dh), which fall back to im2col + col2im
BACKWARD_INPUT_CASES = [c for c in DIRECT_CASES if c[2] == (1, 1)] + [
    ((1, 2, 6, 6), (3, 2, 3, 3), (1, 1), (3, 1), (1, 1)),
    ((2, 3, 4, 7), (4, 3, 1, 3), (1, 1), (0, 2), (1, 1)),
]


@pytest.mark.skipif("native" not in BACKENDS, reason="native backend not built")
@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation", BACKWARD_INPUT_CASES)
def test_native_conv_input_gradient_agrees_with_float64(x_shape, w_shape, stride, padding,
                                                        dilation):
    rng = np.random.default_rng(sum(x_shape) + sum(w_shape) + sum(padding))
    w = rng.standard_normal(w_shape).astype(np.float32)
    x_hw = x_shape[2:]
    out_hw = [h + 2 * p - d * (k - 1) for h, p, d, k in
              zip(x_hw, padding, dilation, w_shape[2:], strict=True)]
    g = rng.standard_normal((x_shape[0], w_shape[0], *out_hw)).astype(np.float32)
    ref = load_backend("numpy").conv2d_backward_input(g.astype(np.float64), w.astype(np.float64),
                                                      x_hw, stride, padding, dilation)
    gx = load_backend("native").conv2d_backward_input(g, w, x_hw, stride, padding, dilation)
    assert gx.shape == ref.shape == x_shape
    np.testing.assert_allclose(gx, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


#: 1x1 kernels: with unit strides and no padding the native GEMMs read x and write
#: grad_x in place (no cols matrix); with padding, a stride or a dilation they do not
POINTWISE_CASES = [
    ((2, 5, 7, 9), (3, 5, 1, 1), (1, 1), (0, 0), (1, 1)),
    ((1, 70, 4, 33), (13, 70, 1, 1), (1, 1), (0, 0), (2, 3)),
    ((3, 4, 6, 6), (7, 4, 1, 1), (1, 1), (1, 0), (1, 1)),
    ((2, 4, 7, 8), (5, 4, 1, 1), (2, 1), (0, 0), (1, 1)),
]


@pytest.mark.skipif("native" not in BACKENDS, reason="native backend not built")
@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation", POINTWISE_CASES)
def test_native_pointwise_conv_and_gradients_agree_with_float64(x_shape, w_shape, stride,
                                                                padding, dilation):
    rng = np.random.default_rng(sum(x_shape) + sum(w_shape) + sum(padding) + sum(stride))
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    ref, native = load_backend("numpy"), load_backend("native")
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    y = ref.conv2d(x64, w64, stride, padding, dilation)
    g = rng.standard_normal(y.shape).astype(np.float32)
    g64 = g.astype(np.float64)
    pairs = [
        (native.conv2d(x, w, stride, padding, dilation), y),
        (native.conv2d_backward_input(g, w, x_shape[2:], stride, padding, dilation),
         ref.conv2d_backward_input(g64, w64, x_shape[2:], stride, padding, dilation)),
        (native.conv2d_backward_weight(g, x, w_shape[2:], stride, padding, dilation),
         ref.conv2d_backward_weight(g64, x64, w_shape[2:], stride, padding, dilation)),
    ]
    for got, want in pairs:
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


@pytest.mark.skipif("native" not in BACKENDS, reason="native backend not built")
def test_native_conv_algorithm_is_checked():
    from tinytorch import _native

    x = np.ones((1, 2, 5, 5), np.float32)
    w = np.ones((3, 2, 3, 3), np.float32)
    with pytest.raises(
        ValueError, match="algorithm must be 'auto', 'im2col', 'direct' or 'winograd', got 'fft'"
    ):
        _native.conv2d(x, w, (1, 1), (1, 1), (1, 1), "fft")
    with pytest.raises(ValueError, match="horizontal stride of 1"):
        _native.conv2d(x, w, (1, 2), (1, 1), (1, 1), "direct")
