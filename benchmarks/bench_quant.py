"""int8 benchmarks (Module 17): our int8 GEMM vs our fp32 sgemm vs PyTorch's
dynamic-quantized Linear (fbgemm) vs PyTorch's fp32 Linear, in one process with the
same thread count for everyone::

    pytest benchmarks/bench_quant.py --benchmark-columns=min,median

GOP/s (2 M N K per call, at the fastest round) is in ``extra_info["gops"]``.
Contenders per shape (M x K -> N, PyTorch's Linear layout):

* ``int8_gemm``: the raw kernel, u8 x s8 -> int32 (backends/quant native);
* ``qlinear``: ``QuantizedLinear`` end to end (dynamic activation quantization in native
  code, int8 GEMM, fused epilogue);
* ``sgemm``: our fp32 matmul (native); ``linear_fp32``: ``nn.Linear`` forward;
* ``torch_dynamic``: ``torch.ao.quantization.quantize_dynamic`` Linear (fbgemm);
  ``torch_fp32``: ``torch.nn.Linear``.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tinytorch import nn, quant
from tinytorch.backends import available_backends
from tinytorch.backends.quant.interface import int8_gemm_ops
from tinytorch.utils.benchmark import set_threads

THREADS = 2
#: (M, K, N): the issue's square-ish layer, one token, the Fashion-MNIST MLP / CNN head
#: (batch 128: 784 -> 256, CNN's 800 -> 500-ish) and TinyGPT's MLP (block 64 x batch 4: 128 -> 512)
SHAPES = [(256, 1024, 1024), (1, 1024, 1024), (128, 784, 256), (256, 128, 512),
          (256, 512, 128)]
CONTENDERS = ["int8_gemm", "qlinear", "sgemm", "linear_fp32", "torch_dynamic", "torch_fp32"]

pytestmark = pytest.mark.skipif("native" not in available_backends(),
                                reason="the int8 benchmarks need the native backend")


@pytest.fixture(autouse=True)
def _same_threads():
    set_threads(THREADS)  # every contender of the comparison: TinyTorch's kernels and torch
    try:
        import torch

        torch.set_num_threads(THREADS)
    except ImportError:
        pass
    previous = tinytorch.get_backend()
    tinytorch.set_backend("native")
    yield
    tinytorch.set_backend(previous)


def _contender(name: str, M: int, K: int, N: int):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((M, K)).astype(np.float32)
    tinytorch.manual_seed(0)
    lin = nn.Linear(K, N)
    if name == "int8_gemm":
        from tinytorch.backends.quant import native

        a = rng.integers(0, 256, (M, K)).astype(np.uint8)
        w = rng.integers(-128, 128, (N, K)).astype(np.int8)
        return lambda: native.int8_gemm(a, w)
    if name == "sgemm":
        from tinytorch.backends.linalg import native as linalg

        wt = np.ascontiguousarray(lin.weight.data.T)
        return lambda: linalg.matmul(x, wt)
    if name in ("qlinear", "linear_fp32"):
        layer = quant.QuantizedLinear.from_float(lin) if name == "qlinear" else lin
        xt = tinytorch.tensor(x)

        def run():
            with tinytorch.no_grad():
                return layer(xt)
        return run
    torch = pytest.importorskip("torch")
    tl = torch.nn.Linear(K, N)
    model = torch.nn.Sequential(tl)
    if name == "torch_dynamic":
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear})
    xt = torch.from_numpy(x)

    def run_torch():
        with torch.no_grad():
            return model(xt)
    return run_torch


@pytest.mark.parametrize("name", CONTENDERS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_int8(benchmark, name: str, shape: tuple[int, int, int]) -> None:
    M, K, N = shape
    fn = _contender(name, M, K, N)
    benchmark.group = f"int8 {M}x{K}->{N}"
    benchmark(fn)
    ops = int8_gemm_ops(M, N, K)
    benchmark.extra_info["ops"] = ops
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        benchmark.extra_info["gops"] = round(ops / stats.stats.min / 1e9, 2)
