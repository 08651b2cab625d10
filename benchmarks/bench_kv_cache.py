"""Module 16: tokens per second of generation, cached vs uncached, TinyTorch vs PyTorch.

Two models -- the TinyGPT of the milestone (4 layers, 4 heads, 128 wide, context
128) and a larger one (6 layers, 6 heads, 384 wide, context 256) -- generate 64,
256 and block_size new tokens greedily from a one-token prompt, with and without
a KV cache, on TinyTorch's native backend (and cached with the fused decode
step, ``generate(use_cache=True, fused=True)``) and in PyTorch running the same
weights with its own preallocated cache (``tests/_torch_gpt.py``); both on 2
threads, in one process::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest benchmarks/bench_kv_cache.py

``extra_info["tokens_per_s"]`` holds the rate. The uncached runs grow as O(T^2),
so they are timed with few rounds.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import BENCH_BACKENDS

import tinytorch as tt
from tinytorch.models import GPT
from tinytorch.utils.benchmark import set_threads

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests/_torch_gpt.py

CONFIGS = {
    "tinygpt": dict(vocab_size=73, block_size=128, n_layer=4, n_head=4, n_embd=128),
    "larger": dict(vocab_size=73, block_size=256, n_layer=6, n_head=6, n_embd=384),
}
THREADS = min(2, os.cpu_count() or 1)
_MODELS: dict[str, tuple] = {}


def _models(name: str):
    if name not in _MODELS:
        tt.manual_seed(0)
        ours = GPT(**CONFIGS[name]).eval()
        theirs = None
        if "torch" in BENCH_BACKENDS:
            from tests._torch_gpt import load_from
            theirs = load_from(ours).eval()
        _MODELS[name] = ours, theirs
    return _MODELS[name]


def _cases():
    out = []
    for name, config in CONFIGS.items():
        for new in sorted({64, 256, config["block_size"]}):
            for mode in ("cached", "uncached", "fused"):
                for lib in ("native", "torch"):
                    if lib in BENCH_BACKENDS and not (mode == "fused" and lib == "torch"):
                        out.append(pytest.param(name, new, mode, lib,
                                                id=f"{name}-{new}-{mode}-{lib}"))
    return out


@pytest.mark.parametrize("name,new_tokens,mode,lib", _cases())
def test_generation_tokens_per_second(benchmark, name, new_tokens, mode, lib):
    set_threads(THREADS)
    cached, fused = mode != "uncached", mode == "fused"
    ours, theirs = _models(name)
    prompt = np.zeros((1, 1), dtype=np.int64)
    if lib == "native":
        tt.set_backend("native")

        def run():
            return ours.generate(prompt, new_tokens, top_k=1, use_cache=cached,
                                 fused=fused).numpy()
    else:
        import torch

        from tests._torch_gpt import generate_greedy

        def run():
            return generate_greedy(theirs, torch.tensor(prompt), new_tokens,
                                   use_cache=cached).numpy()
    benchmark.group = f"{name}: {new_tokens} new tokens"
    rounds = 3 if cached else 1
    tokens = benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=1)
    assert tokens.shape == (1, 1 + new_tokens)
    if benchmark.stats is not None:
        benchmark.extra_info["tokens_per_s"] = round(new_tokens / benchmark.stats.stats.median, 1)
