"""Module 01: the measuring toolkit every later module uses (tinytorch.utils.benchmark)."""

from __future__ import annotations

import os

import pytest

from tinytorch.utils.benchmark import Measurement, Stopwatch, benchmark, format_seconds, set_threads
from tinytorch.utils.machine import describe


def test_statistics_of_a_measurement():
    m = Measurement("x", tuple(float(t) for t in range(1, 101)), calls_per_round=1)
    assert (m.min, m.max, m.median, m.mean) == (1.0, 100.0, 50.5, 50.5)
    assert m.percentile(0) == 1.0 and m.percentile(100) == 100.0
    assert m.p90 == pytest.approx(90.1) and m.p99 == pytest.approx(99.01)
    low, high = m.median_ci95
    assert low < m.median < high and high - low < 25  # ~ +-1.96 sqrt(n)/2 ranks
    assert m.per_second(1000) == pytest.approx(1000 / 50.5)


def test_noisy_flags_a_wide_spread_only():
    assert not Measurement("steady", (1.0, 1.01, 0.99, 1.02), 1).noisy
    assert Measurement("busy", (1.0, 1.0, 1.0, 2.0, 2.0, 2.0), 1).noisy
    assert "noisy" in str(Measurement("busy", (1.0, 1.0, 1.0, 2.0, 2.0, 2.0), 1))


def test_benchmark_times_the_call_and_keeps_its_result():
    calls = []

    def work():
        calls.append(1)
        return sum(range(1000))

    m = benchmark(work, warmup=2, repeats=5)
    assert m.rounds == 5 and m.result == sum(range(1000))
    assert len(calls) == 2 + 1 + 5 * m.calls_per_round  # warm-up, calibration, timed rounds
    assert 0 < m.min <= m.median <= m.max


def test_benchmark_passes_arguments_and_rejects_bad_settings():
    assert benchmark(pow, 2, 10, repeats=3).result == 1024
    for bad in ({"warmup": -1}, {"repeats": 0}, {"round_time": 0}):
        with pytest.raises(ValueError):
            benchmark(abs, 1, **bad)
    with pytest.raises(ValueError):
        Measurement("empty", (), 1)


def test_stopwatch_and_formatting():
    with Stopwatch() as watch:
        sum(range(10000))
    assert watch.seconds > 0 and watch.seconds == watch.seconds  # stopped: it does not move
    assert format_seconds(1.5) == "1.5 s" and format_seconds(2.5e-3) == "2.5 ms"
    assert format_seconds(12.3e-6) == "12.3 us" and format_seconds(5e-9) == "5 ns"


def test_thread_counts_are_range_checked():
    for bad in (0, -1, (os.cpu_count() or 1) + 1, 100000, 2**31, True, 1.5):
        with pytest.raises(ValueError, match="threads must be an int between 1 and"):
            set_threads(bad)


def test_describe_names_the_machine():
    info = describe()
    assert info["cpu"] and "numpy" in info
