"""Module 17: quantize / dequantize and the observers equal PyTorch's bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tinytorch import quant


def _torch_dtype(torch, dtype):
    return torch.qint8 if dtype == "int8" else torch.quint8


def _inputs(rng, scale, n=2000):
    x = (rng.standard_normal(n) * 150 * scale).astype(np.float32)
    x[: n // 4] = ((rng.integers(-400, 400, n // 4) + 0.5) * scale).astype(np.float32)  # ties
    x[n // 4: n // 4 + 20] = np.float32(1e6) * np.sign(rng.standard_normal(20))  # far out
    x[-1] = 0.0
    return x


@pytest.mark.parametrize("dtype", ["int8", "uint8"])
def test_quantize_per_tensor_is_bit_exact_with_torch(torch, rng, dtype):
    lo, hi = quant.qrange(dtype)
    for scale in [0.1, 0.05, 1 / 3, 0.007, 2.0 ** -5, float(rng.uniform(1e-3, 1))]:
        for zp in [lo, hi, 0 if dtype == "int8" else 128, int(rng.integers(lo, hi + 1))]:
            x = _inputs(rng, scale)
            ours = quant.quantize_per_tensor(x, scale, zp, dtype)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = torch.quantize_per_tensor(torch.from_numpy(x), scale, zp,
                                                _torch_dtype(torch, dtype))
            np.testing.assert_array_equal(ours.int_repr(), ref.int_repr().numpy())
            np.testing.assert_array_equal(ours.dequantize(), ref.dequantize().numpy())
            assert ours.int_repr().dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", ["int8", "uint8"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_quantize_per_channel_is_bit_exact_with_torch(torch, rng, dtype, axis):
    lo, hi = quant.qrange(dtype)
    C = 9
    scales = rng.uniform(1e-3, 0.5, C)
    zps = rng.integers(lo, hi + 1, C)
    shape = [40, 40]
    shape[axis] = C
    x = (rng.standard_normal(shape) * 100 * 0.1).astype(np.float32)
    flat = x.reshape(-1)
    flat[::7] = np.float32(1e5)
    ours = quant.quantize_per_channel(x, scales, zps, axis, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.quantize_per_channel(torch.from_numpy(x), torch.from_numpy(scales),
                                         torch.from_numpy(zps), axis % 2,
                                         _torch_dtype(torch, dtype))
    np.testing.assert_array_equal(ours.int_repr(), ref.int_repr().numpy())
    np.testing.assert_array_equal(ours.dequantize(), ref.dequantize().numpy())


def test_ties_round_half_to_even_after_adding_the_zero_point():
    # 2.5 + 1 = 3.5 rounds to 4; rounding first (2) and adding (3) would be off by one
    q = quant.quantize_per_tensor(np.array([2.5, 3.5, -2.5, 0.5], np.float32), 1.0, 1, "int8")
    assert q.int_repr().tolist() == [4, 4, -2, 2]


def test_out_of_range_values_clamp_and_bad_arguments_raise():
    q = quant.quantize_per_tensor(np.array([-1e9, 1e9, 0.0], np.float32), 0.1, 10, "uint8")
    assert q.int_repr().tolist() == [0, 255, 10]
    with pytest.raises(ValueError, match="zero_point 300 is out of range"):
        quant.quantize_per_tensor(np.zeros(3, np.float32), 0.1, 300, "uint8")
    with pytest.raises(ValueError, match="scale must be positive"):
        quant.quantize_per_tensor(np.zeros(3, np.float32), 0.0, 0, "int8")
    with pytest.raises(TypeError, match="int8 or uint8"):
        quant.quantize_per_tensor(np.zeros(3, np.float32), 0.1, 0, "int4")
    with pytest.raises(ValueError, match="need 3 scales"):
        quant.quantize_per_channel(np.zeros((3, 2), np.float32), [0.1], [0], 0, "int8")
    with pytest.raises(RuntimeError, match="per channel"):
        quant.quantize_per_channel(np.zeros((1, 2), np.float32), [0.1], [0], 0, "int8").q_scale()


@pytest.mark.parametrize("dtype,qscheme,reduce_range", [
    ("quint8", "per_tensor_affine", False), ("quint8", "per_tensor_affine", True),
    ("qint8", "per_tensor_symmetric", False), ("quint8", "per_tensor_symmetric", False),
    ("qint8", "per_tensor_affine", False)])
def test_observers_choose_torchs_qparams(torch, rng, dtype, qscheme, reduce_range):
    from torch.ao.quantization import observer as tobs

    tdtype = getattr(torch, dtype)
    tscheme = getattr(torch, qscheme)
    batches = [(rng.standard_normal((8, 30)) * s + o).astype(np.float32)
               for s, o in [(1, 0), (3, 1), (0.5, -2), (10, 5)]]
    pairs = [(quant.MinMaxObserver(dtype, qscheme, reduce_range),
              tobs.MinMaxObserver(dtype=tdtype, qscheme=tscheme, reduce_range=reduce_range)),
             (quant.MovingAverageMinMaxObserver(0.1, dtype, qscheme, reduce_range),
              tobs.MovingAverageMinMaxObserver(averaging_constant=0.1, dtype=tdtype,
                                               qscheme=tscheme, reduce_range=reduce_range))]
    for ours, ref in pairs:
        for b in batches:
            ours(b)
            ref(torch.from_numpy(b))
        s, z = ours.calculate_qparams()
        ts, tz = ref.calculate_qparams()
        np.testing.assert_array_equal(np.float32(s), ts.numpy().astype(np.float32))
        np.testing.assert_array_equal(z, tz.numpy())


def test_per_channel_observer_matches_torch(torch, rng):
    from torch.ao.quantization import observer as tobs

    w = rng.standard_normal((16, 40)).astype(np.float32)
    w[3] = 0.0  # an all-zero channel still gets a usable scale (eps)
    ours = quant.PerChannelMinMaxObserver(ch_axis=0)
    ref = tobs.PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8,
                                        qscheme=torch.per_channel_symmetric)
    ours(w)
    ref(torch.from_numpy(w))
    s, z = ours.calculate_qparams()
    ts, tz = ref.calculate_qparams()
    np.testing.assert_array_equal(s, ts.numpy().astype(np.float32))
    np.testing.assert_array_equal(z, tz.numpy())


def test_percentile_observer_ignores_an_outlier(rng):
    x = rng.standard_normal(100_000).astype(np.float32)
    x[0] = 1000.0
    mm, pc = quant.MinMaxObserver(), quant.PercentileObserver(99.9)
    mm(x)
    pc(x)
    assert pc.calculate_qparams()[0] < mm.calculate_qparams()[0] / 100
    with pytest.raises(RuntimeError, match="no values observed"):
        quant.MinMaxObserver().calculate_qparams()


def test_sqnr_is_about_6_db_per_bit(rng):
    x = rng.uniform(-1, 1, 100_000).astype(np.float32)
    for bits, dtype in [(8, "int8")]:
        scale = 2.0 / (2 ** bits - 1)
        x_hat = quant.quantize_per_tensor(x, scale, 0, dtype).dequantize()
        assert 6.02 * bits - 3 < quant.sqnr_db(x, x_hat) < 6.02 * bits + 3
    assert quant.sqnr_db(x, x) == float("inf")
