"""Module 20: the TinyGPT workload -- a character-level GPT on Shakespeare.

Quality is the validation cross-entropy (nats/char) on the held-out split (the last 10%
of the text, the TinyGPT milestone's fixed windows); the speed the targets use is decode
tokens per second: one query generates ``new_tokens`` tokens after a prompt, batch 1
(single-stream; p50/p99 are per query). Offline throughput is the validation pass itself
(tokens scored per second). The model is trained by the TinyGPT milestone's run
(``milestones.tinygpt_run``) or loaded from its checkpoint.
"""

from __future__ import annotations

import os
from dataclasses import asdict, replace
from typing import Any

import numpy as np

import tinytorch as tt
from tinytorch import nn, quant, serialization
from tinytorch.backends import available_backends, use_backend
from tinytorch.capstone.ladder import Measured, System
from tinytorch.capstone.measure import op_breakdown, peak_bytes, single_stream
from tinytorch.milestones.tinygpt import FULL as MILESTONE_FULL
from tinytorch.milestones.tinygpt import QUICK as MILESTONE_QUICK
from tinytorch.milestones.tinygpt import Settings
from tinytorch.milestones.tinygpt_run import CHECKPOINT_KIND, Run, build_run, restore_run
from tinytorch.milestones.tinygpt_run import evaluate as val_loss
from tinytorch.nn.utils import clip_grad_norm_
from tinytorch.utils.benchmark import Stopwatch, benchmark

__all__ = ["FULL", "QUICK", "GPTWorkload", "prepare_run"]

#: the milestone's run settings (the full one reaches ~1.6 nats/char in ~11 minutes)
FULL = MILESTONE_FULL
#: --quick: the milestone's quick model, fewer steps and validation windows
QUICK = replace(MILESTONE_QUICK, steps=300, eval_batches=12, max_minutes=3.0)


def _training_backend() -> str:
    return "native" if "native" in available_backends() else "numpy"


def prepare_run(settings: Settings, train_text: str, val_text: str,
                checkpoint: str | None = None, log: Any = print) -> Run:
    """The trained run: restored from ``checkpoint`` when that file exists (a TinyGPT
    milestone checkpoint), else trained now (and saved there when a path is given)."""
    if checkpoint and os.path.exists(checkpoint):
        state = serialization.load(checkpoint)
        if not isinstance(state, dict) or state.get("kind") != CHECKPOINT_KIND:
            raise ValueError(f"{checkpoint} is not a TinyGPT checkpoint (write one with "
                             "`tinytorch milestone tinygpt --checkpoint PATH`)")
        run = restore_run(state, checkpoint, train_text, val_text)
        log(f"loaded {checkpoint}: step {run.step}, {run.model.num_parameters():,} parameters")
        return run
    run = build_run(asdict(settings), train_text, val_text)
    log(f"training TinyGPT ({run.model.num_parameters():,} parameters) for {settings.steps} "
        f"steps of {settings.batch_size} x {settings.block_size} tokens")
    clock = Stopwatch()
    with use_backend(_training_backend()):
        while run.step < settings.steps:
            loss = run.train_step()
            if run.step % 100 == 0 or run.step == settings.steps:
                log(f"  step {run.step}: train loss {loss:.3f} ({clock.seconds:.0f} s)")
    if checkpoint:
        serialization.save(run.state_dict(), checkpoint)
        log(f"saved {checkpoint}")
    return run


