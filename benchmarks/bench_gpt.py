"""One TinyGPT training step (Module 14): TinyTorch's native backend vs PyTorch.

The milestone's model -- 4 layers, 4 heads, 128 wide, context 128, batch 32,
vocabulary 73 (the character set of the course's Shakespeare) -- timed for a
whole step: forward, cross-entropy, backward, AdamW. PyTorch runs the same
architecture (``tests/_torch_gpt.py``) with our weights, both on 2 threads::

    pytest benchmarks/bench_gpt.py

``extra_info`` holds tokens/s and, on the torch row, ``ours_over_torch``: our
median step time over torch's (the goal is <= 1.5, ideally 1.3).
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

CONFIG = dict(vocab_size=73, block_size=128, n_layer=4, n_head=4, n_embd=128)
BATCH, THREADS = 32, min(2, os.cpu_count() or 1)
TOKENS = BATCH * CONFIG["block_size"]
MEDIANS: dict[str, float] = {}


def _batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.integers(0, CONFIG["vocab_size"], (BATCH, CONFIG["block_size"])),
            rng.integers(0, CONFIG["vocab_size"], (BATCH, CONFIG["block_size"])))


def _ours_step():
    tt.manual_seed(0)
    model = GPT(**CONFIG)
    optimizer = model.configure_optimizers(0.1, 1e-3)
    x, y = (tt.Tensor(a) for a in _batch())

    def step() -> float:
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()
    return step, model


def _torch_step():
    import torch

    from tests._torch_gpt import load_from

    _, ours = _ours_step()
    model = load_from(ours)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    x, y = (torch.tensor(a) for a in _batch())

    def step() -> float:
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


CONTENDERS = [c for c in ("native", "torch") if c in BENCH_BACKENDS]


@pytest.mark.parametrize("contender", CONTENDERS)
def test_gpt_training_step(benchmark, contender):
    set_threads(THREADS)
    if contender == "torch":
        step = _torch_step()
    else:
        tt.set_backend(contender)
        step, _ = _ours_step()
    first = step()
    assert abs(first - np.log(CONFIG["vocab_size"])) < 0.1  # GPT-2 init: ~uniform predictions
    benchmark.group = "gpt train step (4L, 4H, 128 wide, T=128, B=32)"
    benchmark.pedantic(step, rounds=10, warmup_rounds=2)
    stats = getattr(benchmark, "stats", None)
    if stats is None:  # --benchmark-disable
        return
    median = stats.stats.median
    MEDIANS[contender] = median
    benchmark.extra_info["tokens_per_second"] = round(TOKENS / median)
    benchmark.extra_info["threads"] = THREADS
    if contender == "torch" and "native" in MEDIANS:
        ratio = MEDIANS["native"] / median
        benchmark.extra_info["ours_over_torch"] = round(ratio, 2)
        print(f"\nnative {MEDIANS['native'] * 1e3:.0f} ms/step ({TOKENS / MEDIANS['native']:,.0f}"
              f" tokens/s) vs torch {median * 1e3:.0f} ms/step ({TOKENS / median:,.0f} "
              f"tokens/s): ours / torch = {ratio:.2f}x (goal <= 1.5x)")
