"""The framework's own cost (Module 15, "The cost of the framework"): tiny tensors.

When tensors are small the arithmetic is free and every microsecond is the
framework: building Tensors, promoting dtypes, recording the graph, finding the
backend. One table per op (``benchmark.group``), TinyTorch vs PyTorch vs bare
NumPy (the floor), on 8x8 and 1x64 tensors, plain, with ``requires_grad`` and
under ``no_grad``; then a 16-wide 4-layer MLP forward and training step::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest benchmarks/bench_overhead.py

Each group's table puts TinyTorch, PyTorch and NumPy side by side, measured in
the same process at the same thread count (read the ratio off the median column).
"""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, optim

torch = pytest.importorskip("torch")
torch.set_num_threads(2)

SHAPES = {"8x8": (8, 8), "1x64": (1, 64)}
MODES = ("plain", "requires_grad", "no_grad")

#: op name -> f(lib, a, b) on two same-shaped tensors; the same lambda runs on both libraries
OPS = {
    "add": lambda lib, a, b: a + b,
    "mul_scalar": lambda lib, a, b: a * 2.0,
    "matmul": lambda lib, a, b: a @ b.T,
    "sum": lambda lib, a, b: a.sum(),
    "mean_dim": lambda lib, a, b: a.mean(1),
    "index": lambda lib, a, b: a[0],
    "reshape": lambda lib, a, b: a.reshape(-1),
    "transpose": lambda lib, a, b: a.T,
    "relu": lambda lib, a, b: a.relu(),
}
NUMPY = {
    "add": lambda a, b: a + b, "mul_scalar": lambda a, b: a * 2.0, "matmul": lambda a, b: a @ b.T,
    "sum": lambda a, b: a.sum(), "mean_dim": lambda a, b: a.mean(1), "index": lambda a, b: a[0],
    "reshape": lambda a, b: a.reshape(-1), "transpose": lambda a, b: a.T,
    "relu": lambda a, b: np.maximum(a, 0),
}


def _operands(lib: str, shape: tuple[int, int], mode: str):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape).astype(np.float32) for _ in range(2)]
    if lib == "numpy":
        return arrays
    grad = mode == "requires_grad"
    if lib == "torch":
        return [torch.tensor(a, requires_grad=grad) for a in arrays]
    return [tt.tensor(a, requires_grad=grad) for a in arrays]


def _context(lib: str, mode: str):
    if mode != "no_grad":
        return None
    return (torch if lib == "torch" else tt).no_grad


@pytest.mark.parametrize("lib", ["tinytorch", "torch", "numpy"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("op", OPS)
def test_op_overhead(benchmark, op: str, shape: str, mode: str, lib: str) -> None:
    if lib == "numpy" and mode != "plain":
        pytest.skip("NumPy has no autograd: one row per op and shape is enough")
    a, b = _operands(lib, SHAPES[shape], mode)
    fn = NUMPY[op] if lib == "numpy" else (lambda a, b, f=OPS[op]: f(None, a, b))
    context = _context(lib, mode)
    if context is not None:
        def run(a, b, fn=fn, context=context):
            with context():
                return fn(a, b)
    else:
        run = fn
    benchmark.group = f"{op} {shape} {mode}"
    benchmark(run, a, b)


def _mlp(lib):
    layers = []
    for i in range(4):
        layers += [lib.nn.Linear(16, 16)] + ([lib.nn.ReLU()] if i < 3 else [])
    return lib.nn.Sequential(*layers)


def _copy_weights(ours, theirs) -> None:
    with torch.no_grad():
        for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(),
                                  strict=True):
            q.copy_(torch.from_numpy(p.data.copy()))


@pytest.mark.parametrize("lib", ["tinytorch", "torch"])
def test_tiny_mlp_forward_no_grad(benchmark, lib: str) -> None:
    """A 16-wide, 4-layer MLP on a batch of 32, inference: ~10 ops, each on tiny tensors."""
    tt.manual_seed(0)
    model = _mlp(tt if lib == "tinytorch" else torch)
    x = np.random.default_rng(0).standard_normal((32, 16)).astype(np.float32)
    xs = tt.tensor(x) if lib == "tinytorch" else torch.tensor(x)
    no_grad = tt.no_grad if lib == "tinytorch" else torch.no_grad

    def forward():
        with no_grad():
            return model(xs)

    benchmark.group = "tiny MLP forward (no_grad)"
    benchmark(forward)


@pytest.mark.parametrize("lib", ["tinytorch", "torch"])
def test_tiny_mlp_training_step(benchmark, lib: str) -> None:
    """Forward, MSE loss, backward and an SGD step of the same MLP."""
    tt.manual_seed(0)
    ours = _mlp(tt)
    rng = np.random.default_rng(0)
    x, y = (rng.standard_normal((32, 16)).astype(np.float32) for _ in range(2))
    if lib == "tinytorch":
        model, xs, ys, loss_fn = ours, tt.tensor(x), tt.tensor(y), nn.MSELoss()
        opt = optim.SGD(model.parameters(), lr=0.01)
    else:
        model = _mlp(torch)
        _copy_weights(ours, model)
        xs, ys, loss_fn = torch.tensor(x), torch.tensor(y), torch.nn.MSELoss()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(xs), ys)
        loss.backward()
        opt.step()
        return loss

    benchmark.group = "tiny MLP training step"
    benchmark(step)


@pytest.mark.parametrize("lib", ["tinytorch", "torch"])
def test_gpt_decode_step(benchmark, lib: str) -> None:
    """One cached decode step of the TinyGPT (4 layers, 4 heads, 128 wide): one new token
    attends to 64 cached positions. ~60 small ops per step (matmuls of 1 x 128 rows), the
    regime where the framework, not the arithmetic, sets the tokens/s (Module 16)."""
    import sys
    from pathlib import Path

    from tinytorch.kv_cache import KVCache
    from tinytorch.models import GPT

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/_torch_gpt.py
    from tests._torch_gpt import load_from

    tt.set_backend("native" if "native" in tt.available_backends() else "numpy")
    tt.manual_seed(0)
    ours = GPT(vocab_size=73, block_size=128, n_layer=4, n_head=4, n_embd=128).eval()
    prompt = np.random.default_rng(0).integers(0, 73, size=(1, 64))
    token = np.array([[5]])
    if lib == "tinytorch":
        cache = KVCache.for_model(ours, batch_size=1)
        with tt.no_grad():
            ours(tt.tensor(prompt), cache=cache)

        def step():
            for layer in cache.layers:
                layer.length = 64  # every round decodes position 64 again
            with tt.no_grad():
                return ours(tt.tensor(token), cache=cache)
    else:
        theirs = load_from(ours).eval()
        shape = (1, 4, 128, 32)
        caches = [{"k": torch.zeros(shape), "v": torch.zeros(shape), "length": 0}
                  for _ in theirs.blocks]
        with torch.no_grad():
            theirs(torch.tensor(prompt), caches=caches)
        ttoken = torch.tensor(token)

        def step():
            for c in caches:
                c["length"] = 64
            with torch.no_grad():
                return theirs(ttoken, caches=caches)

    benchmark.group = "TinyGPT one-token decode step (64 cached)"
    benchmark(step)
