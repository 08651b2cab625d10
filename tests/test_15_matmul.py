"""Module 15: the native matmul (blocked, packed, SIMD, threaded) and its step variants.

Every result is compared with a float64 NumPy reference. The shapes are chosen
to hit the kernel's edges: 1 x 1 x 1, primes, sizes that are not multiples of
any tile (MR, NR, KC, MC, NC), K = 0, transposed views read in place, and
views that need a copy in the Python adapter.
"""

from __future__ import annotations

import numpy as np
import pytest

_native = pytest.importorskip("tinytorch._native")

from tinytorch.backends.linalg import native as native_backend  # noqa: E402

#: (M, K, N): tiny, primes, a 1-wide inner dimension, skinny results (the
#: kernel computes C^T for those) and shapes straddling every tile size
#: (MR = 8, NR = 32, KC = 512, MC = 256, NC = 2048 with AVX-512; the AVX2
#: and scalar builds use smaller register tiles, which these also straddle)
SHAPES = [
    (1, 1, 1), (7, 13, 5), (17, 1, 33), (1, 300, 1), (3, 2, 200), (65, 129, 257),
    (9, 521, 31), (33, 17, 16), (263, 200, 47), (128, 256, 10), (40, 7, 1), (130, 70, 2050),
]
VARIANTS = list(_native.MATMUL_VARIANTS)


def _operands(rng, M, K, N, transpose_a=False, transpose_b=False):
    """float32 a: (M, K), b: (K, N); a transposed operand is the .T view of a C array."""
    a = rng.standard_normal((K, M) if transpose_a else (M, K)).astype(np.float32)
    b = rng.standard_normal((N, K) if transpose_b else (K, N)).astype(np.float32)
    return (a.T if transpose_a else a), (b.T if transpose_b else b)


