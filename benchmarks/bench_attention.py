"""Module 13: the attention kernels at the TinyGPT shape, every backend vs PyTorch.

B=32, H=4, T=128, head_dim 32, causal (one attention layer of the TinyGPT milestone's
training step), forward and backward, and the Module 16 decode call (one query
against 1,024 cached positions, 8 heads, d=64). One process, 2 threads for every
contender::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest benchmarks/bench_attention.py

Torch's comparator is ``F.scaled_dot_product_attention`` (forward) and its autograd
backward through the same call.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import BENCH_BACKENDS, backend_kernel

from tinytorch.backends.attention import numpy_backend
from tinytorch.backends.attention.interface import attention_backward_flops, attention_flops
from tinytorch.utils.benchmark import set_threads

THREADS = min(2, os.cpu_count() or 1)
B, H, T, D = 32, 4, 128, 32
FAST = [b for b in BENCH_BACKENDS if b != "loop"]  # the loop spec takes minutes here


def _inputs():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((B, H, T, D)).astype(np.float32) for _ in range(3))
    return q, k, v, 1 / np.sqrt(D)


@pytest.mark.parametrize("backend", FAST)
def test_attention_forward(benchmark, record, backend):
    set_threads(THREADS)
    q, k, v, scale = _inputs()
    kernel = backend_kernel(backend, "attention")
    result = benchmark(kernel, q, k, v, None, scale, True)
    out = result if backend == "torch" else result[0]
    expected, _ = numpy_backend.attention(*(a.astype(np.float64) for a in (q, k, v)), None,
                                          scale, True)
    benchmark.group = f"attention forward B{B} H{H} T{T} d{D} causal"
    record(benchmark, out, expected, attention_flops(B, H, T, T, D) // 2, tol=1e-4)


def _torch_backward(q, k, v, scale, grad_out):
    import torch
    import torch.nn.functional as F

    tq, tk, tv = (torch.from_numpy(a).requires_grad_() for a in (q, k, v))
    g = torch.from_numpy(grad_out)

    def run():
        out = F.scaled_dot_product_attention(tq, tk, tv, is_causal=True, scale=scale)
        return torch.autograd.grad(out, (tq, tk, tv), g)

    return run


@pytest.mark.parametrize("backend", FAST)
def test_attention_forward_backward(benchmark, backend):
    """Forward + backward: what one layer costs in a training step."""
    set_threads(THREADS)
    q, k, v, scale = _inputs()
    grad_out = np.random.default_rng(1).standard_normal((B, H, T, D)).astype(np.float32)
    if backend == "torch":
        run = _torch_backward(q, k, v, scale, grad_out)
    else:
        fwd, bwd = (backend_kernel(backend, n) for n in ("attention", "attention_backward"))

        def run():
            out, lse = fwd(q, k, v, None, scale, True)
            return bwd(grad_out, q, k, v, out, lse, None, scale, True)
    benchmark.group = f"attention forward+backward B{B} H{H} T{T} d{D} causal"
    benchmark(run)
    flops = (attention_flops(B, H, T, T, D) + attention_backward_flops(B, H, T, T, D)) // 2
    if benchmark.stats is not None:  # causal: half of the T x T pairs
        benchmark.extra_info["gflops"] = round(flops / benchmark.stats.stats.min / 1e9, 2)


@pytest.mark.parametrize("backend", FAST)
def test_decode_attention(benchmark, backend):
    """Module 16: one query per head against 1,024 cached keys/values (8 heads, d=64)."""
    set_threads(THREADS)
    rng = np.random.default_rng(0)
    q = rng.standard_normal((1, 8, 64)).astype(np.float32)
    k, v = (rng.standard_normal((1, 8, 1024, 64)).astype(np.float32) for _ in range(2))
    if backend == "torch":
        import torch
        import torch.nn.functional as F

        tq, tk, tv = torch.from_numpy(q[:, :, None]), torch.from_numpy(k), torch.from_numpy(v)

        def run():
            with torch.no_grad():
                return F.scaled_dot_product_attention(tq, tk, tv, scale=0.125)[:, :, 0].numpy()
    else:
        kernel = backend_kernel(backend, "decode_attention")

        def run():
            return kernel(q, k, v, 1024, 0.125)
    benchmark.group = "decode attention: 1 query x 1,024 cached, 8 heads, d64"
    out = benchmark(run)
    expected = numpy_backend.decode_attention(q.astype(np.float64), k.astype(np.float64),
                                              v.astype(np.float64), 1024, 0.125)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
