"""Module 15: the Winograd F(2x2, 3x3) convolution (csrc/conv_winograd.cpp).

The forward of a 3x3, stride-1 convolution and its input gradient (itself such a
convolution) run as 16 small matrix products of transformed weights and inputs.
Checked here against a float64 reference: geometries at every edge of the blocking
(odd sizes, padding, filter tiles, block slivers, bands, channel blocks), one and
two threads, what "auto" picks, non-finite and huge values (which must come out as
NumPy's), the refusals and empty shapes.
"""
import re

import numpy as np
import pytest

from tinytorch.backends import available_backends, load_backend

pytestmark = pytest.mark.skipif("native" not in available_backends(),
                                reason="native backend not built")


@pytest.fixture(scope="module")
def native():
    from tinytorch import _native

    return _native


@pytest.fixture
def threads(native):
    before = native.get_num_threads()
    yield native.set_num_threads
    native.set_num_threads(before)


def _ref():
    return load_backend("numpy")


def _case(N, C, H, W, F, padding, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = rng.standard_normal((F, C, 3, 3)).astype(np.float32)
    return x, w


def _close(got, want):
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * max(np.abs(want).max(), 1e-30))


GEOMETRIES = [
    # N, C, H, W, F, padding
    (2, 16, 8, 8, 16, (1, 1)),
    (1, 17, 7, 9, 19, (1, 1)),  # odd sizes: last block row and column half outside
    (3, 20, 5, 6, 33, (0, 0)),
    (2, 16, 1, 1, 16, (1, 1)),  # one pixel
    (1, 16, 3, 3, 16, (2, 2)),  # padding 2: the input gradient's convolution has none
    (1, 9, 4, 21, 7, (0, 2)),  # F below one filter tile
    (2, 64, 32, 32, 64, (1, 1)),  # the layer
    (1, 40, 13, 30, 70, (1, 1)),
    (1, 64, 64, 20, 24, (1, 1)),  # several bands; rows of 10 blocks cross the slivers
    (1, 600, 6, 6, 12, (1, 1)),  # more channels than one K block: accumulated products
    (1, 5, 2, 40, 8, (1, 0)),
]


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_winograd_forward_and_input_gradient_match_float64(native, threads, geometry, n_threads):
    threads(n_threads)
    N, C, H, W, F, padding = geometry
    x, w = _case(N, C, H, W, F, padding)
    ref = _ref()
    want = ref.conv2d(x.astype(np.float64), w.astype(np.float64), (1, 1), padding, (1, 1))
    _close(native.conv2d(x, w, (1, 1), padding, (1, 1), "winograd"), want)
    g = np.random.default_rng(1).standard_normal(want.shape).astype(np.float32)
    want_gx = ref.conv2d_backward_input(g.astype(np.float64), w.astype(np.float64), (H, W),
                                        (1, 1), padding, (1, 1))
    _close(native.conv2d_backward_input(g, w, (H, W), (1, 1), padding, (1, 1), "winograd"),
           want_gx)


def test_winograd_is_no_less_accurate_than_the_direct_convolution(native):
    # The transforms add and subtract inputs; the error stays at the direct sum's level.
    x, w = _case(4, 64, 32, 32, 64, (1, 1), seed=3)
    want = _ref().conv2d(x.astype(np.float64), w.astype(np.float64), (1, 1), (1, 1), (1, 1))
    errors = {a: np.abs(native.conv2d(x, w, (1, 1), (1, 1), (1, 1), a) - want).max()
              for a in ("winograd", "direct")}
    assert errors["winograd"] <= 2 * errors["direct"], errors


def _picks(native, x, w, algorithm):
    return np.array_equal(native.conv2d(x, w, (1, 1), (1, 1), (1, 1)),
                          native.conv2d(x, w, (1, 1), (1, 1), (1, 1), algorithm))


