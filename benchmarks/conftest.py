"""Shared fixtures of the benchmark suites (``benchmarks/bench_*.py``, Module 15).

Run one suite, or all of them, and compare runs later::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest benchmarks/bench_matmul.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest benchmarks/ --benchmark-autosave
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest benchmarks/ --benchmark-compare

What a suite gets from here:

* ``bench_*.py`` files are collected when pytest is pointed at this directory
  (the project's ``testpaths`` keeps them out of a plain ``pytest`` run).
* ``BENCH_BACKENDS`` / :func:`backend_kernel`: every available TinyTorch backend
  plus ``torch`` when installed, as a callable for a kernel name.
* the ``record`` fixture: checks a result against a float64 reference and
  stores FLOPs and GFLOP/s in ``benchmark.extra_info`` (saved with
  ``--benchmark-autosave``, shown by ``--benchmark-compare``).
* a pause before every benchmark, so worker threads of the previous library
  stop spinning (OpenBLAS spins about 0.1 s after each call) and do not steal
  a core from the next one.
* the machine info of a saved run names the native build (SIMD, threads) and
  NumPy's BLAS.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable

import numpy as np
import pytest

from tinytorch.backends import available_backends, load_backend

#: TinyTorch backends that load here, then torch when it is installed
BENCH_BACKENDS: list[str] = available_backends() + (
    ["torch"] if importlib.util.find_spec("torch") else [])

#: seconds to wait before each benchmark so the previous library's threads go idle
SETTLE_SECONDS = 0.25


def pytest_collect_file(parent: pytest.Collector, file_path):
    # Files named on the command line are collected by pytest itself; collect
    # bench_*.py here only when a directory is given, so nothing runs twice.
    if (file_path.suffix == ".py" and file_path.name.startswith("bench_")
            and not parent.session.isinitpath(file_path)):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def pytest_benchmark_update_machine_info(config, machine_info: dict) -> None:
    from tinytorch.cli.doctor import numpy_blas

    machine_info["numpy_blas"] = numpy_blas()
    if "native" in BENCH_BACKENDS:
        machine_info["tinytorch_native"] = load_backend("native").build_info()
    if "torch" in BENCH_BACKENDS:
        import torch

        machine_info["torch"] = f"{torch.__version__}, {torch.get_num_threads()} threads"


def _torch_kernel(kernel: str) -> Callable:
    import torch

    ops = {"matmul": torch.matmul, "bmm": torch.bmm}
    op = ops[kernel]

    def run(*arrays: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return op(*(torch.from_numpy(a) for a in arrays)).numpy()

    return run


def backend_kernel(backend: str, kernel: str) -> Callable:
    """The function computing ``kernel`` on ``backend`` (a TinyTorch backend or "torch")."""
    if backend == "torch":
        return _torch_kernel(kernel)
    return getattr(load_backend(backend), kernel)


def matmul_flops(M: int, K: int, N: int) -> int:
    """One multiply and one add per (i, j, k): 2 M K N."""
    return 2 * M * K * N


def assert_close(result: np.ndarray, expected: np.ndarray, tol: float = 1e-4) -> None:
    """float32 result vs float64 reference, tolerance relative to the largest |expected|."""
    assert result.shape == expected.shape, f"shape {result.shape} != {expected.shape}"
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(result, expected, rtol=tol, atol=tol * scale)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config) -> None:
    """After pytest-benchmark's timing tables: GFLOP/s per group, fastest first."""
    session = getattr(config, "_benchmarksession", None)
    measured = [b for b in getattr(session, "benchmarks", None) or []
                if "gflops" in b.extra_info]
    if not measured:
        return
    terminalreporter.section("GFLOP/s (from the fastest round)")
    for group in sorted({b.group or "" for b in measured}):
        rows = sorted((b for b in measured if (b.group or "") == group),
                      key=lambda b: -b.extra_info["gflops"])
        best = rows[0].extra_info["gflops"]
        terminalreporter.write_line(group)
        for b in rows:
            gflops = b.extra_info["gflops"]
            terminalreporter.write_line(f"    {b.name:<44} {gflops:>9.2f}   {gflops / best:6.2f}x")


@pytest.fixture(autouse=True)
def _settle_threads():
    time.sleep(SETTLE_SECONDS)


@pytest.fixture
def record() -> Callable:
    """``record(benchmark, result, expected, flops, tol=1e-4)``: check, then store GFLOP/s.

    GFLOP/s uses the fastest round (the least disturbed by the rest of the machine).
    """

    def _record(benchmark, result: np.ndarray, expected: np.ndarray, flops: int,
                tol: float = 1e-4) -> None:
        assert_close(np.asarray(result), expected, tol)
        benchmark.extra_info["flops"] = flops
        stats = getattr(benchmark, "stats", None)
        if stats is not None:  # None under --benchmark-disable
            benchmark.extra_info["gflops"] = round(flops / stats.stats.min / 1e9, 2)

    return _record
