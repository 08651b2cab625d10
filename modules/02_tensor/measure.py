"""Module 02 systems questions, measured: memory, memory-bound ops, views, loop vs numpy."""


import numpy as np

import tinytorch as tt
from tinytorch.backends.linalg.interface import matmul_flops
from tinytorch.utils.benchmark import benchmark

a, b = tt.randn(1000, 1000), tt.randn(1000, 1000)
print(f"1000x1000 bytes: float32 {a.data.nbytes:,}, float64 {a.double().data.nbytes:,}")
t_add, t_np = benchmark(lambda: a + b).median, benchmark(lambda: a.data + b.data).median
print(f"a + b (1M float32): tinytorch {t_add * 1e6:.0f} us, numpy {t_np * 1e6:.0f} us, "
      f"{12e6 / t_add / 1e9:.0f} GB/s moved")
print(f"a.T (view) {benchmark(lambda: a.T).median * 1e6:.1f} us, contiguous copy "
      f"{benchmark(lambda: np.ascontiguousarray(a.T.data)).median * 1e6:.0f} us")
m, n = tt.randn(32, 32), tt.randn(32, 32)
with tt.use_backend("loop"):
    t_loop = benchmark(lambda: m @ n).median
with tt.use_backend("numpy"):
    t_vec = benchmark(lambda: m @ n).median
    big1, big2 = tt.randn(256, 256), tt.randn(256, 256)
    t_big = benchmark(lambda: big1 @ big2).median
loop_mflops = matmul_flops(32, 32, 32) / t_loop / 1e6
print(f"matmul 32^3: loop {t_loop * 1e3:.2f} ms ({loop_mflops:.0f} MFLOP/s), "
      f"numpy {t_vec * 1e6:.1f} us -> {t_loop / t_vec:.0f}x")
print(f"matmul 256^3 numpy backend: {matmul_flops(256, 256, 256) / t_big / 1e9:.0f} GFLOP/s")
