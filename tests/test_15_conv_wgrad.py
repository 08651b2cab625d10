"""Module 15: the native conv weight gradient without im2col (csrc/conv_wgrad.cpp).

For a convolution with a horizontal stride of 1, the native build computes
grad_w^T = cols @ grad_out^T with the sgemm's A slivers transposed straight out of a
zero-padded copy of each image, a sliver's rows of (channel, kh, kw) at a time; the cols
matrix is never built. It runs on the sgemm's register tile: the AVX2 12 x 8 pair tile
where it is built and switched on, else the MR x NR tile (8 x 32 with AVX-512, 6 x 16 with
AVX2). These tests compare that path ("direct", on every tile this build has), the im2col
+ sgemm path and NumPy in float64, on both one and two threads, with padding, dilation, a
vertical stride, kernels that are not square, widths that are not a multiple of 8,
channel-tap counts that are not a multiple of a sliver and filter counts that are not a
multiple of 8.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.backends import available_backends, load_backend

pytestmark = pytest.mark.skipif("native" not in available_backends(),
                                reason="native backend not built")

#: (x shape (N, C, H, W), kernel (KH, KW), filters F, stride, padding, dilation)
CASES = [
    ((4, 64, 32, 32), (3, 3), 64, (1, 1), (1, 1), (1, 1)),   # the course's CIFAR layer
    ((2, 8, 17, 19), (3, 3), 64, (1, 1), (1, 1), (1, 1)),    # K = 72, OW = 19
    ((3, 3, 33, 30), (5, 5), 70, (1, 1), (2, 2), (1, 1)),    # K = 75, F = 70
    ((2, 16, 20, 21), (3, 3), 64, (2, 1), (1, 1), (1, 1)),   # vertical stride 2
    ((2, 16, 24, 24), (3, 3), 96, (1, 1), (0, 0), (2, 2)),   # dilation, no padding
    ((1, 32, 12, 40), (3, 3), 64, (1, 1), (1, 1), (1, 1)),   # wide rows
    ((2, 64, 14, 14), (3, 3), 128, (1, 1), (1, 1), (1, 1)),  # 14 x 14: rows of 14 pixels
    ((2, 8, 30, 7), (3, 1), 64, (1, 1), (1, 0), (1, 1)),     # 3 x 1 kernel, OW = 7
    ((1, 27, 16, 16), (1, 1), 64, (1, 1), (0, 0), (1, 1)),   # 1 x 1, K = 27
    ((2, 5, 9, 300), (1, 5), 64, (1, 1), (0, 2), (1, 3)),    # 1 x 5, 292-pixel rows: > a KC of 256
]


def _case(x_shape, kernel, filters, stride, padding, dilation, seed=0):
    rng = np.random.default_rng(seed + sum(x_shape) + filters)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = np.zeros((filters, x_shape[1], *kernel), np.float32)
    out_shape = load_backend("numpy").conv2d(x[:1], w, stride, padding, dilation).shape
    g = rng.standard_normal((x_shape[0], filters, *out_shape[2:])).astype(np.float32)
    ref = load_backend("numpy").conv2d_backward_weight(
        g.astype(np.float64), x.astype(np.float64), kernel, stride, padding, dilation)
    return x, g, ref


def _tiles(native):
    """The register tiles of the build: pair tile on and off on AVX2, the MR x NR one elsewhere."""
    return [True, False] if native.set_gemm_pair_tile(True) else [False]


@pytest.fixture
def native():
    from tinytorch import _native
    before = _native.get_num_threads()
    yield _native
    _native.set_num_threads(before)
    _native.set_gemm_pair_tile(True)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("x_shape,kernel,filters,stride,padding,dilation", CASES)
def test_weight_gradient_paths_agree_with_float64(x_shape, kernel, filters, stride, padding,
                                                  dilation, threads, native):
    native.set_num_threads(threads)
    x, g, ref = _case(x_shape, kernel, filters, stride, padding, dilation)
    if g.shape[3] > native.gemm_blocking()["kc"]:  # rows wider than KC: no direct path
        with pytest.raises(ValueError, match=r"output rows of at most KC pixels.*x292"):
            native.conv2d_backward_weight(g, x, kernel, stride, padding, dilation, "direct")
        algorithms = ["auto", "im2col"]
    else:
        algorithms = ["auto", "im2col", "direct"]
    for pairs in _tiles(native):
        native.set_gemm_pair_tile(pairs)
        for algorithm in algorithms:
            gw = native.conv2d_backward_weight(g, x, kernel, stride, padding, dilation,
                                               algorithm)
            assert gw.shape == ref.shape and gw.dtype == np.float32
            np.testing.assert_allclose(gw, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max(),
                                       err_msg=f"{algorithm}, pair tile {pairs}")


@pytest.mark.parametrize("threads", [1, 2])
def test_direct_weight_gradient_with_small_blocks(threads, native):
    """KC 128, MC 24, NC 64: six A blocks of (c, kh, kw) rows and two filter panels (64 + 33)."""
    native.set_num_threads(threads)
    native.set_gemm_blocking(128, 24, 64)
    try:
        x, g, ref = _case((2, 16, 20, 16), (3, 3), 97, (1, 1), (1, 1), (1, 1))
        for pairs in _tiles(native):
            native.set_gemm_pair_tile(pairs)
            for algorithm in ["im2col", "direct"]:
                gw = native.conv2d_backward_weight(g, x, (3, 3), (1, 1), (1, 1), (1, 1),
                                                   algorithm)
                np.testing.assert_allclose(gw, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max(),
                                           err_msg=f"{algorithm}, pair tile {pairs}")
    finally:
        native.set_gemm_blocking()


def test_weight_gradient_propagates_nan_and_inf(native):
    """Every algorithm and tile puts NaN and Inf where NumPy's float64 weight gradient does."""
    x, g, _ = _case((2, 16, 16, 16), (3, 3), 64, (1, 1), (1, 1), (1, 1))
    x[1, 3, 7, 9] = np.nan
    g[0, 5, 2, 2] = np.inf
    want = load_backend("numpy").conv2d_backward_weight(
        g.astype(np.float64), x.astype(np.float64), (3, 3), (1, 1), (1, 1), (1, 1))
    assert np.isnan(want).any() and np.isinf(want).any()
    for pairs in _tiles(native):
        native.set_gemm_pair_tile(pairs)
        for algorithm in ["auto", "im2col", "direct"]:
            got = native.conv2d_backward_weight(g, x, (3, 3), (1, 1), (1, 1), (1, 1), algorithm)
            assert np.array_equal(np.isnan(got), np.isnan(want)), (algorithm, pairs)
            assert np.array_equal(np.isinf(got), np.isinf(want)), (algorithm, pairs)


