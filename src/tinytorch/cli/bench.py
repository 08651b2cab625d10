"""``tinytorch bench`` (Module 15 Acceleration): how fast is each backend here?

Times every available backend (and PyTorch when installed) on a list of
*cases* and prints GFLOP/s with the ratios that tell the Module 15 story::

    tinytorch bench                 # matmul and conv shapes, every backend
    tinytorch bench --steps         # + naive -> reordered -> blocked -> packed+SIMD -> threads
    tinytorch bench --quick --png bench.png --threads 1

A case is a named computation with inputs, a FLOP count, a float64 reference
and one callable per backend; ``matmul_cases`` and ``conv_cases`` build them
from the kernel families (their FLOP formulas and torch comparators), and other
kernels add their own builder to :data:`CASE_BUILDERS`. Every result is checked
against the reference: a wrong answer is marked WRONG and makes the command
exit with status 1. Timing goes through ``tinytorch.utils.benchmark`` (median of
repeated rounds; a noisy run is flagged). Time NumPy fairly by running with
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tinytorch.backends import available_backends, load_backend
from tinytorch.backends.conformance import torch_kernels
from tinytorch.backends.linalg.interface import matmul_flops
from tinytorch.backends.spatial.interface import conv2d_flops
from tinytorch.backends.spatial.shapes import conv2d_geometry
from tinytorch.milestones import count, plot_path_problem
from tinytorch.testing import FLOAT32_TOL, close
from tinytorch.utils.benchmark import Measurement, benchmark, set_threads
from tinytorch.utils.machine import describe, fma_peak_gflops, peak_fraction

#: column order of the table: the course's backends, then the reference library
BACKEND_ORDER = ("loop", "numpy", "native", "torch")
#: the loop backend only runs cases up to this many FLOPs (about 0.1 s in Python)
LOOP_MAX_FLOPS = 1_000_000
#: seconds between measurements of different libraries: OpenBLAS and OpenMP
#: worker threads keep spinning briefly after a call and would steal a core
SETTLE_SECONDS = 0.2
MATPLOTLIB_HINT = ("--png needs matplotlib: pip install matplotlib "
                   "(or pip install 'tinytorch[bench]')")


@dataclass
class Case:
    """One computation timed on every backend: ``runners[backend](*inputs)``."""

    name: str
    flops: int
    inputs: tuple
    reference: np.ndarray
    runners: dict[str, Callable[..., np.ndarray]] = field(default_factory=dict)
    tol: float = FLOAT32_TOL


@dataclass
class Result:
    time: Measurement
    correct: bool

    def gflops(self, flops: int) -> float:
        return self.time.per_second(flops) / 1e9


def _random(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _f64(*arrays: np.ndarray) -> list[np.ndarray]:
    return [a.astype(np.float64) for a in arrays]


def matmul_cases(quick: bool) -> list[Case]:
    """a: (M, K) @ b: (K, N) on every backend; loop only where it finishes quickly."""
    shapes = ([(64, 64, 64), (128, 256, 10), (256, 256, 256)] if quick else
              [(32, 32, 32), (64, 64, 64), (128, 256, 10), (128, 784, 256), (256, 256, 256),
               (1024, 1024, 1024)])
    torch_matmul = torch_kernels().get("matmul")
    cases = []
    for M, K, N in shapes:
        rng = np.random.default_rng(0)
        a, b = _random(rng, M, K), _random(rng, K, N)
        a64, b64 = _f64(a, b)
        case = Case(f"matmul {M}x{K}x{N}", matmul_flops(M, K, N), (a, b), a64 @ b64)
        for name in available_backends():
            if name != "loop" or case.flops <= LOOP_MAX_FLOPS:
                case.runners[name] = load_backend(name).matmul
        if torch_matmul is not None:
            case.runners["torch"] = torch_matmul
        cases.append(case)
    return cases


def conv_cases(quick: bool) -> list[Case]:
    """3x3 convolution, padding 1: forward, and backward (input + weight gradients)."""
    N, C, F, H = (8, 32, 32, 16) if quick else (32, 64, 64, 32)
    rng = np.random.default_rng(0)
    x, w, g = _random(rng, N, C, H, H), _random(rng, F, C, 3, 3, scale=0.1), \
        _random(rng, N, F, H, H)
    one = (1, 1)
    flops = conv2d_flops(conv2d_geometry(x.shape, w.shape, one, one, one))
    spec = load_backend("numpy")  # the reference, in float64
    x64, w64, g64 = _f64(x, w, g)

    def backward_of(kernels) -> Callable[..., np.ndarray]:
        def run(x, w, g):
            return np.concatenate([
                kernels.conv2d_backward_input(g, w, (H, H), one, one, one).ravel(),
                kernels.conv2d_backward_weight(g, x, (3, 3), one, one, one).ravel()])
        return run

    name = f"conv N={N} {C}->{F} {H}x{H} 3x3"
    forward = Case(f"{name} fwd", flops, (x, w), spec.conv2d(x64, w64, one, one, one))
    backward = Case(f"{name} bwd", 2 * flops, (x, w, g), backward_of(spec)(x64, w64, g64))
    contenders = {b: load_backend(b) for b in available_backends() if b != "loop"}
    torch_conv = torch_kernels()
    if "conv2d" in torch_conv:
        class TorchSpatial:  # the torch comparators, under the kernel names
            conv2d = staticmethod(torch_conv["conv2d"])
            conv2d_backward_input = staticmethod(torch_conv["conv2d_backward_input"])
            conv2d_backward_weight = staticmethod(torch_conv["conv2d_backward_weight"])
        contenders["torch"] = TorchSpatial
    for backend, kernels in contenders.items():
        forward.runners[backend] = lambda x, w, k=kernels: k.conv2d(x, w, one, one, one)
        backward.runners[backend] = backward_of(kernels)
    return [forward, backward]


#: every family of cases `tinytorch bench` runs, in table order
CASE_BUILDERS: list[Callable[[bool], list[Case]]] = [matmul_cases, conv_cases]


def run_case(case: Case, min_time: float) -> dict[str, Result]:
    results = {}
    for backend in BACKEND_ORDER:
        fn = case.runners.get(backend)
        if fn is None:
            continue
        time.sleep(SETTLE_SECONDS)
        m = benchmark(fn, *case.inputs, min_time=min_time, label=f"{case.name} {backend}")
        results[backend] = Result(m, close(m.result, case.reference, case.tol))
    return results


def _ratio(results: dict[str, Result], top: str, bottom: str) -> str:
    if top in results and bottom in results:
        return f"{results[bottom].time.median / results[top].time.median:.2f}x"
    return "-"


def print_rows(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    print(line(header))
    print("-" * len(line(header)))
    for row in rows:
        print(line(row))


#: contenders whose share of the FMA peak the table prints
PEAK_COLUMNS = ("native", "numpy", "torch")


def print_table(cases: list[Case], all_results: list[dict[str, Result]],
                threads: int | None = None) -> None:
    """GFLOP/s per backend, each fast contender's % of the FMA peak of ``threads`` cores
    (default: all CPUs), and the ratios."""
    backends = [b for b in BACKEND_ORDER if any(b in r for r in all_results)]
    ratios = [("native/numpy", "native", "numpy"), ("native/torch", "native", "torch"),
              ("numpy/loop", "numpy", "loop")]
    threads = threads or os.cpu_count() or 1
    per_core = fma_peak_gflops()
    peaks = [b for b in PEAK_COLUMNS if b in backends] if per_core else []
    header = (["case"] + backends + [f"{b} %pk" for b in peaks]
              + [label for label, _, _ in ratios])
    rows = []
    for case, results in zip(cases, all_results, strict=True):
        row = [case.name]
        for b in backends:
            r = results.get(b)
            row.append("-" if r is None else f"{r.gflops(case.flops):.2f}"
                       + ("" if r.correct else " WRONG") + ("~" if r.time.noisy else ""))
        for b in peaks:
            r = results.get(b)
            share = None if r is None else peak_fraction(r.gflops(case.flops), threads)
            row.append("-" if share is None else f"{100 * share:.0f}%")
        row += [_ratio(results, top, bottom) for _, top, bottom in ratios]
        rows.append(row)
    print_rows(header, rows)
    print("GFLOP/s at the median time (higher is better); a ratio x/y is how many times faster "
          "x is than y; ~ marks a noisy measurement (machine busy? run again).")
    if per_core:
        print(f"%pk: share of the measured FMA peak of {threads} core(s), "
              f"{per_core:.1f} GFLOP/s per core x {threads} = {per_core * threads:.1f} GFLOP/s.")
    if any(case.name.startswith("conv") for case in cases):
        print("conv GFLOP/s count the direct convolution's multiply-adds; where the native "
              "3x3 convolution takes Winograd F(2x2, 3x3) (from 32 channels and filters, "
              "C*F >= 2048) it does 2.25x fewer, so its %pk can pass 100.")


def run_steps(size: int, min_time: float) -> tuple[list[tuple[str, float, bool]], int]:
    """Time every Module 15 matmul step on size^3 (plus NumPy as the yardstick)."""
    from tinytorch.backends.native_support import ext

    rng = np.random.default_rng(0)
    a, b = _random(rng, size, size), _random(rng, size, size)
    a64, b64 = _f64(a, b)
    reference = a64 @ b64
    flops = matmul_flops(size, size, size)
    runners = [(f"native:{v}", lambda a, b, v=v: ext.matmul_variant(a, b, v))
               for v in ext.MATMUL_VARIANTS]
    runners.append(("numpy (BLAS)", load_backend("numpy").matmul))
    rows = []
    for label, fn in runners:
        time.sleep(SETTLE_SECONDS)
        m = benchmark(fn, a, b, min_time=min_time)
        rows.append((label, m.per_second(flops) / 1e9, close(m.result, reference)))
    return rows, flops


def print_steps(size: int, rows: list[tuple[str, float, bool]],
                threads: int | None = None) -> None:
    """The steps table; % of peak is of one core for the one-thread steps, of ``threads``
    cores (default: all CPUs) for "threaded" and NumPy."""
    print(f"\nModule 15 steps, matmul {size}x{size}x{size}:")
    first = rows[0][1]
    threads = threads or os.cpu_count() or 1
    table, previous = [], None
    for label, gflops, correct in rows:
        native_step = label.startswith("native:")
        step = "-" if previous is None or not native_step else f"{gflops / previous:.2f}x"
        cores = 1 if native_step and label != "native:threaded" else threads
        share = peak_fraction(gflops, cores)
        table.append([label, f"{gflops:.2f}" + ("" if correct else " WRONG"),
                      f"{gflops / first:.1f}x", step,
                      "-" if share is None else f"{100 * share:.0f}% of {cores}"])
        if native_step:
            previous = gflops
    print_rows(["step", "GFLOP/s", "vs naive", "vs previous step", "% of FMA peak (cores)"],
               table)


def write_png(path: str, cases: list[Case], all_results: list[dict[str, Result]],
              steps: list[tuple[str, float, bool]] | None) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(MATPLOTLIB_HINT)
        return False
    panels = 2 if steps else 1
    fig, axes = plt.subplots(panels, 1, figsize=(10, 4.5 * panels), squeeze=False)
    ax = axes[0][0]
    backends = [b for b in BACKEND_ORDER if any(b in r for r in all_results)]
    width = 0.8 / max(1, len(backends))
    for i, backend in enumerate(backends):
        xs = [c + i * width for c, r in enumerate(all_results) if backend in r]
        ys = [r[backend].gflops(case.flops)
              for case, r in zip(cases, all_results, strict=True) if backend in r]
        ax.bar(xs, ys, width, label=backend)
    ax.set_xticks([c + 0.4 - width / 2 for c in range(len(cases))])
    ax.set_xticklabels([c.name for c in cases], rotation=20, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("GFLOP/s (log)")
    ax.legend()
    if steps:
        ax = axes[1][0]
        ax.bar([label for label, _, _ in steps], [g for _, g, _ in steps])
        ax.set_yscale("log")
        ax.set_ylabel("GFLOP/s (log)")
        ax.set_title("Module 15 steps")
        ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"chart written to {path}")
    return True


def run(args: argparse.Namespace) -> int:
    if args.threads is not None:
        try:
            notes = set_threads(args.threads)
        except ValueError as exc:
            print(f"--threads: {exc}")
            return 2
        for note in notes:
            print(f"note: {note}")
    if args.png and importlib.util.find_spec("matplotlib") is None:
        print(MATPLOTLIB_HINT)  # say so before minutes of timing, not after
        return 1
    if args.png:
        problem = plot_path_problem(args.png, "--png")
        if problem:
            print(problem)
            return 2
    if args.steps_size is not None and args.steps_size < 1:
        print(f"--steps-size must be >= 1, got {args.steps_size}")
        return 2
    for key, value in describe(peak=True).items():
        print(f"{key}: {value}")
    min_time = 0.15 if args.quick else 0.5
    cases = [case for build in CASE_BUILDERS for case in build(args.quick)]
    all_results = [run_case(case, min_time) for case in cases]
    print()
    print_table(cases, all_results, args.threads)
    wrong = sum(not r.correct for results in all_results for r in results.values())

    steps = None
    if args.steps:
        if "native" not in available_backends():
            print("--steps needs the native backend: build it with `pip install .`")
            return 1
        size = args.steps_size or (512 if args.quick else 1024)
        steps, _ = run_steps(size, min_time)
        print_steps(size, steps, args.threads)
        wrong += sum(not ok for _, _, ok in steps)

    if args.png and not write_png(args.png, cases, all_results, steps):
        return 1
    if wrong:
        print(f"\n{wrong} result(s) disagree with the float64 reference (marked WRONG).")
        return 1
    return 0


def _thread_count(text: str) -> int:
    """argparse type for --threads: 1 .. the number of CPUs (tens of thousands of threads
    would stall the whole machine, not measure anything)."""
    cpus = os.cpu_count() or 1
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 1 <= value <= cpus:
        raise argparse.ArgumentTypeError(
            f"must be between 1 and the {cpus} CPUs of this machine, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench", help="time the backends against each other (Module 15 Acceleration)",
        description="Time matmul and convolution on every backend (and PyTorch when "
                    "installed); print GFLOP/s.")
    parser.add_argument("--quick", action="store_true", help="fewer, smaller shapes")
    parser.add_argument("--steps", action="store_true",
                        help="also time the Module 15 matmul steps (naive ... threaded)")
    parser.add_argument("--steps-size", type=count(8192), default=None, metavar="N",
                        help="matrix size N for --steps (N x N x N; default 1024, 512 with "
                             "--quick; the naive step alone takes seconds at 1024)")
    parser.add_argument("--threads", type=_thread_count, default=None, metavar="N",
                        help="threads for native, torch and NumPy's BLAS, between 1 and the "
                             "number of CPUs (default: all cores)")
    parser.add_argument("--png", metavar="PATH", help="also write a bar chart (needs matplotlib)")
    parser.set_defaults(func=run)