def assert_matmul_close(got: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """The float32 error bound of a K-term dot product: |C - C64| <= 2 K u |A| @ |B|.

    u = 2^-24 is float32's unit roundoff; the bound holds for any summation
    order, so it is tight enough to catch a wrong element and loose enough for
    any blocking of K.
    """
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    want = a64 @ b64
    assert got.shape == want.shape
    assert got.dtype == np.float32
    K = a.shape[-1]
    bound = 2 * max(K, 1) * 2.0**-24 * (np.abs(a64) @ np.abs(b64)) + 1e-30
    excess = np.abs(got - want) - bound
    assert (excess <= 0).all(), f"max error above the bound by {excess.max():.3g}"


@pytest.mark.parametrize("M,K,N", SHAPES, ids=[f"{m}x{k}x{n}" for m, k, n in SHAPES])
@pytest.mark.parametrize("transpose_a,transpose_b", [(False, False), (True, False),
                                                     (False, True), (True, True)],
                         ids=["ab", "aT", "bT", "aTbT"])
def test_matmul_matches_float64(rng, M, K, N, transpose_a, transpose_b):
    a, b = _operands(rng, M, K, N, transpose_a, transpose_b)
    assert_matmul_close(_native.matmul(a, b), a, b)


@pytest.mark.parametrize("M,K,N", [(0, 4, 3), (4, 3, 0), (0, 0, 0)])
def test_matmul_empty_result(M, K, N):
    out = _native.matmul(np.ones((M, K), np.float32), np.ones((K, N), np.float32))
    assert out.shape == (M, N) and out.dtype == np.float32


def test_matmul_k_zero_gives_zeros():
    out = _native.matmul(np.ones((5, 0), np.float32), np.ones((0, 7), np.float32))
    np.testing.assert_array_equal(out, np.zeros((5, 7), np.float32))


def test_result_does_not_depend_on_thread_count(rng):
    # Threads split C, never K: every element sums its K products in the same
    # order, so 1 and 2 threads must agree bit for bit.
    a, b = _operands(rng, 130, 300, 70)
    previous = _native.get_num_threads()
    try:
        _native.set_num_threads(1)
        one = _native.matmul(a, b)
        _native.set_num_threads(2)
        two = _native.matmul(a, b)
    finally:
        _native.set_num_threads(previous)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("M,K,N,ldb,threads", [
    (64, 64, 64, 64, 1), (9, 40, 48, 48, 1), (7, 3, 96, 96, 1), (61, 37, 32, 80, 1),
    (1000, 16, 32, 32, 2), (300, 64, 16, 48, 2), (64, 65, 64, 64, 1),
], ids=lambda v: str(v))
def test_small_row_major_b_read_in_place(rng, M, K, N, ldb, threads):
    """A row-major B whose rows span at most half of L1d and whose width is whole vectors
    is read in place, not packed (matmul.cpp): each shape also transposes A; the window
    (ldb > N) reads only its own columns; 65 x 64 rows are over the bound and packed."""
    b = rng.standard_normal((K, ldb)).astype(np.float32)[:, :N]
    previous = _native.get_num_threads()
    try:
        _native.set_num_threads(threads)
        for transpose_a in (False, True):
            a, _ = _operands(rng, M, K, N, transpose_a)
            assert_matmul_close(_native.matmul(a, b), a, b)
    finally:
        _native.set_num_threads(previous)


@pytest.mark.parametrize("make_view", [
    lambda x: x[::2, :],        # rows strided
    lambda x: x[:, ::3],        # columns strided: neither rows nor columns contiguous
    lambda x: x[::-1, :],       # negative stride
    lambda x: x[1:-1, 2:-1],    # interior window: contiguous rows, row stride > width
], ids=["rows-step2", "cols-step3", "reversed", "window"])
def test_adapter_accepts_any_strides(rng, make_view):
    a = make_view(rng.standard_normal((40, 45)).astype(np.float32))
    K = a.shape[1]
    b = make_view(rng.standard_normal((3 * K + 3, 23)).astype(np.float32))[:K]
    assert_matmul_close(native_backend.matmul(a, b), a, b)


def _misaligned(x):
    """x's values in a float32 view at an odd byte offset into a buffer."""
    buf = np.zeros(x.nbytes + 1, np.uint8)
    view = np.ndarray(x.shape, np.float32, buf, offset=1)
    view[...] = x
    return view


@pytest.mark.parametrize("make_view,refused", [
    (lambda x: x[::2, ::3], True), (lambda x: x[::-1, ::-1], True), (lambda x: x.T[::2], True),
    (_misaligned, True), (lambda x: x[1:-1, 2:-1], False), (lambda x: x.T, False),
], ids=["both-strided", "reversed", "transposed-strided", "misaligned", "window", "T"])
def test_matmul_any_takes_every_layout(rng, make_view, refused):
    """matmul_any (the backend adapter's one call) takes any layout: where matmul refuses an
    operand (neither rows nor columns contiguous, or misaligned) it computes on a copy; where
    matmul reads it in place, both give the same bits."""
    a = make_view(rng.standard_normal((40, 45)).astype(np.float32))
    b = make_view(rng.standard_normal((100, 121)).astype(np.float32))[: a.shape[1]]
    assert_matmul_close(_native.matmul_any(a, b), a, b)
    assert_matmul_close(native_backend.matmul(a, b), a, b)
    if refused:
        with pytest.raises(ValueError, match="must have contiguous rows or columns|not aligned"):
            _native.matmul(a, b)
    else:
        np.testing.assert_array_equal(_native.matmul(a, b), _native.matmul_any(a, b))


def test_adapter_hands_byte_swapped_and_integers_to_numpy():
    swapped = np.arange(12, dtype=">f4").reshape(3, 4)
    ints = np.arange(8, dtype=np.int32).reshape(4, 2)
    np.testing.assert_array_equal(native_backend.matmul(swapped, ints),
                                  swapped.astype(np.float64) @ ints)


def test_adapter_hands_float64_to_numpy(rng):
    a = rng.standard_normal((6, 4))
    b = rng.standard_normal((4, 3))
    out = native_backend.matmul(a, b)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, a @ b, rtol=1e-12)


@pytest.mark.parametrize("B,M,K,N", [(1, 1, 1, 1), (5, 7, 13, 5), (3, 65, 129, 33),
                                     (4, 16, 16, 16), (2, 200, 300, 100), (3, 0, 4, 2),
                                     (2, 3, 0, 4)])