def test_direct_weight_gradient_is_refused_where_it_does_not_apply(native):
    x = np.ones((2, 4, 8, 8), np.float32)  # K = 36 taps, but only 8 filters
    g = np.ones((2, 8, 8, 8), np.float32)
    with pytest.raises(ValueError, match="algorithm must be 'auto', 'im2col' or 'direct'"):
        native.conv2d_backward_weight(g, x, (3, 3), (1, 1), (1, 1), (1, 1), "winograd")
    with pytest.raises(ValueError, match="direct weight gradient needs .* 8 filters"):
        native.conv2d_backward_weight(g, x, (3, 3), (1, 1), (1, 1), (1, 1), "direct")
    x, g, ref = _case((2, 16, 20, 21), (3, 3), 64, (1, 2), (1, 1), (1, 1))
    with pytest.raises(ValueError, match=r"horizontal stride of 1.*got stride \(1, 2\)"):
        native.conv2d_backward_weight(g, x, (3, 3), (1, 2), (1, 1), (1, 1), "direct")
    # "auto" takes im2col there, on every tile
    for pairs in _tiles(native):
        native.set_gemm_pair_tile(pairs)
        np.testing.assert_allclose(
            native.conv2d_backward_weight(g, x, (3, 3), (1, 2), (1, 1), (1, 1)), ref,
            rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_weight_gradient_of_an_empty_batch_is_zero(native):
    x = np.ones((0, 16, 16, 16), np.float32)
    g = np.ones((0, 64, 16, 16), np.float32)
    gw = native.conv2d_backward_weight(g, x, (3, 3), (1, 1), (1, 1), (1, 1))
    assert gw.shape == (64, 16, 3, 3) and not gw.any()