class GPTWorkload:
    """The ladder's view of TinyGPT."""

    name = "tinygpt"
    metric = "validation loss (nats/char)"
    higher_is_better = False
    budget = 0.05                # nats/char
    primary_unit = "token"
    baseline_change = "numpy backend, fp32, uncached generation"
    throughput_unit = "tokens/s"

    def __init__(self, run: Run, prompt_len: int = 16, new_tokens: int | None = None,
                 queries: int = 5, profile_tokens: int = 8, seed: int = 0, shrink: float = 0.5,
                 finetune_steps: int = 100, log: Any = print) -> None:
        self.run, self.log, self.seed = run, log, seed
        self.shrink, self.finetune_steps = shrink, finetune_steps
        self.model = run.model.eval()
        block = self.model.config.block_size
        self.prompt_len = min(prompt_len, block - 1)
        # fill the context exactly: the window never slides, so cached decoding is O(T)
        self.new_tokens = new_tokens if new_tokens is not None else block - self.prompt_len
        self.queries, self.profile_tokens = queries, profile_tokens
        self.prompt = np.asarray(run.val_data.ids[None, :self.prompt_len], dtype=np.int64)
        self.batches = run.val_batches

    def initial_system(self) -> System:
        return System(self.model, backend="numpy")

    def finetune(self, model: Any, steps: int) -> None:
        """``steps`` AdamW steps on fresh training batches at a tenth of the peak rate (on
        the fastest backend: training is not what the ladder measures)."""
        s = self.run.settings
        optimizer = model.configure_optimizers(s["weight_decay"], s["lr"] / 10,
                                               betas=(0.9, 0.99))
        rng = np.random.default_rng(self.seed + 11)
        with use_backend(_training_backend()):
            model.train()
            for _ in range(steps):
                x, y = self.run.train_data.random_batch(s["batch_size"], rng)
                _, loss = model(tt.Tensor(x), tt.Tensor(y))
                optimizer.zero_grad()
                loss.backward()
                clip_grad_norm_(model.parameters(), s["clip"])
                optimizer.step()
        model.eval()

    def serve(self, system: System) -> Any:
        if system.served is not None:
            return system.served
        model = system.model.eval()
        if system.quantization == "dynamic":
            # per-row (per-token) activation scales: a token's int8 codes then depend on that
            # token alone, so one new row (cached decode) is computed exactly as the same row
            # inside the whole context (uncached). With one scale per tensor the other
            # tokens of the context change every token's codes, and the sampled text differs
            # -- the token-for-token check of the ladder catches it.
            # the embeddings too (int8 rows; the tied lm_head shares their codes)
            model = quant.quantize_dynamic(model, {nn.Linear, nn.Embedding}, per_row=True)
        elif system.quantization != "none":
            raise ValueError(f"TinyGPT: quantization {system.quantization!r} is not supported "
                             "(dynamic int8 is: the activations of a language model vary)")
        object.__setattr__(system, "served", model)
        return model

    def decode(self, model: Any, use_cache: bool, tokens: int | None = None,
               fused: bool = False) -> np.ndarray:
        """One single-stream query: the same seed every time, so every query (and the cached
        and uncached loops) draw the same random numbers."""
        tt.manual_seed(self.seed)
        out = model.generate(tt.Tensor(self.prompt), tokens or self.new_tokens,
                             temperature=1.0, top_k=None, use_cache=use_cache, fused=fused)
        return out.data

    def measure(self, system: System) -> Measured:
        model = self.serve(system)
        scored = sum(x.size for x, _ in self.batches)
        checks: dict[str, bool] = {}
        with use_backend(system.backend):
            # a pass of more than 10 ms is timed once (benchmark's rule for long calls)
            offline = benchmark(lambda: val_loss(model, self.batches), min_time=0.0)
            cached, fused = system.use_cache, system.fused_decode
            stream = single_stream(lambda: self.decode(model, cached, fused=fused), self.queries,
                                   warmup=1)
            if system.use_cache:  # the guardrail: a cache may not change a single token
                uncached = self.decode(model, False)
                checks["cached tokens == uncached tokens"] = bool(
                    np.array_equal(stream.result, uncached))
            short = self.profile_tokens
            peak = peak_bytes(lambda: self.decode(model, cached, short, fused))
            ops = op_breakdown(lambda: self.decode(model, cached, short, fused))
        return Measured(quality=float(offline.result), latency_p50_s=stream.median,
                        latency_p99_s=stream.p99, primary_s=stream.median / self.new_tokens,
                        throughput=scored / offline.median,
                        size_bytes=quant.model_size_bytes(model), peak_memory_bytes=peak,
                        top_ops=ops, checks=checks, noisy=stream.noisy)

    def describe(self) -> dict[str, Any]:
        c, s = self.model.config, self.run.settings
        return {"model": f"TinyGPT (models.GPT): {c.n_layer} layers, {c.n_head} heads, "
                         f"{c.n_embd} wide, context {c.block_size}",
                "data": f"Shakespeare, {self.run.n_train:,} training / {self.run.n_val:,} "
                        f"held-out validation characters",
                "parameters": self.model.num_parameters(), "steps": self.run.step,
                "quality": f"validation loss over {len(self.batches)} fixed batches of "
                           f"{s['batch_size']} x {c.block_size} held-out characters",
                "speed": f"decode tokens/s: {self.new_tokens} tokens after a "
                         f"{self.prompt_len}-token prompt, batch 1, temperature 1, seeded",
                "single_stream": f"{self.queries} decode queries",
                "baseline": "the trained float32 model, numpy backend, uncached generation"}
