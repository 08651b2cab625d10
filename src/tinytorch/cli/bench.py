"""``tinytorch bench`` (Module 15 Acceleration): how fast is each backend here?

Times every available backend (and PyTorch when installed) on a list of
*cases* and prints GFLOP/s with the ratios that tell the Module 15 story::

    tinytorch bench                 # matmul shapes, every backend
    tinytorch bench --steps         # + naive -> reordered -> blocked -> packed+SIMD -> threads
    tinytorch bench --quick --png bench.png --threads 1

A case is a named computation with inputs, a FLOP count, a float64 reference
and one callable per backend; :func:`matmul_cases` builds the matmul ones and
other kernels add their own list to :data:`CASE_BUILDERS`. Every result is
checked against the reference: a wrong answer is marked WRONG and makes the
command exit with status 1. Time NumPy fairly by running with
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE``.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tinytorch.backends import available_backends, load_backend

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
    inputs: tuple[np.ndarray, ...]
    reference: np.ndarray
    runners: dict[str, Callable[..., np.ndarray]] = field(default_factory=dict)
    tol: float = 1e-4


@dataclass
class Result:
    seconds: float  # fastest call
    correct: bool

    def gflops(self, flops: int) -> float:
        return flops / self.seconds / 1e9


def _torch_matmul() -> Callable[..., np.ndarray] | None:
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    def run(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.matmul(torch.from_numpy(a), torch.from_numpy(b)).numpy()

    return run


def _matmul_inputs(M: int, K: int, N: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    return (a, b), a.astype(np.float64) @ b.astype(np.float64)


def matmul_cases(quick: bool) -> list[Case]:
    """a: (M, K) @ b: (K, N) on every backend; loop only where it finishes quickly."""
    shapes = ([(64, 64, 64), (128, 256, 10), (256, 256, 256)] if quick else
              [(32, 32, 32), (64, 64, 64), (128, 256, 10), (128, 784, 256), (256, 256, 256),
               (1024, 1024, 1024)])
    torch_run = _torch_matmul()
    cases = []
    for M, K, N in shapes:
        inputs, reference = _matmul_inputs(M, K, N)
        case = Case(f"matmul {M}x{K}x{N}", 2 * M * K * N, inputs, reference)
        for name in available_backends():
            if name == "loop" and case.flops > LOOP_MAX_FLOPS:
                continue
            case.runners[name] = load_backend(name).matmul
        if torch_run is not None:
            case.runners["torch"] = torch_run
        cases.append(case)
    return cases


def _torch_conv() -> tuple[Callable, Callable] | None:
    """(forward, backward) with PyTorch's oneDNN convolution, or None without torch."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch
    import torch.nn.functional as F
    from torch.nn.grad import conv2d_input, conv2d_weight

    def forward(x, w):
        with torch.no_grad():
            return F.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1).numpy()

    def backward(x, w, g):
        with torch.no_grad():
            tx, tw, tg = (torch.from_numpy(a) for a in (x, w, g))
            gx = conv2d_input(tx.shape, tw, tg, padding=1)
            gw = conv2d_weight(tx, tw.shape, tg, padding=1)
            return np.concatenate([gx.numpy().ravel(), gw.numpy().ravel()])

    return forward, backward


def conv_cases(quick: bool) -> list[Case]:
    """3x3 convolution, padding 1: forward, and backward (input + weight gradients)."""
    N, C, F, H = (8, 32, 32, 16) if quick else (32, 64, 64, 32)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, H)).astype(np.float32)
    w = (rng.standard_normal((F, C, 3, 3)) * 0.1).astype(np.float32)
    g = rng.standard_normal((N, F, H, H)).astype(np.float32)
    one = (1, 1)
    flops = 2 * N * F * H * H * C * 9
    reference_backend = load_backend("numpy")
    x64, w64, g64 = (a.astype(np.float64) for a in (x, w, g))
    forward_ref = reference_backend.conv2d(x64, w64, one, one, one)
    backward_ref = np.concatenate([
        reference_backend.conv2d_backward_input(g64, w64, (H, H), one, one, one).ravel(),
        reference_backend.conv2d_backward_weight(g64, x64, (3, 3), one, one, one).ravel()])
    name = f"conv N={N} {C}->{F} {H}x{H} 3x3"
    forward = Case(f"{name} fwd", flops, (x, w), forward_ref)
    backward = Case(f"{name} bwd", 2 * flops, (x, w, g), backward_ref)
    for backend in available_backends():
        if backend == "loop":  # minutes per call at these sizes
            continue
        kernels = load_backend(backend)
        forward.runners[backend] = lambda x, w, k=kernels: k.conv2d(x, w, one, one, one)
        backward.runners[backend] = lambda x, w, g, k=kernels: np.concatenate([
            k.conv2d_backward_input(g, w, (H, H), one, one, one).ravel(),
            k.conv2d_backward_weight(g, x, (3, 3), one, one, one).ravel()])
    torch_conv = _torch_conv()
    if torch_conv is not None:
        forward.runners["torch"], backward.runners["torch"] = torch_conv
    return [forward, backward]


