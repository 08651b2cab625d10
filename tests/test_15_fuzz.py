"""Issue 15, item 4: property tests of every native kernel against the NumPy/loop spec.

Hypothesis draws shapes (0, 1, primes and sizes on both sides of the register and
cache tiles of csrc/: VL, MR, NR = 2 VL, the small-M path, KC), memory layouts
(C order, transposed, row-sliced, negative-stride and strided views, misaligned
buffers), dtypes (float32 takes the fast path; float64 and integers fall back to
NumPy; the result must match either way) and values (NaN and +-Inf must land where
NumPy puts them). Every drawn case runs through the native backend and is compared
with float64 NumPy (or the loop spec for pooling indices).

The number of examples per test comes from ``TINYTORCH_FUZZ_EXAMPLES`` (default 40,
what CI runs); a longer local run::

    TINYTORCH_FUZZ_EXAMPLES=2000 pytest -q tests/test_15_fuzz.py

``fuzz_count()`` below reports how many cases were tried in this process.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from tinytorch.backends import available_backends, load_backend

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

pytestmark = [pytest.mark.skipif("native" not in available_backends(),
                                 reason="native backend not built"),
              # NumPy warns where NaN/Inf inputs give NaN ("invalid value"): that is the point
              pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")]

EXAMPLES = int(os.environ.get("TINYTORCH_FUZZ_EXAMPLES", "40"))
settings.register_profile("tinytorch-fuzz", max_examples=EXAMPLES, deadline=None,
                          derandomize=os.environ.get("TINYTORCH_FUZZ_RANDOM") is None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
FUZZ = settings.get_profile("tinytorch-fuzz")
TRIED = {"cases": 0}

# Tile edges of both SIMD builds (AVX2: VL 8, MR 6, NR 16; AVX-512: VL 16, MR 8, NR 32),
# the AVX2 pair tile (12 x 8, used from M 24, N 64, K 128), the small-M path (M <= 4)
# and the K block (KC 512), each with its neighbours.
EDGES = sorted({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33,
                35, 36, 37, 47, 48, 49, 63, 64, 65, 97, 127, 128, 129})
KC_EDGES = [511, 512, 513]


def fuzz_count() -> int:
    return TRIED["cases"]


def native():
    return load_backend("native")


def numpy_backend():
    return load_backend("numpy")


sizes = st.sampled_from(EDGES)


@st.composite
def values(draw, shape, special: bool = True, dtype=np.float32, low=-3.0, high=3.0):
    """An array of ``shape``; sometimes with NaN/+-Inf sprinkled in, sometimes ties."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["normal", "integers", "special"] if special else
                                ["normal", "integers"]))
    if kind == "integers":  # small integers: exact sums, and ties for max-pool
        a = rng.integers(-3, 4, size=shape).astype(np.float64)
    else:
        a = rng.uniform(low, high, size=shape)
    if kind == "special" and a.size:
        count = draw(st.integers(1, max(1, min(4, a.size))))
        flat = a.reshape(-1)
        for _ in range(count):
            flat[rng.integers(0, a.size)] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return a.astype(dtype)


@st.composite
def layout(draw, a: np.ndarray) -> np.ndarray:
    """The same values as ``a`` (2-D) in a drawn memory layout."""
    how = draw(st.sampled_from(["c", "transposed", "row_slice", "negative", "step",
                                "misaligned", "fortran"]))
    if how == "transposed":
        return np.ascontiguousarray(a.T).T
    if how == "fortran":
        return np.asfortranarray(a)
    if how == "row_slice":  # rows of a wider array: leading dimension > columns
        wide = np.zeros((a.shape[0], a.shape[1] + 3), a.dtype)
        wide[:, 1:a.shape[1] + 1] = a
        return wide[:, 1:a.shape[1] + 1]
    if how == "negative":
        return np.ascontiguousarray(a[::-1])[::-1]
    if how == "step":
        wide = np.zeros((a.shape[0], 2 * a.shape[1]), a.dtype)
        wide[:, ::2] = a
        return wide[:, ::2]
    if how == "misaligned" and a.dtype.itemsize > 1:
        buffer = bytearray(a.nbytes + 1)
        out = np.ndarray(a.shape, a.dtype, buffer, offset=1)
        out[...] = a
        return out
    return np.ascontiguousarray(a)


def assert_like_numpy(got, want, tol=1e-4, scale=1.0):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), "NaN positions differ")
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want), "+Inf positions differ")
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want), "-Inf positions differ")
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=tol, atol=tol * scale)


# ---- linalg --------------------------------------------------------------------------