def test_auto_picks_winograd_where_it_pays(native):
    x, w = _case(2, 64, 16, 16, 64, (1, 1))  # 64 blocks per image: whole slivers of 16 or 32
    assert _picks(native, x, w, "winograd")
    g = np.ones((2, 64, 16, 16), np.float32)
    assert np.array_equal(native.conv2d_backward_input(g, w, (16, 16), (1, 1), (1, 1), (1, 1)),
                          native.conv2d_backward_input(g, w, (16, 16), (1, 1), (1, 1), (1, 1),
                                                       "winograd"))
    # below the thresholds, the direct convolution: 16 channels, C*F = 1024, 6x6 images
    # (9 blocks: most of a sliver would be padding)
    for C, F, H in [(16, 64, 16), (32, 32, 16), (64, 64, 6)]:
        x, w = _case(2, C, H, H, F, (1, 1))
        assert _picks(native, x, w, "direct"), (C, F, H)
        assert not _picks(native, x, w, "winograd"), (C, F, H)  # the two do differ


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 3e37])
def test_an_image_with_a_special_value_is_computed_directly(native, value):
    x, w = _case(3, 16, 9, 9, 16, (1, 1))
    w = np.abs(w)  # one sign: an Inf input gives +-Inf outputs, not NaN, in the direct sum
    clean = native.conv2d(x, w, (1, 1), (1, 1), (1, 1), "winograd")
    x[1, 3, 4, 5] = value
    got = native.conv2d(x, w, (1, 1), (1, 1), (1, 1), "winograd")
    # image 1 is the direct convolution's, bit for bit; the others are untouched
    assert np.array_equal(got[1], native.conv2d(x[1:2], w, (1, 1), (1, 1), (1, 1), "direct")[0],
                          equal_nan=True)
    assert np.array_equal(got[[0, 2]], clean[[0, 2]])
    want = _ref().conv2d(x.astype(np.float64), w.astype(np.float64), (1, 1), (1, 1), (1, 1))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    if np.isfinite(value):
        assert np.isfinite(got).all()


def test_a_special_weight_sends_the_call_to_the_direct_convolution(native):
    x, w = _case(2, 16, 6, 6, 16, (1, 1))
    w[3, 2, 1, 1] = np.inf
    got = native.conv2d(x, w, (1, 1), (1, 1), (1, 1), "winograd")
    assert np.array_equal(got, native.conv2d(x, w, (1, 1), (1, 1), (1, 1), "direct"),
                          equal_nan=True)
    assert np.isinf(got[:, 3]).any() and np.isfinite(got[:, :3]).all()


def test_winograd_is_refused_where_it_does_not_apply(native):
    x = np.ones((1, 16, 9, 9), np.float32)
    w3, w5 = np.ones((16, 16, 3, 3), np.float32), np.ones((16, 16, 5, 5), np.float32)
    for weight, stride, dilation, shown in [(w3, (1, 2), (1, 1), "stride (1, 2)"),
                                            (w5, (1, 1), (1, 1), "kernel (5, 5)"),
                                            (w3, (1, 1), (2, 1), "dilation (2, 1)")]:
        with pytest.raises(ValueError, match=r"winograd algorithm needs a 3x3 kernel with stride "
                           r"1 and dilation 1, got .*" + re.escape(shown)):
            native.conv2d(x, weight, stride, (1, 1), dilation, "winograd")
    g = np.ones((1, 16, 5, 5), np.float32)
    with pytest.raises(ValueError, match=r"winograd input gradient needs stride 1 .* stride "
                       r"\(2, 2\)"):
        native.conv2d_backward_input(g, w3, (9, 9), (2, 2), (1, 1), (1, 1), "winograd")
    g = np.ones((1, 16, 13, 13), np.float32)  # padding 3 > the kernel's reach of 2
    with pytest.raises(ValueError, match=r"padding no wider than the kernel's reach"):
        native.conv2d_backward_input(g, w3, (9, 9), (1, 1), (3, 3), (1, 1), "winograd")
    with pytest.raises(ValueError, match="algorithm must be 'auto', 'im2col' or 'direct', got "
                       "'winograd'"):
        native.conv2d_backward_weight(np.ones((1, 16, 9, 9), np.float32), x, (3, 3), (1, 1),
                                      (1, 1), (1, 1), "winograd")


def test_winograd_on_empty_shapes(native):
    y = native.conv2d(np.ones((0, 16, 8, 8), np.float32), np.ones((16, 16, 3, 3), np.float32),
                      (1, 1), (1, 1), (1, 1), "winograd")
    assert y.shape == (0, 16, 8, 8)
    y = native.conv2d(np.ones((2, 0, 8, 8), np.float32), np.ones((16, 0, 3, 3), np.float32),
                      (1, 1), (1, 1), (1, 1), "winograd")
    assert y.shape == (2, 16, 8, 8) and not y.any()
    y = native.conv2d(np.ones((2, 4, 8, 8), np.float32), np.ones((0, 4, 3, 3), np.float32),
                      (1, 1), (1, 1), (1, 1), "winograd")
    assert y.shape == (2, 0, 8, 8)
