"""Module 12 systems questions, measured: embedding memory, gather vs scatter-add cost.

    python modules/12_embeddings/measure.py
"""

import numpy as np

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch.nn.functional.embedding import scatter_add_rows
from tinytorch.utils.benchmark import benchmark
from tinytorch.utils.machine import describe

print("machine:", "; ".join(f"{k} {v}" for k, v in describe().items()))

print("\n== memory of the table: num_embeddings x embedding_dim float32 ==")
for name, V, D in (("TinyGPT chars", 73, 128), ("BPE 1024", 1024, 128),
                   ("GPT-2 small", 50257, 768), ("GPT-2 XL", 50257, 1600)):
    print(f"  {name:<14} {V:>6} x {D:<5} = {V * D:>11,} parameters = {V * D * 4 / 2**20:8.1f} MiB"
          f" (+2x that for AdamW's moments, +1x for the gradient)")

print("\n== gather (forward) vs scatter-add (backward), B*T = 32*128 = 4096 ids, D = 128 ==")
rng = np.random.default_rng(0)


def measure(V: int) -> None:
    ids = rng.integers(0, V, size=(32, 128))
    weight = tt.Tensor(rng.standard_normal((V, 128)).astype(np.float32), requires_grad=True)
    grad = rng.standard_normal((4096, 128)).astype(np.float32)
    flat, index = ids.reshape(-1), tt.Tensor(ids)
    gather = benchmark(lambda: F.embedding(index, weight))

    def add_at():
        out = np.zeros((V, 128), np.float32)
        np.add.at(out, flat, grad)
        return out
    at = benchmark(add_at)
    sort = benchmark(lambda: scatter_add_rows(flat, grad, V))
    np.testing.assert_allclose(at.result, sort.result, rtol=1e-4, atol=1e-4)
    print(f"  V = {V:>5}: gather {gather.median * 1e3:6.3f} ms | scatter-add: np.add.at "
          f"{at.median * 1e3:6.2f} ms, sort + reduceat {sort.median * 1e3:6.3f} ms "
          f"({at.median / sort.median:.1f}x faster); the zeroed (V, D) gradient alone is "
          f"{V * 128 * 4 / 2**20:.2f} MiB")


for V in (73, 50257):
    measure(V)