#: every family of cases `tinytorch bench` runs, in table order
CASE_BUILDERS: list[Callable[[bool], list[Case]]] = [matmul_cases, conv_cases]


def time_call(fn: Callable[..., np.ndarray], inputs: Sequence[np.ndarray],
              budget: float) -> tuple[float, np.ndarray]:
    """Fastest time of one call (s) within about ``budget`` seconds, and the last result.

    Calls are batched so each timed round lasts >= 2 ms (timer resolution and
    call overhead stop mattering); the minimum over rounds is the time least
    disturbed by the rest of the machine.
    """
    start = time.perf_counter()
    result = fn(*inputs)  # warm-up: page faults, thread start, packing buffers
    once = time.perf_counter() - start
    if once >= budget:  # seconds per call (the naive loop): warm-up effects are noise
        return once, result
    start = time.perf_counter()
    result = fn(*inputs)
    once = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(0.002 / once))
    rounds = max(3, min(50, int(budget / (once * calls))))
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            result = fn(*inputs)
        best = min(best, (time.perf_counter() - start) / calls)
    return best, result


def run_case(case: Case, budget: float) -> dict[str, Result]:
    results = {}
    for backend in BACKEND_ORDER:
        fn = case.runners.get(backend)
        if fn is None:
            continue
        time.sleep(SETTLE_SECONDS)
        seconds, out = time_call(fn, case.inputs, budget)
        scale = max(1.0, float(np.abs(case.reference).max(initial=0.0)))
        correct = (out.shape == case.reference.shape and
                   np.allclose(out, case.reference, rtol=case.tol, atol=case.tol * scale))
        results[backend] = Result(seconds, correct)
    return results


def _ratio(results: dict[str, Result], top: str, bottom: str) -> str:
    if top in results and bottom in results:
        return f"{results[bottom].seconds / results[top].seconds:.2f}x"
    return "-"


def print_table(cases: list[Case], all_results: list[dict[str, Result]]) -> None:
    backends = [b for b in BACKEND_ORDER if any(b in r for r in all_results)]
    ratios = [("native/numpy", "native", "numpy"), ("native/torch", "native", "torch"),
              ("numpy/loop", "numpy", "loop")]
    header = ["case"] + backends + [label for label, _, _ in ratios]
    rows = []
    for case, results in zip(cases, all_results, strict=True):
        row = [case.name]
        for b in backends:
            r = results.get(b)
            row.append("-" if r is None else
                       f"{r.gflops(case.flops):.2f}" + ("" if r.correct else " WRONG"))
        row += [_ratio(results, top, bottom) for _, top, bottom in ratios]
        rows.append(row)
    _print_rows(header, rows)
    print("GFLOP/s (higher is better); a ratio x/y is how many times faster x is than y.")


def _print_rows(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(header, widths, strict=True)))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))))


def run_steps(size: int, budget: float) -> tuple[list[tuple[str, float, bool]], int]:
    """Time every Module 15 matmul step on size^3 (plus NumPy as the yardstick)."""
    native = load_backend("native")
    (a, b), reference = _matmul_inputs(size, size, size)
    flops = 2 * size**3
    runners = [(f"native:{v}", lambda a, b, v=v: native._native.matmul_variant(a, b, v))
               for v in native._native.MATMUL_VARIANTS]
    runners.append(("numpy (BLAS)", load_backend("numpy").matmul))
    rows = []
    for label, fn in runners:
        time.sleep(SETTLE_SECONDS)
        seconds, out = time_call(fn, (a, b), budget)
        scale = max(1.0, float(np.abs(reference).max()))
        correct = bool(np.allclose(out, reference, rtol=1e-4, atol=1e-4 * scale))
        rows.append((label, flops / seconds / 1e9, correct))
    return rows, flops


