"""Module 17: the int8 GEMM on every instruction-set path, and the quantized layers."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tests.conftest import NOT_APPLICABLE, backend_params, conformance_params
from tinytorch import nn, quant
from tinytorch.backends import available_backends
from tinytorch.backends.conformance import check_case

NATIVE = "native" in available_backends()
PATHS = ["scalar", "avx2", "avx2_u8s8", "avx_vnni", "avx512_vnni"]


@pytest.fixture
def native_path(request):
    if not NATIVE:
        pytest.skip("native backend not built")
    from tinytorch.backends.quant import native

    if not native.set_qgemm_path(request.param):
        pytest.skip(f"{NOT_APPLICABLE} path {request.param} cannot run on this CPU "
                    "(compiled, not executed)")
    yield request.param
    native.set_qgemm_path("auto")


@pytest.mark.parametrize("native_path", PATHS, indirect=True)
def test_int8_gemm_is_exact_on_every_path(native_path, rng):
    from tinytorch.backends.quant import native

    shapes = [(1, 1, 1), (1, 1024, 1000), (1, 64, 37), (5, 7, 3), (6, 16, 4), (7, 33, 31),
              (13, 100, 33), (64, 64, 1025), (300, 70, 513), (256, 96, 2000)]
    for M, N, K in shapes:
        for signed in (False, True):
            a = (rng.integers(-128, 128, (M, K)).astype(np.int8) if signed
                 else rng.integers(0, 256, (M, K)).astype(np.uint8))
            w = rng.integers(-128, 128, (N, K)).astype(np.int8)
            a[: max(1, M // 2)] = -128 if signed else 255  # extreme rows: saturate vpmaddubsw
            w[: max(1, N // 2)] = -128
            want = a.astype(np.int64) @ w.astype(np.int64).T
            got = native.int8_gemm(a, w)
            assert got.dtype == np.int32
            np.testing.assert_array_equal(got, want, err_msg=f"{native_path} {M}x{N}x{K}")


@pytest.mark.parametrize("native_path", PATHS, indirect=True)
def test_int8_gemm_is_exact_with_7_bit_activations(native_path, rng):
    """Unsigned A <= 127 takes the u8 x s8 vpmaddubsw kernel on AVX2: at the extremes
    (127 x -128, twice) its int16 pair sums reach -32,512, one step inside int16."""
    from tinytorch.backends.quant import native

    shapes = [(5, 16, 4), (6, 16, 4), (7, 17, 5), (13, 100, 33), (64, 64, 1025),
              (300, 70, 513), (256, 96, 2000), (37, 45, 1100)]
    for M, N, K in shapes:
        a = rng.integers(0, 128, (M, K)).astype(np.uint8)
        w = rng.integers(-128, 128, (N, K)).astype(np.int8)
        a[: max(1, M // 2)] = 127
        w[: max(1, N // 3)] = -128
        w[N // 3: max(N // 3 + 1, 2 * N // 3)] = 127
        want = a.astype(np.int64) @ w.astype(np.int64).T
        np.testing.assert_array_equal(native.int8_gemm(a, w), want,
                                      err_msg=f"{native_path} {M}x{N}x{K}")
        a[-1, -1] = 128  # one byte over 7 bits: the int16 path, still exact
        want = a.astype(np.int64) @ w.astype(np.int64).T
        np.testing.assert_array_equal(native.int8_gemm(a, w), want,
                                      err_msg=f"{native_path} {M}x{N}x{K} with a 128")


@pytest.mark.parametrize("native_path", PATHS, indirect=True)
def test_fused_epilogue_matches_numpy_on_every_path(native_path, rng):
    from tinytorch.backends.quant import native, numpy_backend

    M, N, K = 37, 45, 1100  # K spans several KC blocks: partial sums, then the epilogue
    a = rng.integers(0, 256, (M, K)).astype(np.uint8)
    w = rng.integers(-128, 128, (N, K)).astype(np.int8)
    args = (a, rng.uniform(1e-3, 1e-2, M).astype(np.float32),
            rng.integers(0, 256, M).astype(np.int32), w,
            rng.uniform(1e-3, 1e-2, N).astype(np.float32), w.astype(np.int32).sum(1),
            rng.standard_normal(N).astype(np.float32))
    for relu, out, scale, zp in [(False, "float32", 1.0, 0), (True, "float32", 1.0, 0),
                                 (False, "int8", 0.5, 3), (True, "uint8", 0.25, 10)]:
        got = native.int8_linear(*args, relu, out, scale, zp)
        want = numpy_backend.int8_linear(*args, relu, out, scale, zp)
        if out == "float32":
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5)
        else:
            assert got.dtype == np.dtype(out)
            np.testing.assert_array_equal(got, want)


@pytest.mark.skipif(not NATIVE, reason="native backend not built")
def test_native_dynamic_quantization_equals_observer_plus_quantize(rng):
    from tinytorch.backends.quant import native

    x = (rng.standard_normal((9, 203)) * 4).astype(np.float32)
    x[2] = np.abs(x[2])
    q, scale, zp = native.quantize_rows(x, True, "uint8", False)
    for r in range(x.shape[0]):
        obs = quant.MinMaxObserver()
        obs(x[r])
        s, z = obs.calculate_qparams()
        assert scale[r] == s and zp[r] == z
        ref = quant.quantize_per_tensor(x[r], float(s), int(z), "quint8").int_repr()
        np.testing.assert_array_equal(q[r], ref)


@pytest.mark.skipif(not NATIVE, reason="native backend not built")
def test_bad_arguments_are_clear_errors():
    from tinytorch.backends.quant import native

    a = np.zeros((2, 3), np.uint8)
    with pytest.raises(TypeError, match="int8"):
        native.int8_gemm(a, np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="last dimensions"):
        native.int8_gemm(a, np.zeros((2, 4), np.int8))
    with pytest.raises(TypeError, match="uint8 or int8"):
        native.int8_gemm(a.astype(np.int32), np.zeros((2, 3), np.int8))
    with pytest.raises(ValueError, match="too deep"):
        native.int8_gemm(np.zeros((1, 70000), np.uint8), np.zeros((1, 70000), np.int8))


def _mlp():
    tinytorch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


@pytest.mark.parametrize("backend", ["numpy", "native"])
def test_quantize_dynamic_tracks_the_float_model(backend, rng):
    if backend not in available_backends():
        pytest.skip("native backend not built")
    model = _mlp()
    x = tinytorch.tensor(rng.standard_normal((32, 64)).astype(np.float32))
    with tinytorch.use_backend(backend), tinytorch.no_grad():
        q = quant.quantize_dynamic(model, {nn.Linear})
        assert isinstance(q[0], quant.QuantizedLinear) and isinstance(model[0], nn.Linear)
        y, yq = model(x).data, q(x).data
    assert quant.sqnr_db(y, yq) > 30
    # weights 4x smaller; each output channel adds a float32 bias, a scale and a colsum
    # (12 bytes), which for 64 inputs costs (64 * 4 + 4) / (64 + 12) = 3.4x overall
    assert model[0].weight.data.nbytes == 4 * q[0].weight_int8.data.nbytes
    assert quant.model_size_bytes(model) / quant.model_size_bytes(q) > 3.4


def test_quantized_linear_is_close_to_torch_dynamic_linear(torch, rng):
    lin = nn.Linear(256, 64)
    x = rng.standard_normal((16, 256)).astype(np.float32)
    ours = quant.QuantizedLinear.from_float(lin)(tinytorch.tensor(x)).data
    tl = torch.nn.Linear(256, 64)
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(lin.weight.data))
        tl.bias.copy_(torch.from_numpy(lin.bias.data))
        tq = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(tl), {torch.nn.Linear})
        ref = tq(torch.from_numpy(x)).numpy()
        exact = tl(torch.from_numpy(x)).numpy()
    # both approximate the float layer; ours keeps 8 activation bits (PyTorch: 7)
    assert quant.sqnr_db(exact, ours) >= quant.sqnr_db(exact, ref) - 1.0
    assert quant.sqnr_db(ours, ref) > 30


def test_quantized_model_saves_and_loads(tmp_path, rng):
    model = _mlp()
    q = quant.quantize_dynamic(model)
    path = tmp_path / "q.npz"
    quant.save_quantized(q, path)
    back = quant.load_quantized(_mlp(), path)
    assert back[0].weight_int8.dtype == np.int8
    x = tinytorch.tensor(rng.standard_normal((4, 64)).astype(np.float32))
    np.testing.assert_array_equal(back(x).data, q(x).data)
    with pytest.raises(ValueError, match="not a quantized TinyTorch checkpoint"):
        tinytorch.serialization.save({"model": model.state_dict()}, tmp_path / "f.npz")
        quant.load_quantized(_mlp(), tmp_path / "f.npz")


def test_static_quantization_of_a_cnn(rng):
    tinytorch.manual_seed(1)
    cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, stride=2),
                        nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    calib = [rng.standard_normal((8, 1, 14, 14)).astype(np.float32) for _ in range(4)]
    prepared = quant.prepare(cnn)
    with tinytorch.no_grad():
        for b in calib:
            prepared(tinytorch.tensor(b))
    q = quant.convert(prepared)
    assert isinstance(q[0], quant.QuantizedConv2d) and isinstance(q[5], quant.QuantizedLinear)
    x = tinytorch.tensor(rng.standard_normal((5, 1, 14, 14)).astype(np.float32))
    with tinytorch.no_grad():
        assert quant.sqnr_db(cnn(x).data, q(x).data) > 25
        report = quant.layer_sqnr(cnn, q, x)
    assert set(report) == {"0", "2", "5"} and min(report.values()) > 25


@pytest.mark.parametrize("backend_name", backend_params())
@pytest.mark.parametrize("kernel,case", conformance_params(17))
def test_int8_kernels_agree_with_the_loop_spec(backend_name, kernel, case):
    """The conformance cases of this module's kernels on every backend (as Module 15 does
    for the earlier ones)."""
    check_case(backend_name, kernel, case)


@pytest.mark.skipif(not NATIVE, reason="native backend not built")
@pytest.mark.parametrize("per_row", [True, False], ids=["per_row", "per_tensor"])
def test_fused_decoding_runs_int8_layers_as_quantized_linear_does(per_row):
    """kv_cache.FusedDecoder (Module 16) on a dynamic int8 GPT: the same logits as the
    QuantizedLinear path, the same tokens as uncached int8 generation."""
    from tinytorch.kv_cache import FusedDecoder, KVCache
    from tinytorch.models import GPT

    tinytorch.manual_seed(0)
    model = quant.quantize_dynamic(GPT(31, 24, 2, 2, 32).eval(), {nn.Linear, nn.Embedding},
                                   per_row=per_row)
    assert isinstance(model.blocks[0].mlp.fc, quant.QuantizedLinear)
    assert isinstance(model.token_embedding, quant.QuantizedEmbedding)
    ids = np.random.default_rng(1).integers(0, 31, (2, 20))
    with tinytorch.use_backend("native"), tinytorch.no_grad():
        ref, fused = KVCache.for_model(model, 2), KVCache.for_model(model, 2)
        model(tinytorch.Tensor(ids[:, :6]), cache=ref)
        model(tinytorch.Tensor(ids[:, :6]), cache=fused)
        decoder = FusedDecoder(model, fused)
        for t in range(6, 20):
            want = model(tinytorch.Tensor(ids[:, t:t + 1]), cache=ref)[0].numpy()[:, -1]
            np.testing.assert_array_equal(decoder(ids[:, t]).numpy(), want)
        tinytorch.manual_seed(5)
        uncached = model.generate(ids[:1, :4], 30).numpy()
        tinytorch.manual_seed(5)
        got = model.generate(ids[:1, :4], 30, use_cache=True, fused=True).numpy()
    np.testing.assert_array_equal(got, uncached)


@pytest.mark.skipif(not NATIVE, reason="native backend not built")
def test_fused_decoding_refuses_a_static_int8_layer():
    from tinytorch.kv_cache import FusedDecoder, KVCache
    from tinytorch.models import GPT

    tinytorch.manual_seed(0)
    model = GPT(31, 24, 1, 2, 32).eval()
    model.blocks[0].attn.proj = quant.QuantizedLinear.from_float(
        model.blocks[0].attn.proj, dynamic=False, act_qparams=(0.1, 128))
    with tinytorch.use_backend("native"), pytest.raises(ValueError, match=r"blocks\[0\]"
                                                         r".attn.proj is a static"):
        FusedDecoder(model, KVCache.for_model(model, 1))


# ---- int8 embeddings ---------------------------------------------------------------------
def test_quantized_embedding_returns_its_dequantized_rows(rng):
    emb = nn.Embedding(50, 12)
    q = quant.QuantizedEmbedding.from_float(emb)
    codes, scale = quant.quantize_weight(emb.weight.data)
    np.testing.assert_array_equal(q.weight_int8.data, codes)
    table = q.dequantized_weight()
    assert table.dtype == np.float32
    # symmetric per row: every value within half a step of its float
    # (the largest value of a row sits at 127.5 steps and clamps to 127: exactly half a step)
    assert np.all(np.abs(table - emb.weight.data) <= q.weight_scale.data[:, None] * 0.50001)
    ids = rng.integers(0, 50, (3, 7))
    out = q(tinytorch.Tensor(ids)).numpy()
    assert out.shape == (3, 7, 12)
    np.testing.assert_array_equal(out, table[ids])
    with pytest.raises(IndexError, match="index 50 is out of range for a table of 50"):
        q(np.array([0, 50]))
    with pytest.raises(TypeError, match="integer"):
        q(np.array([0.5]))
    with pytest.raises(TypeError, match="expects an nn.Embedding"):
        quant.QuantizedEmbedding.from_float(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="supports nn.Linear and nn.Embedding"):
        quant.quantize_dynamic(emb, {nn.Conv2d})


def test_a_tied_embedding_and_lm_head_share_one_int8_table(tmp_path):
    from tinytorch.models import GPT, load_model, save_model

    tinytorch.manual_seed(0)
    model = GPT(31, 16, 1, 2, 32).eval()
    q = quant.quantize_dynamic(model, {nn.Linear, nn.Embedding})
    assert q.lm_head.weight_int8 is q.token_embedding.weight_int8
    assert q.lm_head.weight_scale is q.token_embedding.weight_scale
    assert not isinstance(q.position_embedding, nn.Embedding)
    linear_only = quant.quantize_dynamic(model, {nn.Linear})
    table = 31 * 32 + 31 * 4  # int8 codes + float32 scales of the shared table, once
    fp32_tables = (31 + 16) * 32 * 4
    assert quant.model_size_bytes(q) == (quant.model_size_bytes(linear_only) - fp32_tables
                                         + 16 * 32 + 16 * 4 + table - 31 * 32 - 31 * 4)
    ids = np.random.default_rng(0).integers(0, 31, (2, 16))
    with tinytorch.no_grad():
        want = q(tinytorch.Tensor(ids))[0].numpy()
        ref = model(tinytorch.Tensor(ids))[0].numpy()
    assert np.abs(want - ref).max() < 0.05 * np.abs(ref).max()
    for save, load in ((lambda m, p: quant.save_quantized(m, p),
                        lambda p: quant.load_quantized(GPT(31, 16, 1, 2, 32), p)),
                       (lambda m, p: save_model(m, p), lambda p: load_model(p)[0])):
        path = tmp_path / "gpt.int8.npz"
        save(q, path)
        back = load(path)
        assert back.lm_head.weight_int8 is back.token_embedding.weight_int8  # tied again
        assert quant.model_size_bytes(back) == quant.model_size_bytes(q)
        with tinytorch.no_grad():
            np.testing.assert_array_equal(back(tinytorch.Tensor(ids))[0].numpy(), want)


# ---- QuantizedConv2d's kernels: quantize_im2col and quantized_conv2d -------------------


def _reference_im2col(x, scale, zp, k, stride, padding, dilation):
    """quantize_per_tensor (checked bit for bit against PyTorch in test_17_quantize), then
    the receptive fields in (kh, kw, c) order, written out the slow and obvious way."""
    from tinytorch.backends.spatial.shapes import conv2d_output_size

    codes = quant.quantize_per_tensor(x, scale, zp, "quint8").int_repr()
    N, C, H, W = x.shape
    (KH, KW), (sh, sw), (ph, pw), (dh, dw) = k, stride, padding, dilation
    OH = conv2d_output_size(H, KH, sh, ph, dh)
    OW = conv2d_output_size(W, KW, sw, pw, dw)
    padded = np.full((N, C, H + 2 * ph, W + 2 * pw), zp, np.uint8)
    padded[:, :, ph:ph + H, pw:pw + W] = codes
    rows = [padded[n, :, oh * sh + kh * dh, ow * sw + kw * dw]
            .reshape(1, C) for n in range(N) for oh in range(OH) for ow in range(OW)
            for kh in range(KH) for kw in range(KW)]
    return np.concatenate(rows).reshape(N * OH * OW, KH * KW * C)


@pytest.mark.parametrize("backend", backend_params())
def test_quantize_im2col_equals_quantize_per_tensor_then_im2col(backend, rng):
    from tinytorch import backends

    x = (rng.standard_normal((2, 3, 7, 6)) * 3).astype(np.float32)
    x.flat[::7] = (rng.integers(-60, 60, x.flat[::7].size) + 0.5) * 0.0625  # ties
    x.flat[3::11] = 40.0  # clamps at 255
    for k, stride, padding, dilation in [((3, 3), (1, 1), (1, 1), (1, 1)),
                                         ((2, 3), (2, 1), (0, 2), (1, 2))]:
        got = backends.current().quantize_im2col(x, 0.0625, 100, "uint8", k, stride, padding,
                                                 dilation)
        want = _reference_im2col(x, 0.0625, 100, k, stride, padding, dilation)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("native_path", PATHS, indirect=True)
def test_quantized_conv2d_is_exact_on_every_path(native_path, rng):
    """The CNN's layer shapes (batch 4), 7-bit and 8-bit codes: the NCHW epilogue of every
    GEMM path against the composition of the NumPy kernels."""
    from tinytorch.backends.quant import native, numpy_backend

    for C, F, H, top in [(1, 32, 28, 255), (32, 64, 14, 255), (32, 64, 14, 127),
                         (5, 19, 9, 200)]:
        x = rng.uniform(0, 1, (4, C, H, H)).astype(np.float32)
        w = rng.integers(-128, 128, (F, 9 * C)).astype(np.int8)
        w[0] = -128
        args = (x, 1.0 / top, 0, w, rng.uniform(1e-3, 1e-2, F).astype(np.float32),
                w.astype(np.int32).sum(axis=1).astype(np.int32),
                rng.standard_normal(F).astype(np.float32), True, (3, 3), (1, 1), (1, 1),
                (1, 1))
        got = native.quantized_conv2d(*args)
        assert got.shape == (4, F, H, H) and got.flags.c_contiguous
        np.testing.assert_array_equal(got, numpy_backend.quantized_conv2d(*args),
                                      err_msg=f"{native_path} C={C} F={F}")


def test_quantized_conv2d_is_the_float_conv_of_the_dequantized_operands(torch, rng):
    """What QuantizedConv2d computes, stated with PyTorch: quantize the input with
    torch.quantize_per_tensor, dequantize input and int8 weights, and convolve in float64;
    ours equals that up to float32 rounding of the epilogue."""
    tinytorch.manual_seed(3)
    conv = nn.Conv2d(4, 6, 3, stride=(1, 2), padding=(1, 2), dilation=(2, 1))
    x = rng.uniform(-1, 2, (3, 4, 9, 11)).astype(np.float32)
    scale, zp = 3.0 / 255, 85
    q = quant.QuantizedConv2d.from_float(conv, (scale, zp))
    xq = torch.quantize_per_tensor(torch.from_numpy(x), scale, zp, torch.quint8)
    w = torch.from_numpy(q.weight_int8.data.reshape(6, 4, 3, 3).astype(np.float64)) \
        * torch.from_numpy(q.weight_scale.data.astype(np.float64)).reshape(6, 1, 1, 1)
    want = torch.nn.functional.conv2d(xq.dequantize().double(), w,
                                      torch.from_numpy(conv.bias.data.astype(np.float64)),
                                      stride=(1, 2), padding=(1, 2), dilation=(2, 1)).numpy()
    with tinytorch.no_grad():
        ours = q(tinytorch.tensor(x)).data
    assert ours.shape == want.shape
    np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-5)
    # and the quantization error against the float conv is small
    with tinytorch.no_grad():
        assert quant.sqnr_db(conv(tinytorch.tensor(x)).data, ours) > 30


@pytest.mark.skipif(not NATIVE, reason="native backend not built")
def test_quantized_conv_kernels_reject_bad_arguments_clearly():
    import tinytorch._native as ext

    from tinytorch.backends.quant import native

    x = np.zeros((1, 2, 5, 5), np.float32)
    w = np.zeros((3, 18), np.int8)
    v = np.ones(3, np.float32)
    cs = np.zeros(3, np.int32)
    good = (x, 0.1, 0, w, v, cs, None, False, (3, 3), (1, 1), (1, 1), (1, 1))
    assert native.quantized_conv2d(*good).shape == (1, 3, 5, 5)
    for api in (native, ext):  # the adapter and, behind it, the binding
        call = api.quantized_conv2d if api is native else ext.qconv2d
        cases = [
            ({0: x.astype(np.float64)} if api is ext else {0: x.astype(np.int32)},
             TypeError if api is native else TypeError, "float"),
            ({3: np.zeros((3, 17), np.int8)}, ValueError, "needs"),
            ({3: w.astype(np.int16)}, TypeError, "int8"),
            ({1: 0.0}, ValueError, "scale"),
            ({1: float("nan")}, ValueError, "scale"),
            ({1: 1e-50}, ValueError, "scale"),   # zero in float32
            ({2: 256}, ValueError, "zero_point"),
            ({4: np.ones(2, np.float32)}, ValueError, "w_scale"),
            ({8: (8, 8)}, ValueError, "larger than the padded input"),
            ({10: (-1, 0)}, ValueError, "padding"),
            ({9: (0, 1)}, ValueError, "stride"),
            ({0: np.zeros((1, 2, 0, 5), np.float32)}, ValueError, "height and width"),
        ]
        for change, error, words in cases:
            args = list(good)
            for i, value in change.items():
                args[i] = value
            with pytest.raises(error, match=words):
                call(*args)
    with pytest.raises(ValueError, match="overflow"):
        ext.quantize_im2col(x, 0.1, 0, "uint8", (1, 1), (1, 1), (2**62, 0), (1, 1))
    with pytest.raises(ValueError, match="dtype"):
        ext.quantize_im2col(x, 0.1, 0, "int4", (1, 1), (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="C-contiguous|contiguous"):
        ext.quantize_im2col(np.zeros((1, 2, 5, 10), np.float32)[..., ::2], 0.1, 0, "uint8",
                            (1, 1), (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="too deep"):  # K = 9 * 4000 > 32768
        ext.qconv2d(np.zeros((1, 4000, 3, 3), np.float32), 0.1, 0,
                    np.zeros((1, 36000), np.int8), np.ones(1, np.float32),
                    np.zeros(1, np.int32), None, False, (3, 3), (1, 1), (0, 0), (1, 1))



# ---- fusing a layer with its ReLU ------------------------------------------------------


def _cnn():
    tinytorch.manual_seed(2)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(8 * 7 * 7, 16), nn.ReLU(), nn.Linear(16, 10))


def test_fuse_modules_computes_what_the_pairs_did_and_convert_fuses_the_relu(tmp_path, rng):
    model = _cnn().eval()
    pairs = quant.fusable_modules(model)
    assert pairs == [["0", "1"], ["3", "4"], ["6", "7"]]
    fused = quant.fuse_modules(model, pairs)
    assert isinstance(model[0], nn.Conv2d) and isinstance(model[1], nn.ReLU)  # a copy
    assert isinstance(fused[0], quant.ConvReLU2d) and isinstance(fused[1], nn.Identity)
    assert isinstance(fused[6], quant.LinearReLU)
    x = tinytorch.tensor(rng.standard_normal((6, 1, 14, 14)).astype(np.float32))
    calib = tinytorch.tensor(rng.standard_normal((16, 1, 14, 14)).astype(np.float32))
    with tinytorch.no_grad():
        np.testing.assert_array_equal(fused(x).data, model(x).data)
        plain, merged = quant.prepare(model), quant.prepare(fused)
        plain(calib)
        merged(calib)
        q_plain, q_fused = quant.convert(plain), quant.convert(merged)
        assert q_fused[0].relu and q_fused[6].relu and not q_fused[8].relu
        assert isinstance(q_fused[1], nn.Identity)
        # the ReLU in the epilogue is max(y, 0) of the same y: bit for bit the unfused result
        np.testing.assert_array_equal(q_fused(x).data, q_plain(x).data)
        quant.save_quantized(q_fused, tmp_path / "fused.npz")
        back = quant.load_quantized(_cnn(), tmp_path / "fused.npz")
        assert back[3].relu and isinstance(back[4], nn.Identity)
        np.testing.assert_array_equal(back(x).data, q_fused(x).data)


def test_fuse_modules_rejects_what_it_cannot_fuse():
    model = _cnn()
    with pytest.raises(ValueError, match=r"\(MaxPool2d, Conv2d\)"):
        quant.fuse_modules(model, [["2", "3"]])
    with pytest.raises(ValueError, match="no submodule '12'"):
        quant.fuse_modules(model, [["0", "12"]])
    with pytest.raises(ValueError, match="two modules"):
        quant.fuse_modules(model, [["0", "1", "2"]])
    one = quant.fuse_modules(model, ["0", "1"])  # a single pair as a flat list
    assert isinstance(one[0], quant.ConvReLU2d)
    with pytest.raises(ValueError, match=r"\(ConvReLU2d, Identity\)"):
        quant.fuse_modules(one, [["0", "1"]])

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.test_15_fuzz import FUZZ, conv_problem  # noqa: E402  (CI's bounded profile)


@pytest.mark.skipif(not NATIVE, reason="native backend not built")
@FUZZ
@given(conv_problem(), st.integers(0, 255), st.sampled_from([1 / 255, 1 / 127, 0.05, 3.0]),
       st.booleans(), st.booleans())
def test_fuzz_quantized_conv2d_matches_numpy(problem, zp, scale, special, relu):
    from tinytorch.backends.quant import native, numpy_backend

    N, C, H, W, F, KH, KW, stride, padding, dilation = problem
    k = (KH, KW)
    g = np.random.default_rng(N * 1000 + C * 100 + H * 10 + W)
    x = (g.standard_normal((N, C, H, W)) * 2).astype(np.float32)
    if special and x.size:
        x.flat[::5] = np.nan
        x.flat[1::7] = np.inf
        x.flat[2::9] = -np.inf
    cols = native.quantize_im2col(x, scale, zp, "uint8", k, stride, padding, dilation)
    np.testing.assert_array_equal(
        cols, numpy_backend.quantize_im2col(x, scale, zp, "uint8", k, stride, padding,
                                            dilation))
    w = g.integers(-128, 128, (F, k[0] * k[1] * C)).astype(np.int8)
    args = (x, scale, zp, w, g.uniform(1e-3, 1e-2, F).astype(np.float32),
            w.astype(np.int32).sum(axis=1).astype(np.int32),
            g.standard_normal(F).astype(np.float32), relu, k, stride, padding, dilation)
    np.testing.assert_array_equal(native.quantized_conv2d(*args),
                                  numpy_backend.quantized_conv2d(*args))
