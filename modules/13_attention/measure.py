"""Module 13 systems questions, measured: attention's O(T^2) memory and time vs T.

    python modules/13_attention/measure.py

Memory: tracemalloc sees every NumPy allocation, so its peak during one call is what
that call materialises (the tiled native kernel's per-thread tile buffers live in
C++ and are a fixed few KiB per thread, independent of T).
"""

import tracemalloc

import numpy as np

from tinytorch.backends import load_backend
from tinytorch.backends.attention.interface import attention_backward_flops, attention_flops
from tinytorch.utils.benchmark import benchmark, set_threads
from tinytorch.utils.machine import describe

set_threads(2)
print("machine:", "; ".join(f"{k} {v}" for k, v in describe().items()))
B, H, d = 4, 4, 32
print(f"\nB={B}, H={H}, head_dim={d}, causal, float32; scores matrix = B*H*T*T*4 bytes")
rng = np.random.default_rng(0)
backends = {name: load_backend(name) for name in ("numpy", "native")}


def peak_bytes(fn) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


print(f"{'T':>5} {'scores':>9} | {'numpy peak':>10} {'native peak':>11} | "
      f"{'numpy fwd':>9} {'native fwd':>10} {'numpy f+b':>9} {'native f+b':>10} "
      f"{'native GFLOP/s f+b':>18}")


def measure(T: int) -> None:
    q, k, v = (rng.standard_normal((B, H, T, d)).astype(np.float32) for _ in range(3))
    g = rng.standard_normal((B, H, T, d)).astype(np.float32)
    row = {}
    for name, kern in backends.items():
        def fwd(kern=kern):
            return kern.attention(q, k, v, None, d ** -0.5, True)

        def both(kern=kern):
            out, lse = kern.attention(q, k, v, None, d ** -0.5, True)
            return kern.attention_backward(g, q, k, v, out, lse, None, d ** -0.5, True)
        row[name] = (peak_bytes(fwd), benchmark(fwd).median, benchmark(both).median)
    flops = attention_flops(B, H, T, T, d) + attention_backward_flops(B, H, T, T, d)
    print(f"{T:>5} {B * H * T * T * 4 / 2**20:7.1f}Mi | {row['numpy'][0] / 2**20:8.1f}Mi "
          f"{row['native'][0] / 2**20:9.2f}Mi | {row['numpy'][1] * 1e3:7.2f}ms "
          f"{row['native'][1] * 1e3:8.2f}ms {row['numpy'][2] * 1e3:7.1f}ms "
          f"{row['native'][2] * 1e3:8.1f}ms {flops / row['native'][2] / 1e9:18.1f}")


for T in (128, 256, 512, 1024):
    measure(T)
