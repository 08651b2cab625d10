"""Shared fixtures of the benchmark suites (``benchmarks/bench_*.py``, Module 15).

Run one suite, or all of them, and compare runs later::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest benchmarks/bench_matmul.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest benchmarks/ --benchmark-autosave
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest benchmarks/ --benchmark-compare

What a suite gets from here:

* ``bench_*.py`` files are collected when pytest is pointed at this directory
  (the project's ``testpaths`` keeps them out of a plain ``pytest`` run).
* ``BENCH_BACKENDS`` / :func:`backend_kernel`: every available TinyTorch backend
  plus ``torch`` when installed, as a callable for a kernel name (torch's come
  from each kernel family's ``cases.torch_kernels()``).
* the ``record`` fixture: checks a result against a float64 reference and
  stores FLOPs and GFLOP/s in ``benchmark.extra_info`` (saved with
  ``--benchmark-autosave``, shown by ``--benchmark-compare``).
* a pause before every benchmark, so worker threads of the previous library
  stop spinning (OpenBLAS spins about 0.1 s after each call) and do not steal
  a core from the next one.
* the machine info of a saved run names the CPU, its caches, the native build
  (SIMD, threads, sgemm blocking), the measured FMA peak, NumPy's BLAS and torch
  (``tinytorch.utils.machine.describe``); the GFLOP/s summary prints each row's
  share of that peak (all cores), next to OpenBLAS's and torch's.
* FLOP counts come from the kernel families (``backends/<family>/interface.py``)
  and tolerances from ``tinytorch.testing``: this file keeps no copy of either.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable

import numpy as np
import pytest

from tinytorch.backends import available_backends, load_backend
from tinytorch.backends.conformance import torch_kernels
from tinytorch.testing import FLOAT32_TOL, assert_close

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
    from tinytorch.utils.machine import describe

    machine_info["tinytorch"] = describe(peak=True)


def backend_kernel(backend: str, kernel: str) -> Callable:
    """The function computing ``kernel`` on ``backend`` (a TinyTorch backend or "torch")."""
    if backend == "torch":
        return torch_kernels()[kernel]
    return getattr(load_backend(backend), kernel)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config) -> None:
    """After pytest-benchmark's timing tables: GFLOP/s per group, fastest first."""
    session = getattr(config, "_benchmarksession", None)
    measured = [b for b in getattr(session, "benchmarks", None) or []
                if "gflops" in b.extra_info]
    if not measured:
        return
    from tinytorch.utils.machine import describe, peak_fraction

    terminalreporter.section("GFLOP/s (from the fastest round)")
    for key, value in describe(peak=True).items():
        terminalreporter.write_line(f"{key}: {value}")
    cores = os.cpu_count() or 1
    for group in sorted({b.group or "" for b in measured}):
        rows = sorted((b for b in measured if (b.group or "") == group),
                      key=lambda b: -b.extra_info["gflops"])
        best = rows[0].extra_info["gflops"]
        terminalreporter.write_line(group)
        for b in rows:
            gflops = b.extra_info["gflops"]
            share = peak_fraction(gflops, cores)
            peak = "" if share is None else f"   {100 * share:4.0f}% of the {cores}-core FMA peak"
            terminalreporter.write_line(f"    {b.name:<44} {gflops:>9.2f}   {gflops / best:6.2f}x{peak}")


@pytest.fixture(autouse=True)
def _settle_threads():
    time.sleep(SETTLE_SECONDS)


@pytest.fixture
def record() -> Callable:
    """``record(benchmark, result, expected, flops, tol)``: check, then store GFLOP/s.

    GFLOP/s uses the fastest round (the least disturbed by the rest of the machine).
    """

    def _record(benchmark, result: np.ndarray, expected: np.ndarray, flops: int,
                tol: float = FLOAT32_TOL) -> None:
        assert_close(np.asarray(result), expected, tol)
        benchmark.extra_info["flops"] = flops
        stats = getattr(benchmark, "stats", None)
        if stats is not None:  # None under --benchmark-disable
            benchmark.extra_info["gflops"] = round(flops / stats.stats.min / 1e9, 2)

    return _record
