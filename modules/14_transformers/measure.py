"""Module 14 systems questions, measured: TinyGPT's size, FLOPs, tokens/s, and where the
time of one training step goes.

    python modules/14_transformers/measure.py [numpy|native]

The step time comes from tinytorch.utils.benchmark; the breakdown from cProfile
(each function's own time, grouped by what it computes). cProfile adds a little
overhead per Python call, so "Python overhead" is slightly inflated.
"""

import cProfile
import pstats
import sys

import numpy as np

import tinytorch as tt
from tinytorch.models import GPT
from tinytorch.utils.benchmark import benchmark, set_threads
from tinytorch.utils.machine import describe

set_threads(2)
backend = sys.argv[1] if len(sys.argv) > 1 else "native"
tt.set_backend(backend)
print("machine:", "; ".join(f"{k} {v}" for k, v in describe().items()))
tt.manual_seed(0)
model = GPT(vocab_size=73, block_size=128, n_layer=4, n_head=4, n_embd=128)
optimizer = model.configure_optimizers(0.1, 1e-3)
rng = np.random.default_rng(0)
x, y = (tt.Tensor(rng.integers(0, 73, (32, 128))) for _ in range(2))
tokens = x.numel()


def step() -> None:
    _, loss = model(x, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


params = model.num_parameters()
print(f"\nGPT 4 layers, 4 heads, 128 wide, context 128, vocab 73: {params:,} parameters "
      f"({params * 4 / 2**20:.2f} MiB float32; AdamW adds 2x)")
fwd, train = model.flops_per_token(), model.flops_per_token(training=True)
print(f"FLOPs per token: forward {fwd:,}, training step {train:,} (~6 x parameters = "
      f"{6 * params:,}; attention adds what the parameter count misses)")
m = benchmark(step, warmup=2, repeats=10, label=f"train step B=32 T=128 ({backend})")
print(m)
print(f"  {tokens / m.median:,.0f} tokens/s, {tokens * train / m.median / 1e9:.1f} GFLOP/s")

CATEGORIES = [  # (category, substrings of "file:function" of cProfile entries)
    ("matmul (GEMM)", ("_native.matmul", "_native.bmm", "linalg/", "numpy.matmul")),
    ("attention kernels", ("attention",)),
    ("layer norm", ("layer_norm", "norm/")),
    ("softmax / cross-entropy", ("log_softmax", "softmax", "losses.py")),
    ("GELU (tanh form)", ("activations.py",)),
    ("elementwise + - * (residuals, bias)", ("arithmetic.py",)),
    ("embedding gather/scatter", ("embedding.py", "reduceat")),
    ("AdamW update", ("adam.py",)),
]
step()
profile = cProfile.Profile()
profile.enable()
for _ in range(5):
    step()
profile.disable()
stats = pstats.Stats(profile).stats
totals = dict.fromkeys([c for c, _ in CATEGORIES] + ["Python overhead (autograd, shapes, "
                                                       "copies, glue)"], 0.0)
for (file, _, func), (_, _, tottime, _, _) in stats.items():
    key = f"{file}:{func}"
    for category, needles in CATEGORIES:
        if any(n in key for n in needles):
            totals[category] += tottime
            break
    else:
        totals["Python overhead (autograd, shapes, copies, glue)"] += tottime
whole = sum(totals.values())
print(f"\nwhere one step's time goes (cProfile, own time, {backend} backend):")
for category, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
    print(f"  {category:<48} {seconds / 5 * 1e3:7.1f} ms  {seconds / whole:6.1%}")