@FUZZ
@given(st.data(), sizes, st.one_of(sizes, st.sampled_from(KC_EDGES)), sizes,
       st.sampled_from([np.float32] * 4 + [np.float64, np.int32]))
def test_matmul_matches_numpy(data, M, K, N, dtype):
    TRIED["cases"] += 1
    if M * K * N > 2_000_000:
        K = min(K, 64)
    a = data.draw(values((M, K), dtype=np.float32)).astype(dtype) if dtype != np.int32 else \
        np.random.default_rng(M * 7 + K).integers(-3, 4, (M, K)).astype(dtype)
    b = data.draw(values((K, N), dtype=np.float32)).astype(dtype) if dtype != np.int32 else \
        np.random.default_rng(N * 5 + K).integers(-3, 4, (K, N)).astype(dtype)
    a, b = data.draw(layout(a)), data.draw(layout(b))
    got = native().matmul(a, b)
    want = np.asarray(a, np.float64) @ np.asarray(b, np.float64)
    assert got.dtype == np.result_type(a.dtype, b.dtype)
    assert_like_numpy(got, want, scale=max(1.0, np.sqrt(K)) * 9)


@FUZZ
@given(st.data(), st.sampled_from([0, 1, 2, 3, 5]), sizes, sizes, sizes)
def test_bmm_matches_numpy(data, B, M, K, N):
    TRIED["cases"] += 1
    a = data.draw(values((B, M, K)))
    b = data.draw(values((B, K, N)))
    if data.draw(st.booleans()):
        a = a.transpose(0, 2, 1).copy().transpose(0, 2, 1)  # not C-contiguous: copied
    got = native().bmm(a, b)
    want = np.asarray(a, np.float64) @ np.asarray(b, np.float64)
    assert_like_numpy(got, want, scale=max(1.0, np.sqrt(K)) * 9)


@FUZZ
@given(st.data(), st.sampled_from([0, 1, 2, 5, 7, 16, 17, 33]),
       st.sampled_from([0, 1, 3, 8, 13, 64, 65]), st.sampled_from([0, 1, 4, 9, 16, 31]),
       st.sampled_from(["naive", "reordered", "blocked", "packed_simd", "threaded"]))
def test_matmul_variants_match_numpy(data, M, K, N, variant):
    TRIED["cases"] += 1
    from tinytorch.backends.native_support import ext

    a = data.draw(layout(data.draw(values((M, K), special=False))))
    b = data.draw(layout(data.draw(values((K, N), special=False))))
    if not (a.flags.aligned and b.flags.aligned):
        with pytest.raises(ValueError, match="not aligned"):
            ext.matmul_variant(a, b, variant)
        return
    try:
        got = ext.matmul_variant(a, b, variant)
    except ValueError as error:  # the real kernel reads in place: other strides are refused
        assert variant in ("packed_simd", "threaded"), error
        assert "must have contiguous rows or columns" in str(error)
        assert not all(x.flags.c_contiguous or x.flags.f_contiguous for x in (a, b))
        return
    assert_like_numpy(got, np.asarray(a, np.float64) @ np.asarray(b, np.float64),
                      scale=max(1.0, np.sqrt(K)) * 9)


# ---- softmax ---------------------------------------------------------------------------


@FUZZ
@given(st.data(), st.lists(st.sampled_from([0, 1, 2, 3, 7, 8, 9, 16, 17, 33, 100]),
                           min_size=1, max_size=3),
       st.sampled_from(["softmax", "log_softmax"]), st.sampled_from([np.float32] * 3 +
                                                                     [np.float64]))
def test_softmax_matches_numpy(data, shape, kernel, dtype):
    TRIED["cases"] += 1
    x = data.draw(values(tuple(shape), dtype=dtype, low=-30, high=30))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    if x.ndim == 2:
        x = data.draw(layout(x))
    elif data.draw(st.booleans()):
        x = x[::-1]
    got = getattr(native(), kernel)(x, axis)
    want = getattr(numpy_backend(), kernel)(x.astype(np.float64), axis)
    assert got.dtype == x.dtype
    assert_like_numpy(got, want, tol=1e-5)


# ---- spatial ---------------------------------------------------------------------------


@st.composite
def conv_problem(draw):
    N, C, F = draw(st.sampled_from([0, 1, 2, 3])), draw(st.sampled_from([0, 1, 2, 3, 5])), \
        draw(st.sampled_from([1, 2, 4, 7, 17]))
    KH, KW = draw(st.sampled_from([1, 2, 3, 5])), draw(st.sampled_from([1, 2, 3]))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    H = draw(st.integers(max(1, dilation[0] * (KH - 1) + 1 - 2 * padding[0]), 13))
    W = draw(st.integers(max(1, dilation[1] * (KW - 1) + 1 - 2 * padding[1]), 13))
    return N, C, H, W, F, KH, KW, stride, padding, dilation


