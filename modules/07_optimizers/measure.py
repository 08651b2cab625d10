"""Module 07 systems questions, measured: optimizer state memory and the cost of one step."""

import tracemalloc

import numpy as np

import tinytorch as tt
from tinytorch.optim import SGD, Adam, AdamW, RMSprop
from tinytorch.utils.benchmark import benchmark


def mlp_shapes():
    """784-256-10 MLP: two Linear layers (weights stored (out, in), like nn.Linear)."""
    return [(256, 784), (256,), (10, 256), (10,)]


def gpt_shapes(vocab=4096, context=256, d=384, layers=5):
    """A small GPT: token + position embeddings, `layers` blocks (attention qkv + proj,
    MLP 4d, two LayerNorms), a final LayerNorm; the output head is tied to the embedding."""
    shapes = [(vocab, d), (context, d)]
    for _ in range(layers):
        shapes += [(d,), (d,), (3 * d, d), (3 * d,), (d, d), (d,),
                   (d,), (d,), (4 * d, d), (4 * d,), (d, 4 * d), (d,)]
    return shapes + [(d,), (d,)]


OPTIMIZERS = {
    "SGD": lambda ps: SGD(ps, lr=0.01),
    "SGD momentum": lambda ps: SGD(ps, lr=0.01, momentum=0.9),
    "RMSprop": lambda ps: RMSprop(ps),
    "Adam": lambda ps: Adam(ps),
    "AdamW amsgrad": lambda ps: AdamW(ps, amsgrad=True),
}


def make_params(shapes):
    rng = np.random.default_rng(0)
    params = [tt.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
              for s in shapes]
    for p in params:
        p.grad = tt.tensor(rng.standard_normal(p.shape).astype(np.float32))
    return params


def state_bytes(optimizer):
    return sum(v.nbytes for s in optimizer.state.values() for v in s.values()
               if isinstance(v, np.ndarray))


print("== optimizer state memory (float32), after one step ==")
for model, shapes in [("MLP 784-256-10", mlp_shapes()), ("GPT-like", gpt_shapes())]:
    params = make_params(shapes)
    n = sum(p.numel() for p in params)
    print(f"{model}: {n:,} parameters = {4 * n:,} bytes of weights, {4 * n:,} of gradients")
    for name, make in OPTIMIZERS.items():
        opt = make(params)
        opt.step()
        b = state_bytes(opt)
        print(f"  {name:14s} state {b:>12,} bytes = {b / (4 * n):.0f} x weights; "
              f"weights+grads+state {(8 * n + b) / 2**20:7.1f} MiB")




print("== time of one step, 1M float32 parameters (best of 30) ==")
for layout, shapes in [("one 1000x1000 tensor", [(1000, 1000)]),
                       ("1000 tensors of 1000", [(1000,)] * 1000)]:
    params = make_params(shapes)
    line = []
    for name, make in OPTIMIZERS.items():
        opt = make(params)
        line.append(f"{name} {benchmark(opt.step).median * 1e3:.2f} ms")
    print(f"  {layout}: " + ", ".join(line))

print("== peak temporary memory of one step (tracemalloc), one 1000x1000 tensor ==")
for name, make in OPTIMIZERS.items():
    params = make_params([(1000, 1000)])
    opt = make(params)
    opt.step()  # state already allocated: measure only the step's temporaries
    tracemalloc.start()
    opt.step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  {name:14s} {peak:>10,} bytes = {peak / 4e6:.1f} x the parameter")

try:
    import torch
except ImportError:
    torch = None
if torch is not None:
    torch.set_num_threads(1)  # NumPy's elementwise ops use one thread too: compare like with like
    w = torch.randn(1000, 1000, requires_grad=True)
    w.grad = torch.randn(1000, 1000)
    line = []
    for name, make in [("SGD", lambda: torch.optim.SGD([w], lr=0.01)),
                       ("Adam", lambda: torch.optim.Adam([w])),
                       ("Adam fused", lambda: torch.optim.Adam([w], fused=True))]:
        opt = make()
        line.append(f"{name} {benchmark(opt.step).median * 1e3:.2f} ms")
    print("== PyTorch reference, one 1000x1000 tensor, 1 thread: " + ", ".join(line))
