"""What machine a measurement came from: CPU, SIMD level, caches, BLAS, thread counts.

Every table of numbers in TinyTorch names its machine (``describe()``), because
the same code runs at different speeds on an AVX2 and an AVX-512 CPU.
"""

from __future__ import annotations

import importlib.util
import os
import platform

import numpy as np

__all__ = ["cache_sizes", "cpu_flags", "cpu_model", "describe", "fma_peak_gflops", "gemm_blocking",
           "numpy_blas", "peak_fraction", "simd_level"]


def numpy_blas() -> str:
    """Name and version of the BLAS NumPy was built against."""
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        return "unknown"


def _cpuinfo_field(name: str) -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == name:
                    return value.strip()
    except OSError:
        return None
    return None


def cpu_model() -> str:
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    return set((_cpuinfo_field("flags") or "").split())


def simd_level() -> str:
    """The widest vector instructions this CPU runs: 'AVX-512 + VNNI', 'AVX2', ..."""
    flags = cpu_flags()
    if "avx512f" in flags:
        return "AVX-512" + (" + VNNI" if "avx512_vnni" in flags else "")
    if "avx2" in flags and "fma" in flags:
        return "AVX2" + (" + AVX-VNNI" if "avx_vnni" in flags else "")
    return "scalar/SSE" if flags else "unknown"


def cache_sizes() -> dict[str, int]:
    """Bytes per core of L1d and L2 and the total L3, from sysfs (empty where unknown)."""
    sizes: dict[str, int] = {}
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return sizes
    for entry in entries:
        if not entry.startswith("index"):
            continue
        try:
            def read(name: str, entry: str = entry) -> str:
                with open(os.path.join(base, entry, name), encoding="ascii") as f:
                    return f.read().strip()
            level, kind, size = read("level"), read("type"), read("size")
        except OSError:
            continue
        if kind == "Instruction":
            continue
        scale = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(size[-1:], 1)
        number = int(size[:-1]) if size[-1:] in "KMG" else int(size)
        sizes["L1d" if level == "1" else f"L{level}"] = number * scale
    return sizes


def _kib(n: int) -> str:
    return f"{n // 1024**2} MiB" if n >= 1024**2 and n % 1024**2 == 0 else f"{n // 1024} KiB"


_PEAK: dict[str, float] = {}


def fma_peak_gflops() -> float | None:
    """Measured float32 FMA peak of one core in GFLOP/s (None without the native build).

    A native loop of independent vector FMAs on registers (``_native.fma_peak_gflops``),
    run three times, the best kept: the speed limit every kernel's "% of peak" uses.
    Measured once per process.
    """
    if "per_core" not in _PEAK:
        from tinytorch.backends import available_backends
        if "native" not in available_backends():
            return None
        from tinytorch.backends.native_support import ext
        _PEAK["per_core"] = max(ext.fma_peak_gflops(0.1) for _ in range(3))
    return _PEAK["per_core"]


def peak_fraction(gflops: float, threads: int) -> float | None:
    """``gflops`` as a fraction of the FMA peak of ``threads`` cores (None if unknown)."""
    per_core = fma_peak_gflops()
    return None if per_core is None else gflops / (per_core * max(1, threads))


def gemm_blocking() -> dict | None:
    """The native sgemm's register tile and cache blocking (None without the native build)."""
    from tinytorch.backends import available_backends
    if "native" not in available_backends():
        return None
    from tinytorch.backends.native_support import ext
    return dict(ext.gemm_blocking())


def describe(peak: bool = False) -> dict[str, str]:
    """One line per contender and per hardware fact, for the head of every results table.

    ``peak=True`` also measures the FMA peak (about 0.3 s; see :func:`fma_peak_gflops`).
    """
    info = {"cpu": f"{cpu_model()}, {os.cpu_count()} CPUs, {simd_level()}"}
    caches = cache_sizes()
    if caches:
        info["caches"] = ", ".join(f"{k} {_kib(v)}" for k, v in caches.items())
    info["numpy"] = f"{np.__version__} ({numpy_blas()})"
    from tinytorch.backends import available_backends
    if "native" in available_backends():
        from tinytorch.backends.native_support import build_info, ext
        b = build_info()
        info["native"] = (f"{b['simd']}{' + VNNI' if b['vnni'] else ''}, "
                          f"{ext.get_num_threads()} threads, "
                          f"{'-march=native' if b['native_arch'] else 'portable'}")
        g = ext.gemm_blocking()
        pairs = (f" ({g['pair_tile']} pair tile for large products, threads take its blocks "
                 f"{'as they become free' if g.get('schedule') == 'dynamic' else 'statically'})"
                 if g.get("pair_tile") else "")
        info["native sgemm"] = (f"register tile {g['mr']}x{g['nr']}{pairs}, KC={g['kc']} "
                                f"MC={g['mc']} NC={g['nc']} (from L1d {_kib(g['l1d'])}, "
                                f"L2 {_kib(g['l2'])}, L3 {_kib(g['l3'])}: {g['source']})")
        if peak:
            per_core = fma_peak_gflops()
            cores = os.cpu_count() or 1
            info["fma peak"] = (f"{per_core:.1f} GFLOP/s per core (measured), "
                                f"{per_core * cores:.1f} for {cores} cores")
    if importlib.util.find_spec("torch") is not None:
        import torch

        info["torch"] = f"{torch.__version__}, {torch.get_num_threads()} threads"
    return info
