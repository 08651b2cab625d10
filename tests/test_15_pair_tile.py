"""Module 15: the AVX2 12 x 8 pair-broadcast tile of large sgemms (csrc/gemm_pairs.cpp).

On an AVX2 build without AVX-512, products with M >= 24, N >= 64 and K >= 128 use a
tile that broadcasts A two rows at a time and duplicates B's even and odd columns;
the accumulators hold rows in interleaved lanes that are put back together after the
k loop. These tests run the same products with the tile on and off
(``set_gemm_pair_tile``), at the tile's edges (rows around 12, columns around 8),
with every transpose, and with cache blocks small enough that the k, row and
column loops all take several steps, against float32's error bound.
"""

from __future__ import annotations

import numpy as np
import pytest

_native = pytest.importorskip("tinytorch._native")

from tests.test_15_gemm_blocking import assert_matmul_close  # noqa: E402


@pytest.fixture
def restore():
    yield
    _native.set_gemm_pair_tile(True)
    _native.set_gemm_blocking()


SHAPES = [(24, 128, 64), (25, 129, 65), (35, 200, 71), (36, 128, 72), (100, 300, 77),
          (130, 384, 200), (13, 256, 64), (24, 127, 64), (257, 640, 263)]


def operands(seed, M, K, N, trans_a, trans_b):
    """op(A) (M, K) and op(B) (K, N), as transposed views where asked."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((K, M) if trans_a else (M, K)).astype(np.float32)
    b = rng.standard_normal((N, K) if trans_b else (K, N)).astype(np.float32)
    return (a.T if trans_a else a), (b.T if trans_b else b)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("M,K,N", SHAPES)
def test_pair_tile_agrees_with_float64_and_with_the_6x16_tile(M, K, N, trans_a, trans_b,
                                                              restore):
    A, B = operands(M * 7 + K * 3 + N + 2 * trans_a + trans_b, M, K, N, trans_a, trans_b)
    results = {}
    for enabled in (True, False):
        _native.set_gemm_pair_tile(enabled)
        results[enabled] = _native.matmul(A, B)
        assert_matmul_close(results[enabled], A, B)
    # two tiles, two summation orders: equal to rounding, not bit for bit
    np.testing.assert_allclose(results[True], results[False], rtol=1e-4,
                               atol=1e-4 * np.abs(results[False]).max())


@pytest.mark.parametrize("blocking", [(64, 7, 20), (128, 30, 64), (200, 12, 8)])
def test_pair_tile_with_several_k_row_and_column_blocks(blocking, restore):
    """Small KC, MC and NC: the first k block overwrites C, the later ones add to it."""
    _native.set_gemm_blocking(*blocking)
    rng = np.random.default_rng(sum(blocking))
    a = rng.standard_normal((61, 333)).astype(np.float32)
    b = rng.standard_normal((333, 90)).astype(np.float32)
    assert_matmul_close(_native.matmul(a, b), a, b)


def test_pair_tile_switch_is_reported(restore):
    available = _native.set_gemm_pair_tile(False)
    assert isinstance(available, bool)
    assert _native.gemm_blocking()["pair_tile"] is None
    _native.set_gemm_pair_tile(True)
    assert _native.gemm_blocking()["pair_tile"] == ("12x8" if available else None)


def test_pair_tile_propagates_nan_and_inf(restore):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((48, 256)).astype(np.float32)
    b = rng.standard_normal((256, 64)).astype(np.float32)
    a[3, 17] = np.nan
    b[40, 9] = np.inf
    got = _native.matmul(a, b)
    want = a.astype(np.float64) @ b.astype(np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(np.isinf(got), np.isinf(want))


# ---- two threads: blocks handed out dynamically (gemm_pairs_dynamic) ----------------------

@pytest.fixture
def two_threads():
    before = _native.get_num_threads()
    _native.set_num_threads(2)
    yield
    _native.set_num_threads(before)
    _native.set_gemm_dynamic(True)
    _native.set_gemm_pair_tile(True)
    _native.set_gemm_blocking()


# M from below the dynamic path's minimum (four blocks) to many blocks; K and N past one
# panel under the small blockings, so a block must wait for its previous panel
DYNAMIC_SHAPES = [(24, 128, 64), (48, 130, 64), (100, 300, 130), (257, 129, 65),
                  (390, 520, 200), (96, 1000, 333), (128, 784, 256)]


@pytest.mark.parametrize("blocking", [(0, 0, 0), (64, 24, 64), (128, 36, 128)])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("M,K,N", DYNAMIC_SHAPES)
def test_dynamic_schedule_equals_the_static_split_bit_for_bit(M, K, N, trans_a, trans_b,
                                                              blocking, two_threads):
    """Both schedules add the same k blocks to every element in the same order: equal bits."""
    _native.set_gemm_blocking(*blocking)
    A, B = operands(M + 3 * K + 7 * N + sum(blocking), M, K, N, trans_a, trans_b)
    results = {}
    for dynamic in (True, False):
        _native.set_gemm_dynamic(dynamic)
        results[dynamic] = _native.matmul(A, B)
        assert_matmul_close(results[dynamic], A, B)
    np.testing.assert_array_equal(results[True], results[False])


def test_dynamic_schedule_is_repeatable_and_propagates_nan(two_threads):
    """Many k panels and blocks, run repeatedly: a race on C would show up as a change."""
    _native.set_gemm_blocking(32, 12, 0)
    rng = np.random.default_rng(11)
    a = rng.standard_normal((240, 640)).astype(np.float32)
    b = rng.standard_normal((640, 96)).astype(np.float32)
    a[100, 5] = np.nan
    first = _native.matmul(a, b)
    assert_matmul_close(np.nan_to_num(first, nan=0.0)[np.arange(240) != 100],
                        np.delete(a, 100, axis=0), b)
    assert np.isnan(first[100]).all() and not np.isnan(np.delete(first, 100, axis=0)).any()
    for _ in range(20):
        np.testing.assert_array_equal(_native.matmul(a, b), first)


@pytest.mark.parametrize("switch", ["set_gemm_pair_tile", "set_gemm_dynamic"])
@pytest.mark.parametrize("bad", [None, 0, 2.5, "no"])
def test_switches_take_only_a_bool(switch, bad, two_threads):
    """None or 0 must not quietly mean off (or 2.5 on): a TypeError naming the signature."""
    _native.set_gemm_pair_tile(True)
    _native.set_gemm_dynamic(True)
    on = {k: _native.gemm_blocking()[k] for k in ("pair_tile", "schedule")}
    with pytest.raises(TypeError, match=rf"{switch}\(\): incompatible function arguments"):
        getattr(_native, switch)(bad)
    assert {k: _native.gemm_blocking()[k] for k in on} == on  # a refused call changes nothing
    getattr(_native, switch)(np.bool_(True))  # NumPy's bool is a bool


def test_dynamic_switch_is_reported(two_threads):
    available = _native.set_gemm_dynamic(False)
    assert available == _native.set_gemm_pair_tile(True)  # built exactly where the tile is
    assert _native.gemm_blocking()["schedule"] == ("static" if available else None)
    _native.set_gemm_dynamic(True)
    assert _native.gemm_blocking()["schedule"] == ("dynamic" if available else None)
    _native.set_gemm_pair_tile(False)
    assert _native.gemm_blocking()["schedule"] is None
