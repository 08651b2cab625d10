"""The one measuring toolkit: every timing in TinyTorch goes through here.

``tinytorch bench``, the ``benchmarks/`` suites, every ``modules/NN/measure.py``,
the trainer's samples/s and the milestones' wall clocks all use these few
functions, so every number in the course is measured the same way (the name
follows ``torch.utils.benchmark``; Module 19 builds its profiler on top)::

    from tinytorch.utils.benchmark import benchmark
    m = benchmark(lambda: a @ b)        # warm-up, then repeated timed rounds
    print(m)                            # median 12.3 us (min 12.1, p90 12.9, 95% CI ...)

Why not time one call? A single call mixes in page faults, thread start-up and
whatever else the machine was doing. ``benchmark`` warms up first, batches calls
so each timed round lasts at least ``round_time`` (timer resolution and Python's
own overhead stop mattering), repeats rounds for ``min_time`` seconds, and keeps
every round: the *median* is the typical cost, the *minimum* the least disturbed
one, and a wide spread between them says the machine was busy
(:attr:`Measurement.noisy`) -- such a number should be measured again, not quoted.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Measurement", "Stopwatch", "benchmark", "format_seconds", "now_ns", "set_threads"]

#: the clock every timing reads, in integer nanoseconds (monotonic; the profiler of
#: Module 19 stamps its events with it, so its ranges and these measurements agree)
now_ns = time.perf_counter_ns

#: a run is flagged noisy when its 90th percentile is this much above its minimum
NOISY_SPREAD = 0.25


@dataclass(frozen=True)
class Measurement:
    """Seconds per call, one entry per timed round (each round ran ``calls_per_round`` calls).

    ``result`` is what the last call returned, so a benchmark can check the answer
    it just timed.
    """

    label: str
    times: tuple[float, ...]
    calls_per_round: int
    result: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.times:
            raise ValueError("a Measurement needs at least one timed round")

    @property
    def rounds(self) -> int:
        return len(self.times)

    @property
    def min(self) -> float:
        return min(self.times)

    @property
    def max(self) -> float:
        return max(self.times)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times)

    @property
    def std(self) -> float:
        return statistics.stdev(self.times) if len(self.times) > 1 else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def percentile(self, q: float) -> float:
        """The q-th percentile (0..100) of the per-call times, linearly interpolated."""
        if not 0 <= q <= 100:
            raise ValueError(f"percentile must be in [0, 100], got {q}")
        ordered = sorted(self.times)
        position = (len(ordered) - 1) * q / 100
        low, high = math.floor(position), math.ceil(position)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    @property
    def p90(self) -> float:
        return self.percentile(90)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def median_ci95(self) -> tuple[float, float]:
        """A distribution-free 95% confidence interval of the median, from order statistics.

        The number of rounds below the true median is Binomial(n, 1/2); the ranks
        n/2 -+ 1.96 sqrt(n)/2 bracket it with ~95% probability (exact enough for n >= 10;
        with fewer rounds the interval is simply the whole range).
        """
        ordered = sorted(self.times)
        n = len(ordered)
        half_width = 1.96 * math.sqrt(n) / 2
        low = max(0, math.floor(n / 2 - half_width) - 1)
        high = min(n - 1, math.ceil(n / 2 + half_width) - 1)
        return ordered[low], ordered[high]

    @property
    def noisy(self) -> bool:
        """True when the rounds disagree so much that the machine was probably busy."""
        return self.rounds >= 3 and self.p90 > (1 + NOISY_SPREAD) * self.min

    def per_second(self, amount: float) -> float:
        """``amount`` (FLOPs, bytes, samples) per second at the median time."""
        return amount / self.median

    def __str__(self) -> str:
        low, high = self.median_ci95
        text = (f"{self.label + ': ' if self.label else ''}median {format_seconds(self.median)} "
                f"(min {format_seconds(self.min)}, p90 {format_seconds(self.p90)}, 95% CI "
                f"{format_seconds(low)}..{format_seconds(high)}, {self.rounds} rounds x "
                f"{self.calls_per_round})")
        return text + ("  [noisy: machine busy? measure again]" if self.noisy else "")


def format_seconds(seconds: float) -> str:
    """12.3 us, 4.56 ms, 1.23 s: three significant digits in the unit that fits."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def benchmark(fn: Callable[..., Any], *args: Any, warmup: int = 1, repeats: int | None = None,
              min_time: float = 0.2, round_time: float = 2e-3, max_rounds: int = 1000,
              label: str = "", **kwargs: Any) -> Measurement:
    """Time ``fn(*args, **kwargs)``: ``warmup`` untimed calls, then timed rounds.

    Each round runs the call often enough to last ``round_time`` seconds. With
    ``repeats`` given, exactly that many rounds are timed; otherwise rounds are
    repeated until ``min_time`` seconds have passed (at least 3, at most
    ``max_rounds``). A call slower than ``min_time`` is timed ``repeats or 3``
    times, one call per round; one slower than ``10 * min_time`` (seconds of
    work, where one-off start-up costs no longer matter) is not repeated unless
    ``repeats`` asks: its warm-up call is the measurement.
    """
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    if repeats is not None and repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if min_time < 0 or round_time <= 0:
        raise ValueError(f"min_time must be >= 0 and round_time > 0, got {min_time}, "
                         f"{round_time}")
    clock = time.perf_counter
    result = None
    start = clock()
    for _ in range(max(warmup, 1)):  # at least one call: it tells how long one takes
        result = fn(*args, **kwargs)
    once = max((clock() - start) / max(warmup, 1), 1e-9)
    if repeats is None and warmup >= 1 and once >= 10 * max(min_time, 1e-3):
        return Measurement(label, (once,), 1, result)
    if once < min_time:  # the first calls pay page faults and thread start-up: time one more
        start = clock()
        result = fn(*args, **kwargs)
        once = max(clock() - start, 1e-9)
    calls = max(1, int(round_time / once))
    if repeats is None:
        repeats = 3 if once >= min_time else max(3, min(max_rounds, int(min_time / (once * calls))))
    times = []
    for _ in range(repeats):
        start = clock()
        for _ in range(calls):
            result = fn(*args, **kwargs)
        times.append((clock() - start) / calls)
    return Measurement(label, tuple(times), calls, result)


