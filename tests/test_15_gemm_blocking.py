"""Module 15: the sgemm's cache blocking is derived from this CPU's caches, and is sane.

KC, MC and NC (``_native.gemm_blocking()``) are computed at run time from the
cache sizes the operating system reports; ``set_gemm_blocking`` replaces them
for experiments. Whatever the blocking, the product must not change beyond
float32 rounding; the FMA peak the reports divide by must be a real measurement.
"""

from __future__ import annotations

import numpy as np
import pytest

_native = pytest.importorskip("tinytorch._native")

from tests.conftest import NOT_APPLICABLE  # noqa: E402
from tinytorch.utils.machine import cache_sizes  # noqa: E402


def assert_matmul_close(got: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """float32's error bound for a K-term dot product, any summation order (as in
    test_15_matmul): |C - C64| <= 2 K u |A| @ |B|."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    bound = 2 * max(a.shape[1], 1) * 2.0**-24 * (np.abs(a64) @ np.abs(b64)) + 1e-30
    assert got.shape == (a.shape[0], b.shape[1]) and got.dtype == np.float32
    excess = np.abs(got - a64 @ b64) - bound
    assert (excess <= 0).all(), f"max error above the bound by {excess.max():.3g}"


@pytest.fixture
def restore_blocking():
    yield
    _native.set_gemm_blocking()  # back to the derived blocking


def test_blocking_fits_the_caches_it_was_derived_from():
    b = _native.gemm_blocking()
    assert b["source"] in {"sysfs", "sysconf", "defaults"}
    assert b["mr"] >= 1 and b["nr"] >= 4 and b["nr"] % 4 == 0
    assert b["l1d"] >= 4096 and b["l2"] >= b["l1d"] and b["l3"] >= 0
    # KC: a multiple of 16, at least 256 deep; the B sliver in 3/4 of L1d unless KC is
    # at its floor of 256 (the A sliver streams from L2)
    assert 256 <= b["kc"] <= 1024 and b["kc"] % 16 == 0
    assert b["nr"] * b["kc"] * 4 <= b["l1d"] * 3 // 4 or b["kc"] == 256  # B sliver in L1d
    # MC: whole register tiles; the packed A block in at most half of L2 (or one tile)
    assert b["mc"] % b["mr"] == 0
    assert b["mc"] * b["kc"] * 4 <= b["l2"] // 2 or b["mc"] == b["mr"]
    # NC: whole slivers, at most 4096 columns
    assert b["nc"] % b["nr"] == 0 and b["nr"] <= b["nc"] <= 4096


def test_blocking_uses_the_caches_the_os_reports():
    sizes = cache_sizes()  # sysfs, the same source the C++ reads first
    b = _native.gemm_blocking()
    if b["source"] != "sysfs" or not sizes:
        pytest.skip(f"{NOT_APPLICABLE} no sysfs cache information on this machine")
    assert b["l1d"] == sizes["L1d"] and b["l2"] == sizes["L2"]


def test_set_gemm_blocking_replaces_and_restores(restore_blocking):
    derived = _native.gemm_blocking()
    b = _native.set_gemm_blocking(kc=64, mc=7, nc=20)
    assert (b["kc"], b["source"]) == (64, "set_gemm_blocking")
    assert b["mc"] % b["mr"] == 0 and b["mc"] >= 7   # rounded up to whole tiles
    assert b["nc"] % b["nr"] == 0 and b["nc"] >= 20
    assert _native.gemm_blocking() == b
    assert _native.set_gemm_blocking() == derived


@pytest.mark.parametrize("kc,mc,nc", [(16, 1, 1), (64, 12, 48), (200, 30, 100)])
@pytest.mark.parametrize("M,K,N", [(67, 300, 130), (130, 70, 257), (9, 521, 31)])
def test_any_blocking_gives_the_same_product(rng, restore_blocking, kc, mc, nc, M, K, N):
    a = rng.standard_normal((K, M) if M % 2 else (M, K)).astype(np.float32)
    a = a.T if M % 2 else a   # odd M: a transposed view, packed by the other path
    b = rng.standard_normal((K, N)).astype(np.float32)
    _native.set_gemm_blocking(kc, mc, nc)
    assert_matmul_close(_native.matmul(a, b), a, b)


@pytest.mark.parametrize("bad", [dict(kc=-1), dict(mc=1 << 20), dict(nc=-5)])
def test_set_gemm_blocking_rejects_bad_sizes(restore_blocking, bad):
    with pytest.raises(ValueError, match="set_gemm_blocking: (kc|mc|nc) must be between 0"):
        _native.set_gemm_blocking(**bad)


def test_fma_peak_is_measured():
    gflops = _native.fma_peak_gflops(0.02)
    assert gflops > 0.1  # any CPU this decade does far more; a broken loop does ~0
    for bad in (0.0, -1.0, 11.0, float("nan")):
        with pytest.raises(ValueError, match="seconds must be in"):
            _native.fma_peak_gflops(bad)