@FUZZ
@given(st.data(), conv_problem())
def test_conv2d_forward_and_backward_match_numpy(data, problem):
    TRIED["cases"] += 1
    N, C, H, W, F, KH, KW, stride, padding, dilation = problem
    x = data.draw(values((N, C, H, W)))  # NaN/Inf in x; weights finite (0*Inf is NaN)
    w = data.draw(values((F, C, KH, KW), special=False))
    if data.draw(st.booleans()) and x.size:
        x = x[:, :, ::-1, :]  # a negative-stride view: copied by the adapter
    ref = numpy_backend()
    y = native().conv2d(x, w, stride, padding, dilation)
    want = ref.conv2d(x.astype(np.float64), w.astype(np.float64), stride, padding, dilation)
    scale = 9 * max(1.0, np.sqrt(C * KH * KW))
    assert_like_numpy(y, want, scale=scale)
    g = data.draw(values(want.shape, special=False))
    gx = native().conv2d_backward_input(g, w, (H, W), stride, padding, dilation)
    assert_like_numpy(gx, ref.conv2d_backward_input(g.astype(np.float64), w.astype(np.float64),
                                                    (H, W), stride, padding, dilation),
                      scale=9 * max(1.0, np.sqrt(F * KH * KW)))
    xf = np.nan_to_num(np.ascontiguousarray(x), nan=0.5, posinf=2.0, neginf=-2.0)
    gw = native().conv2d_backward_weight(g, xf, (KH, KW), stride, padding, dilation)
    assert_like_numpy(gw, ref.conv2d_backward_weight(g.astype(np.float64), xf.astype(np.float64),
                                                     (KH, KW), stride, padding, dilation),
                      scale=9 * max(1.0, np.sqrt(N * want.shape[2] * want.shape[3])))


