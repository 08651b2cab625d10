"""Module 16 systems questions, measured: what a KV cache costs and what it buys.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python modules/16_caching/measure.py [PNG]

Prints the cache's memory (formula vs ``memory_bytes()``), tokens/s of greedy
generation with and without the cache for a growing number of new tokens on two
models (native backend, 2 threads), the time of one decode-attention call against
1,024 cached positions next to PyTorch's SDPA, and draws the speedup curve
(default ``modules/16_caching/speedup.png``; needs matplotlib).
"""

import sys
from pathlib import Path

import numpy as np

import tinytorch as tt
from tinytorch.backends import load_backend
from tinytorch.kv_cache import KVCache
from tinytorch.models import GPT
from tinytorch.utils.benchmark import benchmark, set_threads
from tinytorch.utils.machine import describe

set_threads(2)
tt.set_backend("native")
for key, value in describe().items():
    print(f"{key}: {value}")

MODELS = {
    "TinyGPT (4L, 128 wide, ctx 128)": dict(vocab_size=73, block_size=128, n_layer=4,
                                             n_head=4, n_embd=128),
    "larger (6L, 384 wide, ctx 256)": dict(vocab_size=73, block_size=256, n_layer=6,
                                            n_head=6, n_embd=384),
}

print("\n== memory: 2 (k, v) x n_layer x batch x heads x max_len x head_dim x 4 bytes ==")
for name, c in MODELS.items():
    tt.manual_seed(0)
    model = GPT(**c)
    cache = KVCache.for_model(model, batch_size=1)
    head_dim = c["n_embd"] // c["n_head"]
    formula = 2 * c["n_layer"] * 1 * c["n_head"] * c["block_size"] * head_dim * 4
    params = model.num_parameters() * 4
    print(f"  {name}: {formula:,} B by the formula, memory_bytes() = {cache.memory_bytes():,} B "
          f"({cache.memory_bytes() / params:.1%} of the {params:,} B of weights)")

print("\n== greedy generation from a 1-token prompt: tokens/s (native) ==")
curves = {}
prompt = np.zeros((1, 1), dtype=np.int64)
for name, c in MODELS.items():
    tt.manual_seed(0)
    model = GPT(**c).eval()
    counts = [n for n in (4, 16, 32, 64, 128, 256) if n <= c["block_size"]]
    rows = []
    for n in counts:
        times = {cached: benchmark(model.generate, prompt, n, top_k=1, use_cache=cached,
                                   warmup=1, repeats=3 if cached or n <= 64 else 1).median
                 for cached in (False, True)}
        rows.append((n, n / times[False], n / times[True], times[False] / times[True]))
        print(f"  {name}, {n:4d} new tokens: uncached {rows[-1][1]:7.1f} tok/s, "
              f"cached {rows[-1][2]:7.1f} tok/s, speedup {rows[-1][3]:5.2f}x")
    curves[name] = rows

print("\n== one decode-attention call: 1 query vs 1,024 cached positions, 8 heads, d=64 ==")
rng = np.random.default_rng(0)
q = rng.standard_normal((1, 8, 64)).astype(np.float32)
k = rng.standard_normal((1, 8, 1024, 64)).astype(np.float32)
v = rng.standard_normal((1, 8, 1024, 64)).astype(np.float32)
for backend in ("numpy", "native"):
    kernel = load_backend(backend).decode_attention
    print(f"  {backend:>6}: {benchmark(kernel, q, k, v, 1024, 0.125).median * 1e6:7.1f} us")
try:
    import torch

    torch.set_num_threads(2)
    tq, tk, tv = (torch.from_numpy(a) for a in (q[:, :, None], k, v))
    with torch.no_grad():
        t = benchmark(torch.nn.functional.scaled_dot_product_attention, tq, tk, tv).median
    print(f"   torch: {t * 1e6:7.1f} us (scaled_dot_product_attention)")
except ImportError:
    print("   torch: not installed")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("speedup.png")
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, rows in curves.items():
        ax.plot([r[0] for r in rows], [r[3] for r in rows], marker="o", label=name)
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("new tokens generated (from a 1-token prompt)")
    ax.set_ylabel("speedup of the KV cache (x)")
    ax.set_title("KV cache: cached / uncached generation time (native, 2 threads)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"\nspeedup curve written to {path}")
except ImportError:
    print("\n(matplotlib not installed: no speedup curve)")
