"""Module 20: the optimization ladder -- one step at a time, measured, judged.

    baseline (numpy backend, fp32) -> step 1 -> measure -> judge -> step 2 -> ...

Every rung is measured the same way (``Workload.measure``). A rung whose quality falls
more than the budget below the *baseline* (1 accuracy point, 0.05 nats of validation
loss), or whose own check fails (cached tokens differ from uncached ones), is
**rejected**: it is reported, and the next step starts from the last accepted system.
Speedups and compression ratios compare a rung with the baseline measured *in this
process* (``RUN_ID``): a number from another run, machine or load is never divided by.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from tinytorch.capstone.registry import Step, steps_for
from tinytorch.utils.benchmark import Stopwatch

__all__ = ["RUN_ID", "Ladder", "Measured", "Rung", "System", "Workload", "judge", "ratios",
           "run_ladder"]

#: identifies this process's measurements; ratios() refuses to mix two runs
RUN_ID = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class System:
    """What is being optimized: the float weights and how they are served.

    ``model`` holds the (float) weights the steps change; ``quantization`` ("none",
    "dynamic", "static"), ``use_cache`` and ``fused_decode`` (one native call per decode
    step) say how ``Workload.serve`` turns them into the
    model that is measured, so a later weight-changing step (shrinking) is re-quantized.
    ``served`` caches that model (``Workload.serve`` fills it)."""

    model: Any
    backend: str = "numpy"
    quantization: str = "none"
    use_cache: bool = False
    fused_decode: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    served: Any = None

    def replace(self, **changes: Any) -> System:
        """A new System with ``changes``; the served model is rebuilt."""
        changes.setdefault("served", None)
        return dataclasses.replace(self, **changes)


@dataclass
class Measured:
    """What ``Workload.measure`` returns for one system (all in this process)."""

    quality: float
    latency_p50_s: float          # single-stream: one query (CNN: 1 image; GPT: one decode)
    latency_p99_s: float
    primary_s: float              # the speed the targets use: s per batch / s per token
    throughput: float             # offline: samples/s (CNN) or tokens/s (GPT)
    size_bytes: int
    peak_memory_bytes: int
    top_ops: list[dict[str, Any]]
    checks: dict[str, bool] = field(default_factory=dict)
    noisy: bool = False
    run_id: str = RUN_ID


@dataclass
class Rung:
    """One row of the ladder table."""

    step: str
    change: str
    measured: Measured
    accepted: bool
    reason: str
    delta_quality: float = 0.0
    speedup: float = 1.0
    compression: float = 1.0
    seconds: float = 0.0          # wall time of applying the step (training included)


class Workload(Protocol):
    name: str
    metric: str                   # "test accuracy", "validation loss (nats/char)"
    higher_is_better: bool
    budget: float                 # the largest allowed quality loss vs the baseline
    primary_unit: str             # what primary_s is per: "batch of 256", "token"
    throughput_unit: str

    def initial_system(self) -> System: ...
    def measure(self, system: System) -> Measured: ...
    def describe(self) -> dict[str, Any]: ...


def judge(baseline: Measured, measured: Measured, higher_is_better: bool, budget: float
          ) -> tuple[bool, float, str]:
    """(accepted, delta quality, reason) of a rung against the baseline rung.

    delta is measured - baseline (positive = higher). A rung is rejected when it loses
    more than ``budget`` of quality (for accuracy a drop, for a loss a rise) or when one
    of its ``checks`` failed; otherwise accepted (losing exactly the budget is allowed)."""
    # BEGIN SOLUTION 20
    delta = measured.quality - baseline.quality
    lost = -delta if higher_is_better else delta
    failed = [name for name, ok in measured.checks.items() if not ok]
    if failed:
        return False, delta, f"check failed: {', '.join(failed)}"
    if lost > budget + 1e-12:  # exactly the budget passes (0.9 - 0.89 > 0.01 in binary)
        return False, delta, f"quality lost {lost:.4g} > budget {budget:g}"
    return True, delta, f"quality within budget ({lost:+.4g} lost, budget {budget:g})"
    # END SOLUTION


def ratios(baseline: Measured, measured: Measured) -> tuple[float, float]:
    """(speedup, compression) of a rung vs the baseline: time per unit and bytes, as
    baseline / rung (2.0 = twice as fast, half the size). Both measurements must come
    from this process (same ``run_id``): a ratio across runs is refused."""
    if baseline.run_id != measured.run_id:
        raise ValueError(f"ratios: the baseline (run {baseline.run_id}) and the rung (run "
                         f"{measured.run_id}) were not measured in the same process; measure "
                         "both again in one run")
    # BEGIN SOLUTION 20
    speedup = baseline.primary_s / measured.primary_s
    compression = baseline.size_bytes / measured.size_bytes
    return speedup, compression
    # END SOLUTION


@dataclass
class Ladder:
    workload: str
    rungs: list[Rung]
    final: System

    @property
    def baseline(self) -> Rung:
        return self.rungs[0]

    @property
    def accepted(self) -> list[Rung]:
        return [r for r in self.rungs if r.accepted]

    @property
    def last(self) -> Rung:
        """The final rung: the last accepted one (what the optimized system is)."""
        return self.accepted[-1]


def add_rung(rungs: list[Rung], step: str, change: str, measured: Measured,
             higher_is_better: bool, budget: float, seconds: float = 0.0) -> Rung:
    """Judge ``measured`` against the first rung (or make it the baseline) and append it."""
    if not rungs:
        rung = Rung(step, change, measured, True, "the baseline", seconds=seconds)
    else:
        base = rungs[0].measured
        accepted, delta, reason = judge(base, measured, higher_is_better, budget)
        speedup, compression = ratios(base, measured)
        rung = Rung(step, change, measured, accepted, reason, delta, speedup, compression,
                    seconds)
    rungs.append(rung)
    return rung


def run_ladder(workload: Workload, only: list[str] | None = None, log: Any = print) -> Ladder:
    """Measure the baseline, then apply every registered step of ``workload.name``."""
    system = workload.initial_system()
    rungs: list[Rung] = []
    log(f"[baseline] {workload.describe().get('baseline', '')}")
    change = getattr(workload, "baseline_change", "numpy backend, fp32")
    add_rung(rungs, "baseline", change, workload.measure(system),
             workload.higher_is_better, workload.budget)
    log("  " + summary_line(rungs[-1], workload))
    steps: list[Step] = steps_for(workload.name, only)
    for step in steps:
        log(f"[{step.name}] {step.change}")
        clock = Stopwatch()
        candidate = step.apply(system, workload)
        if not isinstance(candidate, System):
            raise TypeError(f"step {step.name!r} returned {type(candidate).__name__}, not a "
                            "System (return system.replace(...))")
        seconds = clock.seconds
        rung = add_rung(rungs, step.name, step.change, workload.measure(candidate),
                        workload.higher_is_better, workload.budget, seconds)
        log("  " + summary_line(rung, workload))
        if rung.accepted:
            system = candidate  # a rejected step is not carried into the next one
    return Ladder(workload.name, rungs, system)


def summary_line(rung: Rung, workload: Workload) -> str:
    m = rung.measured
    verdict = "accepted" if rung.accepted else "REJECTED"
    return (f"{workload.metric} {m.quality:.4f} ({rung.delta_quality:+.4f}), "
            f"{m.primary_s * 1e3:.3f} ms per {workload.primary_unit} ({rung.speedup:.2f}x), "
            f"{m.size_bytes:,} B ({rung.compression:.2f}x smaller): {verdict} - {rung.reason}")
