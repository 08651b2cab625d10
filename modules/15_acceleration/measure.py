"""Module 15 systems questions, measured: the speed limits of this machine and the road to them.

Run with ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python modules/15_acceleration/measure.py``
(``--quick`` for 512^3 instead of 1024^3). Prints the machine, its memory bandwidth,
the roofline intensity of the course's GEMM shapes, the five steps of the matmul road and
the backend table of ``tinytorch bench`` (matmul and convolution, vs NumPy and PyTorch).
"""

import sys

import numpy as np

from tinytorch.backends import available_backends
from tinytorch.backends.linalg.interface import matmul_flops
from tinytorch.cli import bench
from tinytorch.utils.benchmark import benchmark
from tinytorch.utils.machine import describe

quick = "--quick" in sys.argv
for key, value in describe().items():
    print(f"{key}: {value}")

src = np.ones(2**26, np.float32)  # 256 MiB: far bigger than any cache
dst = np.empty_like(src)
copy = benchmark(np.copyto, dst, src, min_time=1.0)
bandwidth = 2 * src.nbytes / copy.median  # every byte is read once and written once
print(f"\nmemory bandwidth (copy 256 MiB): {bandwidth / 1e9:.1f} GB/s  [{copy}]")

print("\narithmetic intensity of float32 GEMMs (FLOPs per byte of A, B and C moved once):")
for M, K, N in [(1024, 1024, 1024), (256, 256, 256), (128, 784, 256), (128, 256, 10)]:
    intensity = matmul_flops(M, K, N) / (4 * (M * K + K * N + M * N))
    print(f"  {M}x{K}x{N}: {intensity:6.1f} FLOP/byte -> at most "
          f"{intensity * bandwidth / 1e9:7.0f} GFLOP/s from DRAM")

if "native" in available_backends():
    size = 512 if quick else 1024
    rows, _ = bench.run_steps(size, min_time=0.3)
    bench.print_steps(size, rows)

cases = [case for build in bench.CASE_BUILDERS for case in build(quick)]
results = [bench.run_case(case, 0.3) for case in cases]
print()
bench.print_table(cases, results)