def test_bmm_matches_float64(rng, B, M, K, N):
    a = rng.standard_normal((B, M, K)).astype(np.float32)
    b = rng.standard_normal((B, K, N)).astype(np.float32)
    got = _native.bmm(a, b)
    assert got.shape == (B, M, N)
    for i in range(B):
        assert_matmul_close(got[i], a[i], b[i])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("M,K,N,transpose_a,transpose_b", [
    (1, 1, 1, False, False), (7, 13, 5, False, False), (17, 1, 33, True, False),
    (65, 129, 257, False, True), (130, 300, 70, True, True), (4, 0, 3, False, False),
])
def test_variants_match_float64(rng, variant, M, K, N, transpose_a, transpose_b):
    a, b = _operands(rng, M, K, N, transpose_a, transpose_b)
    assert_matmul_close(_native.matmul_variant(a, b, variant), a, b)


# ---- bad input: a clear Python error, before any memory is touched ----------

@pytest.mark.parametrize("call", [_native.matmul, _native.matmul_any,
                                  lambda a, b: _native.matmul_variant(a, b, "naive")],
                         ids=["matmul", "matmul_any", "variant"])
def test_float64_is_a_type_error_naming_the_dtype(call):
    with pytest.raises(TypeError, match="float64"):
        call(np.ones((2, 3)), np.ones((3, 2), np.float32))
    with pytest.raises(TypeError, match="int32"):
        call(np.ones((2, 3), np.float32), np.ones((3, 2), np.int32))


@pytest.mark.parametrize("call", [_native.matmul, _native.matmul_any, _native.bmm,
                                  lambda a, b: _native.matmul_variant(a, b, "naive")],
                         ids=["matmul", "matmul_any", "bmm", "variant"])
def test_byte_swapped_float32_is_a_type_error(call):
    """'>f4' is 4-byte floating point too, but the kernels would read its bytes as garbage."""
    shape = (2, 3, 3) if call is _native.bmm else (3, 3)
    swapped = np.arange(np.prod(shape), dtype=">f4").reshape(shape)
    with pytest.raises(TypeError, match="native byte order"):
        call(swapped, np.ones(shape, np.float32))
    with pytest.raises(TypeError, match="native byte order"):
        call(np.ones(shape, np.float32), swapped)


@pytest.mark.parametrize("call", [_native.matmul, _native.matmul_any,
                                  lambda a, b: _native.matmul_variant(a, b, "threaded")],
                         ids=["matmul", "matmul_any", "variant"])
def test_mismatched_shapes_name_both_shapes(call):
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 6\)"):
        call(np.ones((3, 4), np.float32), np.ones((5, 6), np.float32))


def test_matmul_rejects_3d_and_1d():
    with pytest.raises(ValueError, match="2-D"):
        _native.matmul(np.ones((2, 3, 4), np.float32), np.ones((4, 5), np.float32))
    with pytest.raises(ValueError, match="2-D"):
        _native.matmul(np.ones((3, 4), np.float32), np.ones((4,), np.float32))


def test_bmm_rejects_mismatched_batches():
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(3, 4, 5\)"):
        _native.bmm(np.ones((2, 3, 4), np.float32), np.ones((3, 4, 5), np.float32))


def test_unknown_variant_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'naive'.*'threaded'"):
        _native.matmul_variant(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), "fast")


# ---- `tinytorch bench`: a wrong result must fail the command ----------------

def _tiny_case(bench, runner):
    a = np.eye(3, dtype=np.float32)
    b = np.arange(9, dtype=np.float32).reshape(3, 3)
    return bench.Case("matmul 3x3x3", 54, (a, b), b.astype(np.float64), {"native": runner})


@pytest.mark.parametrize("runner,exit_code", [(_native.matmul, 0),
                                              (lambda a, b: _native.matmul(a, b) + 1, 1)],
                         ids=["right", "wrong"])
def test_bench_exit_code_reports_wrong_results(monkeypatch, capsys, runner, exit_code):
    from tinytorch.cli import bench, main

    monkeypatch.setattr(bench, "SETTLE_SECONDS", 0.0)
    monkeypatch.setattr(bench, "describe", dict)  # skips importing torch
    monkeypatch.setattr(bench, "CASE_BUILDERS", [lambda quick: [_tiny_case(bench, runner)]])
    assert main(["bench", "--quick"]) == exit_code
    out = capsys.readouterr().out
    assert "matmul 3x3x3" in out
    assert ("WRONG" in out) == (exit_code == 1)
