"""Comparison tolerances, written once (the name follows ``torch.testing``).

A float32 kernel is compared with a float64 reference: rounding errors grow
with the length of each dot product and with the magnitude of the result, so
the tolerance is relative to the largest |expected| value, not per element
(a product that sums to ~0 must not demand 1e-4 relative accuracy of noise).
``tinytorch bench``, the benchmarks and ``tinytorch doctor`` use these; the
finite-difference gradient check has its own defaults in ``autograd.gradcheck``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FLOAT32_TOL", "assert_close", "close"]

#: float32 result vs float64 reference: |actual - expected| <= tol * max(1, max|expected|)
#: plus tol relative; 1e-4 covers K ~ 1000-term float32 dot products (~sqrt(K) * 6e-8 each)
FLOAT32_TOL = 1e-4


def _scale(expected: np.ndarray) -> float:
    return max(1.0, float(np.abs(expected).max(initial=0.0)))


def close(actual, expected, tol: float = FLOAT32_TOL) -> bool:
    """True when ``actual`` has ``expected``'s shape and agrees within ``tol`` (see above)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    return actual.shape == expected.shape and bool(
        np.allclose(actual, expected, rtol=tol, atol=tol * _scale(expected)))


def assert_close(actual, expected, tol: float = FLOAT32_TOL) -> None:
    """Raise AssertionError (with NumPy's report of the worst elements) unless ``close``."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * _scale(expected))