@st.composite
def weight_gradient_problem(draw):
    """Geometries the direct weight gradient (conv_wgrad.cpp) takes on the AVX2 pair tile:
    horizontal stride 1, C*KH*KW >= 24 (around multiples of 12), F >= 64 (around multiples
    of 8), OH*OW >= 128 with widths around the 8-wide transposes."""
    KH, KW = draw(st.sampled_from([1, 2, 3, 5])), draw(st.sampled_from([1, 2, 3]))
    C = draw(st.sampled_from([c for c in (3, 4, 5, 8, 12, 13, 23, 24, 25) if c * KH * KW >= 24]))
    F = draw(st.sampled_from([64, 65, 71, 72, 80, 97]))
    sh, dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    OW = draw(st.sampled_from([5, 7, 8, 9, 15, 16, 17, 33]))
    OH = -(-128 // OW) + draw(st.integers(0, 3))
    W = OW - 2 * pw + dw * (KW - 1)
    H = (OH - 1) * sh + dh * (KH - 1) + 1 - 2 * ph
    if W < 1 or H < 1:  # too much padding for so small an image: drop it
        W, H, pw, ph = OW + dw * (KW - 1), (OH - 1) * sh + dh * (KH - 1) + 1, 0, 0
    return draw(st.sampled_from([1, 2])), C, H, W, F, KH, KW, (sh, 1), (ph, pw), (dh, dw)


@FUZZ
@given(st.data(), weight_gradient_problem())
def test_direct_weight_gradient_matches_numpy(data, problem):
    TRIED["cases"] += 1
    N, C, H, W, F, KH, KW, stride, padding, dilation = problem
    x = data.draw(values((N, C, H, W), special=False))
    ref = numpy_backend()
    out = ref.conv2d(x[:1].astype(np.float64), np.zeros((F, C, KH, KW)), stride, padding,
                     dilation).shape
    g = data.draw(values((N, F, *out[2:]), special=False))
    want = ref.conv2d_backward_weight(g.astype(np.float64), x.astype(np.float64), (KH, KW),
                                      stride, padding, dilation)
    from tinytorch import _native
    # AVX2 builds: on the pair tile or the 6 x 16 one; elsewhere the MR x NR tile
    pairs = data.draw(st.booleans()) and _native.set_gemm_pair_tile(True)
    _native.set_gemm_pair_tile(pairs)
    try:
        gw = _native.conv2d_backward_weight(g, x, (KH, KW), stride, padding, dilation, "direct")
    finally:
        _native.set_gemm_pair_tile(True)
    assert_like_numpy(gw, want, scale=9 * max(1.0, np.sqrt(N * out[2] * out[3])))


@st.composite
def winograd_problem(draw):
    """Geometries of the Winograd F(2x2, 3x3) convolution (conv_winograd.cpp): 3x3, unit
    stride and dilation; channels and filters around the tile edges (MR 6/8), output sizes
    odd and even, around the vector widths (8/16 blocks = 16/32 pixels) and the NR-block
    slivers (16/32 blocks)."""
    C = draw(st.sampled_from([1, 2, 5, 8, 15, 16, 17, 33]))
    F = draw(st.sampled_from([1, 5, 6, 7, 8, 9, 16, 17, 25]))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    H = draw(st.integers(max(1, 3 - 2 * padding[0]), 12))
    W = draw(st.sampled_from([w for w in (1, 2, 3, 4, 5, 15, 16, 17, 18, 31, 32, 33, 34, 63, 65)
                              if w + 2 * padding[1] >= 3]))
    return draw(st.sampled_from([0, 1, 2, 3])), C, H, W, F, padding


@FUZZ
@given(st.data(), winograd_problem())
def test_winograd_convolution_matches_numpy(data, problem):
    """Forward and input gradient on the Winograd path, NaN/Inf included: an image with a
    value that is not finite is computed by the direct convolution, so NaN and Inf land
    where NumPy puts them."""
    TRIED["cases"] += 1
    N, C, H, W, F, padding = problem
    x = data.draw(values((N, C, H, W)))
    w = data.draw(values((F, C, 3, 3), special=False))
    ref = numpy_backend()
    from tinytorch import _native
    y = _native.conv2d(x, w, (1, 1), padding, (1, 1), "winograd")
    want = ref.conv2d(x.astype(np.float64), w.astype(np.float64), (1, 1), padding, (1, 1))
    assert_like_numpy(y, want, scale=9 * max(1.0, np.sqrt(9 * C)))
    g = data.draw(values(want.shape))  # the input gradient: a stride-1 convolution too
    gx = _native.conv2d_backward_input(g, w, (H, W), (1, 1), padding, (1, 1), "winograd")
    assert_like_numpy(gx, ref.conv2d_backward_input(
        g.astype(np.float64), w.astype(np.float64), (H, W), (1, 1), padding, (1, 1)),
        scale=9 * max(1.0, np.sqrt(9 * F)))


@st.composite
def pool_problem(draw):
    KH, KW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    padding = (draw(st.integers(0, KH // 2)), draw(st.integers(0, KW // 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    H = draw(st.integers(max(1, KH - 2 * padding[0]), 11))
    W = draw(st.integers(max(1, KW - 2 * padding[1]), 11))
    N, C = draw(st.sampled_from([0, 1, 2])), draw(st.sampled_from([1, 2, 3]))
    return N, C, H, W, (KH, KW), stride, padding


@FUZZ
@given(st.data(), pool_problem())
def test_pooling_matches_the_loop_spec(data, problem):
    TRIED["cases"] += 1
    N, C, H, W, kernel, stride, padding = problem
    x = data.draw(values((N, C, H, W)))
    loop = load_backend("loop")
    y, indices = native().max_pool2d(x, kernel, stride, padding)
    want_y, want_indices = loop.max_pool2d(x.astype(np.float64), kernel, stride, padding)
    assert_like_numpy(y, want_y, tol=0)
    np.testing.assert_array_equal(indices, want_indices)  # ties first, NaNs last, as PyTorch
    np.testing.assert_array_equal(numpy_backend().max_pool2d(x, kernel, stride, padding)[1],
                                  want_indices)
    g = data.draw(values(y.shape, special=False))
    assert_like_numpy(native().max_pool2d_backward(g, indices, (H, W)),
                      loop.max_pool2d_backward(g.astype(np.float64), indices, (H, W)))
    avg = native().avg_pool2d(x, kernel, stride, padding)
    assert_like_numpy(avg, numpy_backend().avg_pool2d(x.astype(np.float64), kernel, stride,
                                                      padding))
    assert_like_numpy(native().avg_pool2d_backward(g, (H, W), kernel, stride, padding),
                      numpy_backend().avg_pool2d_backward(g.astype(np.float64), (H, W), kernel,
                                                          stride, padding))


# ---- norm, activation, attention --------------------------------------------------------


@FUZZ
@given(st.data(), st.sampled_from([0, 1, 2, 5, 33]), st.sampled_from(EDGES[1:] + [1023, 1025]),
       st.booleans())
def test_layer_norm_matches_numpy(data, M, D, affine):
    TRIED["cases"] += 1
    x = data.draw(values((M, D), low=-10, high=10))
    weight = data.draw(values((D,), special=False)) if affine else None
    bias = data.draw(values((D,), special=False)) if affine else None
    ref = numpy_backend()
    y, mean, rstd = native().layer_norm(x, weight, bias, 1e-5)
    as64 = (lambda a: None if a is None else a.astype(np.float64))
    want = ref.layer_norm(as64(x), as64(weight), as64(bias), 1e-5)
    assert_like_numpy(y, want[0], tol=2e-4, scale=10)
    # the saved statistics of a row holding Inf are NaN, as PyTorch's native_layer_norm
    # gives (NumPy's mean would say Inf): compared on the finite rows only
    finite = np.isfinite(x).all(axis=1)
    for got, expected in zip((mean, rstd), want[1:], strict=True):
        assert_like_numpy(got[finite], expected[finite], tol=2e-4, scale=10)
    xf, g = x[finite], data.draw(values((int(finite.sum()), D), special=False))
    y, mean, rstd = native().layer_norm(xf, weight, bias, 1e-5)
    got = native().layer_norm_backward(g, xf, weight, mean, rstd)
    want = ref.layer_norm_backward(g.astype(np.float64), xf.astype(np.float64), as64(weight),
                                   mean.astype(np.float64), rstd.astype(np.float64))
    for a, b in zip(got, want, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert_like_numpy(a, b, tol=2e-3, scale=10 * max(1.0, np.sqrt(max(M, 1))))


@FUZZ
@given(st.data(), st.lists(st.sampled_from([0, 1, 3, 7, 8, 9, 16, 17, 1000]), min_size=1,
                           max_size=2), st.sampled_from(["none", "tanh"]))
def test_gelu_matches_numpy(data, shape, approximate):
    TRIED["cases"] += 1
    x = data.draw(values(tuple(shape), low=-12, high=12))
    ref = numpy_backend()
    assert_like_numpy(native().gelu(x, approximate),
                      ref.gelu(x.astype(np.float64), approximate), tol=1e-5)
    g = data.draw(values(tuple(shape), special=False))
    assert_like_numpy(native().gelu_backward(g, x, approximate),
                      ref.gelu_backward(g.astype(np.float64), x.astype(np.float64), approximate),
                      tol=1e-4)


@FUZZ
@given(st.data(), st.sampled_from([1, 2]), st.sampled_from([1, 2, 3]),
       st.sampled_from([1, 2, 7, 16, 17, 33, 64, 65]), st.sampled_from([1, 5, 16, 17, 64, 65]),
       st.sampled_from([1, 4, 8, 9, 16, 32, 33]), st.booleans(), st.booleans())
def test_attention_matches_numpy(data, B, H, Tq, Tk, d, causal, masked):
    TRIED["cases"] += 1
    if causal:
        Tk = max(Tk, Tq)
    q = data.draw(values((B, H, Tq, d), special=False))
    k = data.draw(values((B, H, Tk, d), special=False))
    v = data.draw(values((B, H, Tk, d), special=False))
    mask = None
    if masked:
        keep = np.random.default_rng(Tq * Tk + d).random((B, H, Tq, Tk)) < 0.8
        mask = np.where(keep, 0.0, -np.inf).astype(np.float32)
    scale = 1 / np.sqrt(d)
    ref = numpy_backend()
    as64 = (lambda a: None if a is None else a.astype(np.float64))
    out, lse = native().attention(q, k, v, mask, scale, causal)
    want_out, want_lse = ref.attention(as64(q), as64(k), as64(v), as64(mask), scale, causal)
    assert_like_numpy(out, want_out, tol=2e-4)
    assert_like_numpy(lse, want_lse, tol=2e-4)
    g = data.draw(values(out.shape, special=False))
    got = native().attention_backward(g, q, k, v, out, lse, mask, scale, causal)
    want = ref.attention_backward(as64(g), as64(q), as64(k), as64(v), want_out, want_lse,
                                  as64(mask), scale, causal)
    for a, b in zip(got, want, strict=True):
        assert_like_numpy(a, b, tol=2e-3, scale=max(1.0, np.sqrt(Tk)))
    length = data.draw(st.integers(1, Tk))
    assert_like_numpy(native().decode_attention(q[:, :, 0], k, v, length, scale),
                      ref.decode_attention(as64(q[:, :, 0]), as64(k), as64(v), length, scale),
                      tol=2e-4)


def test_fuzz_cases_were_tried():
    """Runs last in this file: every property above drew its examples."""
    if TRIED["cases"] == 0:
        pytest.skip("run the whole file to count the fuzz cases")
    print(f"\nfuzz: {TRIED['cases']} cases tried ({EXAMPLES} examples per property)")
    assert TRIED["cases"] >= EXAMPLES
