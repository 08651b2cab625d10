"""Matmul benchmarks (Module 15): loop vs numpy vs native (vs torch when installed).

One table per shape (``benchmark.group``), one row per backend; GFLOP/s is in
``extra_info`` (``--benchmark-columns=min,mean,ops`` plus the saved JSON)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest benchmarks/bench_matmul.py

The loop backend runs only the small shapes: 1024^3 would take hours in Python.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BENCH_BACKENDS, backend_kernel

from tinytorch.backends.linalg.interface import bmm_flops, matmul_flops

#: (M, K, N): square sizes from L1-sized to L3-sized, then the two matmuls of
#: an MNIST MLP (784 -> 256 -> 10) on a batch of 128
SHAPES = [(32, 32, 32), (64, 64, 64), (256, 256, 256), (1024, 1024, 1024),
          (128, 784, 256), (128, 256, 10)]
#: the loop backend only runs shapes up to this many FLOPs (~0.1 s per call)
LOOP_MAX_FLOPS = matmul_flops(32, 32, 32)


def _cases() -> list:
    cases = []
    for shape in SHAPES:
        for backend in BENCH_BACKENDS:
            if backend == "loop" and matmul_flops(*shape) > LOOP_MAX_FLOPS:
                continue
            cases.append(pytest.param(backend, shape, id=f"{backend}-{'x'.join(map(str, shape))}"))
    return cases


@pytest.mark.parametrize("backend,shape", _cases())
def test_matmul(benchmark, record, backend: str, shape: tuple[int, int, int]) -> None:
    M, K, N = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    benchmark.group = f"matmul {M}x{K}x{N}"
    result = benchmark(backend_kernel(backend, "matmul"), a, b)
    record(benchmark, result, a.astype(np.float64) @ b.astype(np.float64), matmul_flops(M, K, N))


#: (B, M, K, N): attention-like batches of small matrices, and a few large ones
BMM_SHAPES = [(32, 64, 64, 64), (4, 256, 256, 256)]


@pytest.mark.parametrize("backend", [b for b in BENCH_BACKENDS if b != "loop"])
@pytest.mark.parametrize("shape", BMM_SHAPES, ids=["x".join(map(str, s)) for s in BMM_SHAPES])
def test_bmm(benchmark, record, backend: str, shape: tuple[int, int, int, int]) -> None:
    B, M, K, N = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((B, M, K)).astype(np.float32)
    b = rng.standard_normal((B, K, N)).astype(np.float32)
    benchmark.group = f"bmm {B}x{M}x{K}x{N}"
    result = benchmark(backend_kernel(backend, "bmm"), a, b)
    record(benchmark, result, a.astype(np.float64) @ b.astype(np.float64),
           bmm_flops(B, M, K, N))
