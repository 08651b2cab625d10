"""Module 02 systems questions, measured: memory, memory-bound ops, views, loop vs numpy."""

import time

import numpy as np

import tinytorch as tt


def seconds(fn, repeat=50):
    fn()  # warm up (thread pools, caches)
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


a, b = tt.randn(1000, 1000), tt.randn(1000, 1000)
print(f"1000x1000 bytes: float32 {a.data.nbytes:,}, float64 {a.double().data.nbytes:,}")
t_add, t_np = seconds(lambda: a + b), seconds(lambda: a.data + b.data)
print(f"a + b (1M float32): tinytorch {t_add * 1e6:.0f} us, numpy {t_np * 1e6:.0f} us, "
      f"{12e6 / t_add / 1e9:.0f} GB/s moved")
print(f"a.T (view) {seconds(lambda: a.T) * 1e6:.1f} us, contiguous copy "
      f"{seconds(lambda: np.ascontiguousarray(a.T.data)) * 1e6:.0f} us")
m, n = tt.randn(32, 32), tt.randn(32, 32)
with tt.use_backend("loop"):
    t_loop = seconds(lambda: m @ n, 10)
with tt.use_backend("numpy"):
    t_vec = seconds(lambda: m @ n, 200)
    big1, big2 = tt.randn(256, 256), tt.randn(256, 256)
    t_big = seconds(lambda: big1 @ big2)
print(f"matmul 32^3: loop {t_loop * 1e3:.2f} ms ({2 * 32**3 / t_loop / 1e6:.0f} MFLOP/s), "
      f"numpy {t_vec * 1e6:.1f} us -> {t_loop / t_vec:.0f}x")
print(f"matmul 256^3 numpy backend: {2 * 256**3 / t_big / 1e9:.0f} GFLOP/s")
