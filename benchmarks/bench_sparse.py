"""CSR x dense against the dense sgemm (Module 18): at which sparsity does sparse win?

Two ways to run it, both on the native backend with the same thread count::

    # the crossover sweep: one line per density, then the density where CSR starts to win
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_sparse.py
    # pytest-benchmark tables (one group per density: native csr, native dense, torch csr)
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest benchmarks/bench_sparse.py

The shape is the first layer of LeNet-300-100 run as the CSR kernel sees it:
W (300, 784) times x^T (784, 256) -- a batch of 256 images -- and a square
1024 x 1024 x 256. The dense contender multiplies the same matrix, zeros included
(what a masked layer does); the sparse one only the nonzeros (``2 nnz N`` FLOPs).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from tinytorch.backends import available_backends, load_backend
from tinytorch.backends.sparse.cases import csr_from_dense
from tinytorch.utils.benchmark import benchmark as measure
from tinytorch.utils.benchmark import set_threads

#: (M, K, N)
SHAPES = {"lenet300-fc1": (300, 784, 256), "square-1024": (1024, 1024, 256)}
DENSITIES = (1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01)


def sparse_matrix(M: int, K: int, density: float, seed: int = 0) -> np.ndarray:
    """Gaussian entries, each kept with probability ``density`` (unstructured pruning)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((M, K)).astype(np.float32)
    a[rng.random((M, K)) >= density] = 0
    return a


def sweep(M: int, K: int, N: int, densities=DENSITIES) -> list[tuple[float, float, float]]:
    """(density, dense seconds, CSR seconds) per density, native backend, in one process."""
    native = load_backend("native")
    b = np.random.default_rng(1).standard_normal((K, N)).astype(np.float32)
    rows = []
    for density in densities:
        a = sparse_matrix(M, K, density)
        csr = csr_from_dense(a)
        dense_t = measure(native.matmul, a, b, warmup=2, min_time=0.3).median
        sparse_m = measure(native.csr_matmul, *csr, b, warmup=2, min_time=0.3)
        np.testing.assert_allclose(sparse_m.result, a.astype(np.float64) @ b, rtol=1e-4,
                                   atol=1e-3)
        rows.append((density, dense_t, sparse_m.median))
    return rows


def crossover(rows: list[tuple[float, float, float]]) -> float | None:
    """The highest density at which CSR is faster (rows in falling density), or None."""
    faster = [d for d, dense, sparse in rows if sparse < dense]
    return max(faster) if faster else None


# ---- pytest-benchmark ---------------------------------------------------------------------
_NATIVE = "native" in available_backends()


@pytest.mark.skipif(not _NATIVE, reason="the native backend is not built")
@pytest.mark.parametrize("density", DENSITIES)
@pytest.mark.parametrize("kind", ["dense", "csr"])
@pytest.mark.parametrize("shape", list(SHAPES), ids=list(SHAPES))
def test_csr_vs_dense(benchmark, shape, kind, density):
    M, K, N = SHAPES[shape]
    native = load_backend("native")
    a = sparse_matrix(M, K, density)
    b = np.random.default_rng(1).standard_normal((K, N)).astype(np.float32)
    benchmark.group = f"{shape} density {density}"
    if kind == "dense":
        result = benchmark(native.matmul, a, b)
    else:
        result = benchmark(native.csr_matmul, *csr_from_dense(a), b)
    np.testing.assert_allclose(result, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    set_threads(threads)
    from tinytorch.utils.machine import describe

    info = describe()
    print(f"CPU: {info.get('cpu', '?')}; native build: {info.get('native', '?')}; "
          f"{threads} threads")
    for name, (M, K, N) in SHAPES.items():
        rows = sweep(M, K, N)
        print(f"\n{name}: ({M} x {K}) sparse @ ({K} x {N}) dense")
        print(f"{'density':>8} {'dense sgemm':>12} {'CSR':>10} {'CSR/dense':>10} "
              f"{'CSR GFLOP/s':>12}")
        for d, dense_t, sparse_t in rows:
            gflops = 2 * d * M * K * N / sparse_t / 1e9
            print(f"{d:>8.0%} {dense_t * 1e3:>9.3f} ms {sparse_t * 1e3:>7.3f} ms "
                  f"{sparse_t / dense_t:>9.2f}x {gflops:>12.1f}")
        best = crossover(rows)
        print(f"CSR beats the dense sgemm at density <= {best:.0%} (sparsity >= {1 - best:.0%})"
              if best is not None else "CSR never beats the dense sgemm here")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
