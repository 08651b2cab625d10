"""Module 20: the measurements every rung gets, built on Modules 19 and 01.

Latency goes through ``utils.benchmark`` (the one timer), the op breakdown through
``profiler.profile``, peak memory through ``profiler.peak_memory``, size through
``quant.model_size_bytes`` -- nothing here times anything itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tinytorch.profiler import peak_memory, profile
from tinytorch.utils.benchmark import Measurement, benchmark

__all__ = ["op_breakdown", "peak_bytes", "single_stream"]


def single_stream(query: Callable[[], Any], queries: int, warmup: int = 2) -> Measurement:
    """``queries`` queries one after the other, one per timed round: the rounds are the
    latency distribution (MLPerf's single-stream scenario, as ``profiler.mlperf``)."""
    return benchmark(query, warmup=warmup, repeats=queries, round_time=1e-12)


def op_breakdown(fn: Callable[[], Any], top: int = 8) -> list[dict[str, Any]]:
    """The ``top`` ranges of one call of ``fn`` by self time (ops, kernels, module code):
    self times do not overlap, so the rows add up to at most the call's time."""
    with profile() as prof:
        fn()
    rows = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in rows) or 1.0
    return [{"name": e.key, "self_ms": e.self_cpu_time_total / 1e3, "calls": e.count,
             "share": e.self_cpu_time_total / total} for e in rows[:top]]


def peak_bytes(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated above the start while ``fn`` runs (NumPy and Python objects)."""
    return int(peak_memory(fn)[0])
