"""``tinytorch doctor`` (Module 01 Setup): is this machine ready for the course?

Prints Python, NumPy and its BLAS, the native build (SIMD level, OpenMP
threads), the backends that load and the default one, then runs every
available backend on a small matmul and softmax. Exits 1 and says how to fix
it when something a student needs is broken.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys

import numpy as np

from tinytorch.utils.machine import numpy_blas

MIN_PYTHON = (3, 10)


class Report:
    """Collects check results; ``failed`` decides the exit code."""

    def __init__(self) -> None:
        self.failed = 0

    def ok(self, label: str, detail: str) -> None:
        print(f"[ OK ] {label:<16} {detail}")

    def info(self, label: str, detail: str) -> None:
        print(f"[    ] {label:<16} {detail}")

    def fail(self, label: str, detail: str, fix: str) -> None:
        self.failed += 1
        print(f"[FAIL] {label:<16} {detail}")
        print(f"       {'fix:':<16} {fix}")


def check_python(report: Report) -> None:
    version = platform.python_version()
    if sys.version_info[:2] >= MIN_PYTHON:
        report.ok("python", f"{version} ({sys.executable})")
    else:
        need = ".".join(map(str, MIN_PYTHON))
        report.fail("python", f"{version} is too old", f"install Python >= {need}")


def check_numpy(report: Report) -> None:
    report.ok("numpy", f"{np.__version__}, BLAS: {numpy_blas()}")
    from tinytorch._allocator import is_tuned

    report.info("allocator", "glibc malloc keeps freed arrays for reuse" if is_tuned() else
                "malloc not tuned (TINYTORCH_MALLOC_TUNING=0 or not glibc)")
    tuned = [f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS",
                                              "OMP_NUM_THREADS") if k in os.environ]
    if tuned:
        report.info("blas env", ", ".join(tuned))


def check_native(report: Report) -> None:
    from tinytorch.backends import BackendUnavailableError, load_backend

    try:
        load_backend("native")
    except BackendUnavailableError as exc:
        report.fail("native build", "missing or broken", str(exc))
        return
    from tinytorch.backends.native_support import build_info

    info = build_info()
    simd = info["simd"] + (" + VNNI" if info["vnni"] else "")
    arch = "-march=native" if info["native_arch"] else "portable"
    threads = f"OpenMP, {info['max_threads']} threads" if info["openmp"] else "no OpenMP, 1 thread"
    report.ok("native build", f"SIMD {simd}, {threads}, {arch}, {info['compiler']}")
    from tinytorch.utils.machine import describe
    sgemm = describe().get("native sgemm")
    if sgemm:
        report.info("native sgemm", sgemm)


def check_backends(report: Report) -> None:
    from tinytorch.backends import BACKEND_NAMES, available_backends, get_backend

    available = available_backends()
    missing = [n for n in BACKEND_NAMES if n not in available]
    line = ", ".join(available) + (f" (unavailable: {', '.join(missing)})" if missing else "")
    report.ok("backends", line)
    try:
        default = get_backend()
    except ValueError as exc:
        report.fail("default backend", str(exc),
                    "unset TINYTORCH_BACKEND or set it to a valid name")
        return
    if default in available:
        report.ok("default backend", default)
    else:
        report.fail("default backend", f"{default} is selected but cannot load",
                    "fix the native build (above) or set TINYTORCH_BACKEND=numpy")


def check_kernels(report: Report) -> None:
    """Every available backend must agree with a float64 reference on small inputs."""
    from tinytorch.backends import available_backends, load_backend

    rng = np.random.default_rng(0)
    a = rng.standard_normal((7, 13)).astype(np.float32)
    b = rng.standard_normal((13, 5)).astype(np.float32)
    x = rng.standard_normal((3, 11)).astype(np.float32)
    want_mm = a.astype(np.float64) @ b.astype(np.float64)
    shifted = np.exp(x - x.max(axis=1, keepdims=True)).astype(np.float64)
    want_sm = shifted / shifted.sum(axis=1, keepdims=True)
    for name in available_backends():
        backend = load_backend(name)
        try:
            mm_ok = np.allclose(backend.matmul(a, b), want_mm, rtol=1e-4, atol=1e-5)
            sm_ok = np.allclose(backend.softmax(x, 1), want_sm, rtol=1e-5, atol=1e-6)
        except NotImplementedError as exc:  # a student release: an exercise not written yet
            report.info(f"kernels/{name}", f"not written yet - {exc}")
            continue
        except Exception as exc:  # report any crash in a kernel as a failed check
            report.fail(f"kernels/{name}", f"raised {type(exc).__name__}: {exc}",
                        "reinstall with `pip install --force-reinstall .` and run the tests")
            continue
        if mm_ok and sm_ok:
            report.ok(f"kernels/{name}", "matmul and softmax agree with the float64 reference")
        else:
            report.fail(f"kernels/{name}", f"wrong results (matmul ok: {mm_ok}, softmax ok: "
                        f"{sm_ok})", "rebuild with `pip install --force-reinstall .` "
                        "and report the output of `pytest tests/`")


def check_optional(report: Report) -> None:
    for module, purpose in (("pytest", "running the tests: pip install '.[test]'"),
                            ("torch", "comparing with PyTorch in tests (optional)"),
                            ("pytest_benchmark", "benchmarks: pip install '.[bench]'")):
        found = importlib.util.find_spec(module) is not None
        report.info(module, ("installed" if found else "not installed") + f" - {purpose}")


def run(args: argparse.Namespace) -> int:
    from tinytorch import __version__

    print(f"TinyTorch {__version__} doctor")
    report = Report()
    check_python(report)
    check_numpy(report)
    check_native(report)
    check_backends(report)
    check_kernels(report)
    check_optional(report)
    if report.failed:
        print(f"\n{report.failed} problem(s) found: follow the 'fix:' lines above, "
              "then run `tinytorch doctor` again.")
        return 1
    print("\nAll checks passed: you are ready for Module 02.")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check the installation (Module 01 Setup)",
        description="Check Python, NumPy/BLAS, the native build and every backend.")
    parser.set_defaults(func=run)
