"""Module 15: every backend computes every kernel of the contract, and they agree.

The loop backend is the specification; numpy and native must match it (and a
float64 reference) on awkward shapes: 1x1, primes, sizes that are not
multiples of any block, empty batches, transposed operands.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import backend_params
from tinytorch.backends import contract, load_backend
from tinytorch.backends.numpy_backend import softmax as numpy_softmax


def _mm(shape_a, shape_b, transpose_a=False, transpose_b=False):
    def make(rng):
        a = rng.standard_normal(shape_a[::-1] if transpose_a else shape_a).astype(np.float32)
        b = rng.standard_normal(shape_b[::-1] if transpose_b else shape_b).astype(np.float32)
        return ((a.T if transpose_a else a), (b.T if transpose_b else b)), {}
    return make


def _reference_matmul(a, b):
    return np.matmul(a.astype(np.float64), b.astype(np.float64))


def _softmax_case(shape, axis, scale=1.0):
    def make(rng):
        return ((rng.standard_normal(shape) * scale).astype(np.float32), axis), {}
    return make


#: kernel -> list of (case id, input maker, float64 reference, tolerance)
CASES = {
    "matmul": [
        (f"{sa}x{sb}{'-aT' if ta else ''}{'-bT' if tb else ''}", _mm(sa, sb, ta, tb),
         _reference_matmul, 1e-4)
        for sa, sb, ta, tb in [((1, 1), (1, 1), False, False), ((7, 13), (13, 5), False, False),
                               ((17, 1), (1, 33), False, False), ((3, 31), (31, 2), True, False),
                               ((9, 11), (11, 6), False, True), ((5, 8), (8, 7), True, True),
                               ((0, 4), (4, 3), False, False), ((4, 0), (0, 3), False, False)]
    ],
    "bmm": [
        (f"{sa}x{sb}", _mm(sa, sb), _reference_matmul, 1e-4)
        for sa, sb in [((1, 1, 1), (1, 1, 1)), ((3, 7, 13), (3, 13, 5)), ((0, 2, 3), (0, 3, 4)),
                       ((2, 5, 1), (2, 1, 6))]
    ],
    "softmax": [
        (f"{shape}-axis{axis}", _softmax_case(shape, axis, scale),
         lambda x, axis: numpy_softmax(x.astype(np.float64), axis), 1e-6)
        for shape, axis, scale in [((1, 1), -1, 1.0), ((7, 13, 5), 1, 1.0), ((7, 13, 5), -1, 1.0),
                                   ((4, 9), 0, 1.0), ((3, 6), -1, 1000.0), ((2, 3, 4, 5), 2, 1.0)]
    ],
}


def _loop_float64(kernel):
    """The reference for the spatial kernels: the loop backend (the spec) in float64."""
    from tinytorch.backends import loop

    def reference(*args):
        args = [a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype == np.float32
                else a for a in args]
        return getattr(loop, kernel)(*args)
    return reference


def _spatial(kernel, make_args):
    def make(rng):
        return make_args(rng), {}
    return make


def _normal(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


# (N, C, H, W), (F, KH, KW), stride, padding, dilation: odd sizes, strides, dilation, 1x1
CONV_GEOMETRIES = [
    ((1, 1, 1, 1), (1, 1, 1), (1, 1), (0, 0), (1, 1)),
    ((2, 3, 7, 9), (4, 3, 5), (1, 1), (1, 2), (1, 1)),
    ((1, 2, 8, 8), (3, 3, 3), (2, 2), (1, 1), (1, 1)),
    ((2, 2, 9, 7), (2, 3, 3), (1, 2), (2, 0), (2, 2)),
    ((0, 2, 5, 5), (3, 3, 3), (1, 1), (1, 1), (1, 1)),
]


def _conv_out_hw(x_shape, k, stride, padding, dilation):
    return tuple((x_shape[2 + i] + 2 * padding[i] - dilation[i] * (k[i] - 1) - 1) // stride[i] + 1
                 for i in range(2))


def _conv_cases():
    cases = {"conv2d": [], "conv2d_backward_input": [], "conv2d_backward_weight": []}
    for xs, (f, kh, kw), stride, pad, dil in CONV_GEOMETRIES:
        n, c, h, w = xs
        oh, ow = _conv_out_hw(xs, (kh, kw), stride, pad, dil)
        tag = f"x{xs}-w{(f, c, kh, kw)}-s{stride}-p{pad}-d{dil}"
        cases["conv2d"].append((tag, _spatial("conv2d", lambda rng, xs=xs, f=f, c=c, kh=kh, kw=kw,
                                                      s=stride, p=pad, d=dil: (
            _normal(rng, *xs), _normal(rng, f, c, kh, kw), s, p, d)), _loop_float64("conv2d"),
            1e-4))
        cases["conv2d_backward_input"].append((tag, _spatial(
            "conv2d_backward_input", lambda rng, n=n, f=f, c=c, kh=kh, kw=kw, oh=oh, ow=ow, h=h,
            w=w, s=stride, p=pad, d=dil: (_normal(rng, n, f, oh, ow), _normal(rng, f, c, kh, kw),
                                          (h, w), s, p, d)),
            _loop_float64("conv2d_backward_input"), 1e-4))
        cases["conv2d_backward_weight"].append((tag, _spatial(
            "conv2d_backward_weight", lambda rng, xs=xs, n=n, f=f, kh=kh, kw=kw, oh=oh, ow=ow,
            s=stride, p=pad, d=dil: (_normal(rng, n, f, oh, ow), _normal(rng, *xs), (kh, kw), s,
                                     p, d)),
            _loop_float64("conv2d_backward_weight"), 1e-4))
    return cases


# (N, C, H, W), kernel, stride, padding
POOL_GEOMETRIES = [((1, 1, 1, 1), (1, 1), (1, 1), (0, 0)), ((2, 3, 7, 9), (3, 2), (2, 2), (1, 1)),
                   ((1, 2, 8, 8), (2, 2), (2, 2), (0, 0)), ((0, 1, 4, 4), (2, 2), (2, 2), (0, 0))]


def _pool_cases():
    cases = {k: [] for k in ("max_pool2d", "max_pool2d_backward", "avg_pool2d",
                             "avg_pool2d_backward")}
    from tinytorch.backends import loop

    for xs, k, s, p in POOL_GEOMETRIES:
        tag = f"x{xs}-k{k}-s{s}-p{p}"
        oh = (xs[2] + 2 * p[0] - k[0]) // s[0] + 1
        ow = (xs[3] + 2 * p[1] - k[1]) // s[1] + 1
        cases["max_pool2d"].append((tag, _spatial("max_pool2d", lambda rng, xs=xs, k=k, s=s, p=p: (
            _normal(rng, *xs), k, s, p)), _loop_float64("max_pool2d"), 1e-6))
        cases["avg_pool2d"].append((tag, _spatial("avg_pool2d", lambda rng, xs=xs, k=k, s=s, p=p: (
            _normal(rng, *xs), k, s, p)), _loop_float64("avg_pool2d"), 1e-6))

        def max_backward_args(rng, xs=xs, k=k, s=s, p=p):
            _, indices = loop.max_pool2d(_normal(rng, *xs), k, s, p)
            return _normal(rng, *indices.shape), indices, xs[2:]
        cases["max_pool2d_backward"].append((tag, _spatial("max_pool2d_backward",
                                                           max_backward_args),
                                             _loop_float64("max_pool2d_backward"), 1e-6))
        cases["avg_pool2d_backward"].append((tag, _spatial(
            "avg_pool2d_backward", lambda rng, xs=xs, k=k, s=s, p=p, oh=oh, ow=ow: (
                _normal(rng, xs[0], xs[1], oh, ow), xs[2:], k, s, p)),
            _loop_float64("avg_pool2d_backward"), 1e-6))
    return cases


CASES.update(_conv_cases())
CASES.update(_pool_cases())


def test_every_contract_kernel_has_conformance_cases():
    assert set(CASES) == set(contract.KERNELS)


@pytest.mark.parametrize("backend_name", backend_params())
@pytest.mark.parametrize("kernel,case_id,make,reference,tol", [
    (kernel, case_id, make, ref, tol) for kernel, cases in CASES.items()
    for case_id, make, ref, tol in cases
], ids=lambda v: v if isinstance(v, str) else "")
def test_kernel_agrees_with_reference(backend_name, kernel, case_id, make, reference, tol):
    rng = np.random.default_rng(7)
    args, kwargs = make(rng)
    got = getattr(load_backend(backend_name), kernel)(*args, **kwargs)
    want = reference(*args, **kwargs)
    if not isinstance(got, tuple):  # max_pool2d returns (values, indices)
        got, want = (got,), (want,)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        if w.dtype.kind == "f":
            assert g.dtype == np.float32, f"{backend_name}.{kernel} changed dtype to {g.dtype}"
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
        else:
            np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("backend_name", backend_params())
def test_float64_stays_float64(backend_name):
    """Gradchecks run in float64; no backend may silently drop to float32."""
    backend = load_backend(backend_name)
    a, b = np.ones((3, 4)), np.ones((4, 2))
    assert backend.matmul(a, b).dtype == np.float64
    assert backend.softmax(np.ones((2, 3)), -1).dtype == np.float64