def print_steps(size: int, rows: list[tuple[str, float, bool]]) -> None:
    print(f"\nModule 15 steps, matmul {size}x{size}x{size}:")
    first = rows[0][1]
    table, previous = [], None
    for label, gflops, correct in rows:
        native_step = label.startswith("native:")
        step = "-" if previous is None or not native_step else f"{gflops / previous:.2f}x"
        table.append([label, f"{gflops:.2f}" + ("" if correct else " WRONG"),
                      f"{gflops / first:.1f}x", step])
        if native_step:
            previous = gflops
    _print_rows(["step", "GFLOP/s", "vs naive", "vs previous step"], table)


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


def set_threads(n: int) -> None:
    """Use n threads in native, torch and (through threadpoolctl, if installed) NumPy's BLAS."""
    if "native" in available_backends():
        load_backend("native")._native.set_num_threads(n)
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(n)
    if importlib.util.find_spec("threadpoolctl") is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)  # kept for the rest of the process
    else:
        print(f"note: NumPy's BLAS keeps its own thread count (install threadpoolctl, or set "
              f"OPENBLAS_NUM_THREADS={n} before starting, to limit it)")


def _describe_setup() -> None:
    from tinytorch.cli.doctor import numpy_blas

    parts = [f"numpy {np.__version__} ({numpy_blas()})"]
    if "native" in available_backends():
        info = load_backend("native").build_info()
        threads = load_backend("native")._native.get_num_threads()
        parts.append(f"native {info['simd']}, {threads} threads")
    if importlib.util.find_spec("torch") is not None:
        import torch

        parts.append(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("; ".join(parts))


def run(args: argparse.Namespace) -> int:
    if args.threads is not None:
        if args.threads < 1:
            print(f"--threads must be >= 1, got {args.threads}")
            return 2
        set_threads(args.threads)
    if args.png and importlib.util.find_spec("matplotlib") is None:
        print(MATPLOTLIB_HINT)  # say so before minutes of timing, not after
        return 1
    if args.steps_size is not None and args.steps_size < 1:
        print(f"--steps-size must be >= 1, got {args.steps_size}")
        return 2
    _describe_setup()
    budget = 0.15 if args.quick else 0.5
    cases = [case for build in CASE_BUILDERS for case in build(args.quick)]
    all_results = []
    for case in cases:
        all_results.append(run_case(case, budget))
    print()
    print_table(cases, all_results)
    wrong = sum(not r.correct for results in all_results for r in results.values())

    steps = None
    if args.steps:
        if "native" not in available_backends():
            print("--steps needs the native backend: build it with `pip install .`")
            return 1
        size = args.steps_size or (512 if args.quick else 1024)
        steps, _ = run_steps(size, budget)
        print_steps(size, steps)
        wrong += sum(not ok for _, _, ok in steps)

    if args.png and not write_png(args.png, cases, all_results, steps):
        return 1
    if wrong:
        print(f"\n{wrong} result(s) disagree with the float64 reference (marked WRONG).")
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench", help="time the backends against each other (Module 15 Acceleration)",
        description="Time matmul on every backend (and PyTorch when installed); print GFLOP/s.")
    parser.add_argument("--quick", action="store_true", help="fewer, smaller shapes")
    parser.add_argument("--steps", action="store_true",
                        help="also time the Module 15 matmul steps (naive ... threaded)")
    parser.add_argument("--steps-size", type=int, default=None, metavar="N",
                        help="matrix size N for --steps (N x N x N; default 1024, 512 with "
                             "--quick; the naive step alone takes seconds at 1024)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="threads for native, torch and NumPy's BLAS (default: all cores)")
    parser.add_argument("--png", metavar="PATH", help="also write a bar chart (needs matplotlib)")
    parser.set_defaults(func=run)
