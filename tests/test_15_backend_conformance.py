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
    assert got.shape == want.shape
    assert got.dtype == np.float32, f"{backend_name}.{kernel} changed dtype to {got.dtype}"
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("backend_name", backend_params())
def test_float64_stays_float64(backend_name):
    """Gradchecks run in float64; no backend may silently drop to float32."""
    backend = load_backend(backend_name)
    a, b = np.ones((3, 4)), np.ones((4, 2))
    assert backend.matmul(a, b).dtype == np.float64
    assert backend.softmax(np.ones((2, 3)), -1).dtype == np.float64