class Stopwatch:
    """Wall-clock time of a whole run (an epoch, a milestone): ``with Stopwatch() as w: ...``
    then ``w.seconds``; or ``w = Stopwatch()`` and read ``w.seconds`` while it runs."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self._stop: float | None = None

    def __enter__(self) -> Stopwatch:
        self.start, self._stop = time.perf_counter(), None
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = time.perf_counter()

    @property
    def seconds(self) -> float:
        return (self._stop if self._stop is not None else time.perf_counter()) - self.start


def set_threads(n: int) -> list[str]:
    """Use ``n`` threads in every contender of a comparison: TinyTorch's native kernels,
    PyTorch and NumPy's BLAS (through threadpoolctl when installed).

    Returns notes about contenders that could not be limited. ``n`` must be between
    1 and the number of CPUs: more threads than cores only measures the scheduler
    (and tens of thousands of threads can stall the whole machine).
    """
    import importlib.util

    cpus = os.cpu_count() or 1
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= cpus:
        raise ValueError(f"threads must be an int between 1 and the {cpus} CPUs of this "
                         f"machine, got {n!r}")
    notes = []
    from tinytorch.backends import available_backends
    if "native" in available_backends():
        from tinytorch.backends.native_support import ext
        ext.set_num_threads(n)
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(n)
    if importlib.util.find_spec("threadpoolctl") is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)  # kept for the rest of the process
    else:
        notes.append(f"NumPy's BLAS keeps its own thread count (install threadpoolctl, or set "
                     f"OPENBLAS_NUM_THREADS={n} before starting, to limit it)")
    return notes
