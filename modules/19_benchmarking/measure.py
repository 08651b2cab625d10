"""Module 19 systems questions, measured: where does a training step go, what would
speeding up one part buy (Amdahl), and what does the profiler itself cost?

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python modules/19_benchmarking/measure.py \
        [BACKEND [THREADS]]

BACKEND defaults to native (numpy where the native build is missing), THREADS to 2 (use
1 on a loaded machine: a busy core stalls every OpenMP barrier). Prints, for the
CNN and the TinyGPT training steps of ``tinytorch profile``: the share of the step's
wall time spent in each group of work (from the profiler's self-times), Amdahl's law
applied to each group, and the training step timed before Module 19 / with the
profiler off / with it on (one process, interleaved, the same threads for every contender).
"""

import importlib.util
import sys
from pathlib import Path

import tinytorch as tt
from tinytorch import autograd
from tinytorch.backends import available_backends
from tinytorch.profiler import profile
from tinytorch.profiler.workloads import make_workload
from tinytorch.utils.benchmark import Stopwatch, benchmark, format_seconds, set_threads
from tinytorch.utils.machine import describe

BACKEND = sys.argv[1] if len(sys.argv) > 1 else \
    ("native" if "native" in available_backends() else "numpy")
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 2
STEPS = 5
ROUNDS = 7  # interleaved rounds of the overhead comparison
set_threads(THREADS)
tt.set_backend(BACKEND)
for key, value in describe().items():
    print(f"{key}: {value}")
print(f"backend: {BACKEND}, {THREADS} thread(s)")


def group_of(event) -> str:
    """Which part of a training step an event's self time belongs to."""
    name = event.name
    if event.category == "kernel":
        kernel = name.split("::")[1]
        if kernel.startswith("conv2d"):
            return "convolution kernels"
        if kernel in ("matmul", "bmm"):
            return "matmul kernels"
        if kernel.startswith("attention"):
            return "attention kernels"
        return "other kernels (norm, softmax, pool, gelu)"
    if event.category in ("function", "backward"):
        return "ops outside kernels (NumPy elementwise, copies)"
    if event.category == "optimizer":
        return "optimizer update"
    return "framework glue (modules, engine, Python)"


def amdahl(p: float, s: float) -> float:
    """Whole-step speedup when a fraction p of the time becomes s times faster."""
    # BEGIN SOLUTION 19
    return 1.0 / ((1.0 - p) + p / s)
    # END SOLUTION


for name, batch in (("cnn", None), ("tinygpt", None)):
    work = make_workload(name, batch)
    work.train_step()
    with profile() as prof, Stopwatch() as wall:
        for _ in range(STEPS):
            work.train_step()
    groups: dict[str, float] = {}
    for e in prof.events:
        key = group_of(e)
        groups[key] = groups.get(key, 0.0) + e.self_ns / 1e9
    covered = sum(groups.values())
    print(f"\n== {work.description}: {STEPS} profiled steps, "
          f"{format_seconds(wall.seconds / STEPS)} per step ==")
    print(f"  self-times cover {covered / wall.seconds:.1%} of the wall time")
    print(f"  {'group':<50}{'share':>8}{'  10x faster ->':>16}{'  free ->':>10}")
    for key, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        p = seconds / wall.seconds
        print(f"  {key:<50}{p:>8.1%}{amdahl(p, 10):>15.2f}x"
              f"{(1 / (1 - p) if p < 1 else float('inf')):>9.2f}x")

# ---- the profiler's own cost ------------------------------------------------------------
spec = importlib.util.spec_from_file_location(
    "bench_profiler", Path(__file__).resolve().parents[2] / "benchmarks" / "bench_profiler.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
print("\n== a training step: the engine before Module 19 / profiler off / profiler on ==")
current = autograd.backward
for name, batch in (("cnn", 16), ("tinygpt", 8)):
    work = make_workload(name, batch)

    def with_engine(engine, work=work):
        def step():  # the same wrapper for both engines: only the engine differs
            autograd.backward = engine
            try:
                return work.train_step()
            finally:
                autograd.backward = current
        return step

    before, off_ = with_engine(bench._backward_before_module_19), with_engine(current)

    def on():
        with profile():
            return work.train_step()

    contenders = [("before", before), ("off", off_), ("on", on)]
    times: dict[str, list[float]] = {label: [] for label, _ in contenders}
    for r in range(ROUNDS):  # interleaved, order rotated: a load spike hits every contender
        for label, fn in contenders[r % 3:] + contenders[:r % 3]:
            times[label].append(benchmark(fn, warmup=1, min_time=0.3).median)
    off = sorted(a / b for a, b in zip(times["off"], times["before"], strict=True))
    cost = sorted(a / b for a, b in zip(times["on"], times["off"], strict=True))
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    print(f"  {name}: before {format_seconds(med['before'])}, off {format_seconds(med['off'])}"
          f", on {format_seconds(med['on'])}; off/before = {off[len(off) // 2]:.3f} "
          f"(rounds {off[0]:.3f}..{off[-1]:.3f}), on/off = {cost[len(cost) // 2]:.2f}")
