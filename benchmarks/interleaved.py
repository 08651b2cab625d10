"""Interleaved comparison (Module 15): native sgemm and conv vs OpenBLAS and torch, one process.

On a shared machine a single timing of each library, one after the other, mostly measures who
else was running at the time. This script times every contender in turn, round after round
(``--rounds``), and reports the median over rounds of each one's median time, with the range, so
all contenders see the same background load::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/interleaved.py --conv
    ... interleaved.py native native@512,256,2048 numpy torch     # the same build, two blockings
    ... interleaved.py --build old=/tmp/old/_native.cpython-311-x86_64-linux-gnu.so -- old native

A contender is ``native`` (the installed build), ``numpy``, ``torch``, a name given with
``--build NAME=PATH`` (another compiled ``_native``, e.g. main's, loaded side by side), and any
native one with ``@kc,mc,nc`` (``_native.set_gemm_blocking``; 0 = derived) and with options
after colons: ``:6x16`` switches the AVX2 12 x 8 pair tile off (``set_gemm_pair_tile(False)``,
every product on the MR x NR tile), ``:static`` gives each thread one fixed range of rows of a
large product (``set_gemm_dynamic(False)``) instead of handing out blocks as threads become
free, ``:im2col`` runs the conv forward through im2col + sgemm instead of the default
algorithm, and ``:direct`` runs the conv forward and input gradient through the direct
convolution (the default for this 3x3 layer is Winograd F(2x2, 3x3)). Every contender uses
``--threads`` threads (default 2). Conv GFLOP/s count the direct convolution's multiply-adds
(2*N*F*OH*OW*C*9): Winograd does 2.25x fewer, so its rate can exceed the FMA peak.
Every result is checked against float64::

    ... interleaved.py --rounds 9 --conv native native:direct native:6x16:im2col numpy torch
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time

import numpy as np

from tinytorch.utils.benchmark import benchmark, set_threads
from tinytorch.utils.machine import describe, fma_peak_gflops

SHAPES = [(1024, 1024, 1024), (256, 256, 256), (128, 784, 256), (64, 64, 64)]


def load_build(name: str, path: str):
    spec = importlib.util.spec_from_file_location(f"build_{name}._native", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("contenders", nargs="*", default=["native", "numpy", "torch"])
    p.add_argument("--build", action="append", default=[], metavar="NAME=PATH")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--conv", action="store_true", help="also conv N=32, 64->64, 32x32, 3x3")
    p.add_argument("--shapes", default=None, help="MxKxN,... (default: the issue's four)")
    p.add_argument("--best", action="store_true",
                   help="report the fastest round instead of the median (a loaded machine: "
                        "the least disturbed round; not a number to quote as typical)")
    args = p.parse_args()
    import torch

    from tinytorch import _native
    set_threads(args.threads)
    builds = {"native": _native}
    for spec in args.build:
        name, path = spec.split("=", 1)
        builds[name] = load_build(name, path)
        builds[name].set_num_threads(args.threads)
    for key, value in describe().items():
        print(f"{key}: {value}")
    peak = (fma_peak_gflops() or 0.0) * args.threads
    shapes = ([tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
              if args.shapes else SHAPES)

    def native(contender: str):
        base, *options = contender.split(":")
        unknown = set(options) - {"6x16", "static", "im2col", "direct"}
        if unknown:
            raise SystemExit(f"interleaved.py: unknown option(s) {sorted(unknown)} in "
                             f"{contender!r}; valid: :6x16, :static, :im2col, :direct")
        name, _, blocking = base.partition("@")
        module = builds.get(name)
        if module is None:
            return None, None, set()
        return (module, tuple(int(v) for v in blocking.split(",")) if blocking else (0, 0, 0),
                set(options))

    rng = np.random.default_rng(0)
    cases = []
    for M, K, N in shapes:
        a, b = (rng.standard_normal(s).astype(np.float32) for s in ((M, K), (K, N)))
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        calls = {"numpy": lambda a=a, b=b: np.matmul(a, b), "torch": lambda ta=ta, tb=tb: ta @ tb}
        cases.append((f"matmul {M}x{K}x{N}", 2 * M * N * K, calls, a.astype(np.float64) @ b,
                      lambda m, opts, a=a, b=b: (lambda: m.matmul(a, b))))
    if args.conv:
        n, c, f, h, one = 32, 64, 64, 32, (1, 1)
        x, g = rng.standard_normal((n, c, h, h)), rng.standard_normal((n, f, h, h))
        w = rng.standard_normal((f, c, 3, 3)) * 0.1
        x, g, w = (v.astype(np.float32) for v in (x, g, w))
        tx, tg, tw = map(torch.from_numpy, (x, g, w))
        flops = 2 * n * f * h * h * c * 9
        ref_f = torch.nn.functional.conv2d(tx.double(), tw.double(), padding=1).numpy()
        cases.append(("conv fwd", flops, {"torch": lambda: torch.nn.functional.conv2d(
            tx, tw, padding=1)}, ref_f, lambda m, opts: (
                (lambda: m.conv2d(x, w, one, one, one, "im2col")) if "im2col" in opts
                else (lambda: m.conv2d(x, w, one, one, one, "direct")) if "direct" in opts
                else (lambda: m.conv2d(x, w, one, one, one)))))
        gi = torch.nn.grad.conv2d_input(tx.shape, tw.double(), tg.double(), padding=1).numpy()
        gw = torch.nn.grad.conv2d_weight(tx.double(), tw.shape, tg.double(), padding=1).numpy()
        ref_b = np.concatenate([gi.ravel(), gw.ravel()])
        cases.append(("conv bwd", 2 * flops, {"torch": lambda: torch.cat([
            torch.nn.grad.conv2d_input(tx.shape, tw, tg, padding=1).ravel(),
            torch.nn.grad.conv2d_weight(tx, tw.shape, tg, padding=1).ravel()])}, ref_b,
            lambda m, opts: (lambda: np.concatenate([
                m.conv2d_backward_input(g, w, (h, h), one, one, one,
                                        *(["direct"] if "direct" in opts else [])).ravel(),
                m.conv2d_backward_weight(g, x, (3, 3), one, one, one).ravel()]))))
    results: dict[tuple[str, str], list[float]] = {}
    for name, flops, calls, ref, native_call in cases:
        for _ in range(args.rounds):
            for contender in args.contenders:
                module, blocking, options = native(contender)
                if module is not None:
                    if hasattr(module, "set_gemm_blocking"):  # builds before it: fixed tiles
                        module.set_gemm_blocking(*blocking)
                    if hasattr(module, "set_gemm_pair_tile"):
                        module.set_gemm_pair_tile("6x16" not in options)
                    if hasattr(module, "set_gemm_dynamic"):
                        module.set_gemm_dynamic("static" not in options)
                    fn = native_call(module, options)
                elif contender in calls:
                    fn = calls[contender]
                else:
                    continue
                # let the previous library's threads go idle: OpenBLAS's keep
                # spinning for ~0.11 s after a call (measured), and one still
                # spinning takes a core from whoever runs next
                time.sleep(0.25)
                m = benchmark(fn, min_time=0.15)
                out = np.asarray(m.result, dtype=np.float64)
                scale = np.abs(ref).max()
                assert np.abs(out - ref).max() <= 1e-4 * scale, f"{name} {contender}: WRONG"
                seconds = m.min if args.best else m.median
                results.setdefault((name, contender), []).append(flops / seconds / 1e9)
    for module in builds.values():
        if hasattr(module, "set_gemm_blocking"):
            module.set_gemm_blocking()
        if hasattr(module, "set_gemm_pair_tile"):
            module.set_gemm_pair_tile(True)
        if hasattr(module, "set_gemm_dynamic"):
            module.set_gemm_dynamic(True)
    width = max(12, *(len(c) + 2 for c in args.contenders))
    print(f"\n{'best' if args.best else 'median'} GFLOP/s over {args.rounds} interleaved rounds, "
          f"{args.threads} threads; "
          f"[range]; (% of the {peak:.1f} GFLOP/s FMA peak of {args.threads} cores)")
    if args.conv:
        print("conv: GFLOP/s count the direct convolution's multiply-adds; Winograd (the "
              "default for this layer) does 2.25x fewer, so its % can pass 100")
    print(f"{'case':20}" + "".join(f"{c:>{width}}" for c in args.contenders))
    for name, *_ in cases:
        cells, ranges = [], []
        for c in args.contenders:
            v = results.get((name, c))
            typical = (max(v) if args.best else statistics.median(v)) if v else 0.0
            cells.append(f"{typical:.1f} ({100 * typical / peak:.0f}%)"
                         if v and peak else f"{typical:.1f}" if v else "-")
            ranges.append(f"[{min(v):.0f}-{max(v):.0f}]" if v else "")
        print(f"{name:20}" + "".join(f"{x:>{width}}" for x in cells))
        print(f"{'':20}" + "".join(f"{x:>{width}}" for x in ranges))
    # Paired ratios: each round's speed over the reference's in the same round.
    # The load on a shared machine drifts over seconds to minutes, and every
    # contender of one round sees nearly the same load, so the median of the
    # per-round ratios is steadier than the ratio of the two medians above.
    print("\nper-round ratio to the reference (OpenBLAS via numpy for matmul, torch for conv): "
          "median [min-max] over rounds")
    print(f"{'case':20}" + "".join(f"{c:>{width}}" for c in args.contenders))
    for name, *_ in cases:
        ref = "torch" if name.startswith("conv") or "numpy" not in args.contenders else "numpy"
        base = results.get((name, ref))
        cells, ranges = [], []
        for c in args.contenders:
            v = results.get((name, c))
            if not v or not base or c == ref:
                cells.append("-" if c != ref or not base else "ref")
                ranges.append("")
                continue
            ratios = [x / y for x, y in zip(v, base, strict=True)]
            cells.append(f"{statistics.median(ratios):.2f}x")
            ranges.append(f"[{min(ratios):.2f}-{max(ratios):.2f}]")
        print(f"{name:20}" + "".join(f"{x:>{width}}" for x in cells))
        print(f"{'':20}" + "".join(f"{x:>{width}}" for x in ranges))


if __name__ == "__main__":
    main()
