"""The state of a TinyGPT training run, and how it is saved and restored exactly.

A checkpoint (the ``.npz`` + JSON format of ``tinytorch.serialization``) holds
what the next step depends on: model weights, AdamW's moments, the schedule's
position, the step, the global generator (dropout) and the batch sampler's
generator, the tokenizer's vocabulary and the settings -- so a resumed run
draws the same batches and takes the same steps as one never interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tinytorch as tt
from tinytorch import optim
from tinytorch import random as tt_random
from tinytorch.models import GPT, model_config
from tinytorch.nn.utils import clip_grad_norm_
from tinytorch.text import CharTokenizer, TokenDataset

__all__ = ["CHECKPOINT_KIND", "Run", "build_run", "evaluate", "restore_run"]

CHECKPOINT_KIND = "tinytorch-tinygpt"
FORMAT = 1


def _encode(tokenizer: CharTokenizer, text: str, what: str) -> np.ndarray:
    try:
        return np.asarray(tokenizer.encode(text), dtype=np.int64)
    except ValueError as exc:
        raise ValueError(f"the {what} text does not fit the training vocabulary: {exc}") from None


def _val_batches(val: TokenDataset, batches: int, batch_size: int) -> list[np.ndarray]:
    """Fixed windows spread evenly over the held-out text: every evaluation scores the
    same characters, so two validation losses differ only because the model did."""
    starts = np.linspace(0, len(val) - 1, batches * batch_size).astype(np.int64)
    return [starts[i:i + batch_size] for i in range(0, len(starts), batch_size)]


@dataclass
class Run:
    model: GPT
    optimizer: optim.AdamW
    scheduler: optim.lr_scheduler.SequentialLR
    tokenizer: CharTokenizer
    train_data: TokenDataset
    val_data: TokenDataset
    val_starts: list[np.ndarray]
    batch_rng: np.random.Generator
    settings: dict[str, Any]
    step: int = 0
    history: dict[str, list] = field(default_factory=lambda: {
        "train_loss": [], "lr": [], "val_steps": [], "val_loss": []})

    @property
    def n_train(self) -> int:
        return len(self.train_data.ids)

    @property
    def n_val(self) -> int:
        return len(self.val_data.ids)

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    @property
    def val_batches(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [self.val_data.get_batch(starts) for starts in self.val_starts]

    def train_step(self) -> float:
        """One optimizer step on a fresh random batch; returns its loss."""
        x, y = self.train_data.random_batch(self.settings["batch_size"], self.batch_rng)
        self.model.train()
        _, loss = self.model(tt.Tensor(x), tt.Tensor(y))
        self.optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(self.model.parameters(), self.settings["clip"])
        self.history["lr"].append(self.lr)
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        value = loss.item()
        self.history["train_loss"].append(value)
        return value

    def record_val(self, loss: float) -> None:
        self.history["val_steps"].append(self.step)
        self.history["val_loss"].append(loss)

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": CHECKPOINT_KIND, "format": FORMAT,
            "config": self.model.config_dict(), "architecture": model_config(self.model),
            "settings": dict(self.settings),
            "vocabulary": "".join(self.tokenizer.itos),
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "step": self.step,
            "history": {k: list(v) for k, v in self.history.items()},
            "global_rng": tt_random.default_generator().bit_generator.state,
            "batch_rng": self.batch_rng.bit_generator.state,
        }


def evaluate(model: GPT, batches: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Mean cross-entropy (nats per character) over ``batches``, in eval mode, no graph."""
    model.eval()
    with tt.no_grad():
        losses = [model(tt.Tensor(x), tt.Tensor(y))[1].item() for x, y in batches]
    model.train()
    return float(np.mean(losses))


def _components(settings: dict[str, Any], tokenizer: CharTokenizer, train_text: str,
                val_text: str) -> Run:
    s = settings
    model = GPT(tokenizer.vocab_size, s["block_size"], s["n_layer"], s["n_head"], s["n_embd"])
    optimizer = model.configure_optimizers(s["weight_decay"], s["lr"], betas=(0.9, 0.99))
    warmup = optim.lr_scheduler.LinearLR(optimizer, start_factor=1 / s["warmup"],
                                         total_iters=s["warmup"])
    decay = optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(1, s["steps"] - s["warmup"]), eta_min=s["lr"] / 10)
    schedule = optim.lr_scheduler.SequentialLR(optimizer, [warmup, decay],
                                               milestones=[s["warmup"]])
    train = TokenDataset(_encode(tokenizer, train_text, "training"), s["block_size"])
    val = TokenDataset(_encode(tokenizer, val_text, "validation"), s["block_size"])
    return Run(model, optimizer, schedule, tokenizer, train, val,
               _val_batches(val, s["eval_batches"], s["batch_size"]),
               np.random.default_rng(s["seed"]), dict(s))


def build_run(settings: dict[str, Any], train_text: str, val_text: str) -> Run:
    """A fresh run: seeded initialisation, vocabulary from the training text."""
    tt.manual_seed(settings["seed"])
    return _components(settings, CharTokenizer(train_text), train_text, val_text)


def restore_run(state: dict[str, Any], path: str, train_text: str, val_text: str) -> Run:
    """The run saved in ``state`` (read from ``path``), ready to take its next step."""
    for key in ("format", "config", "settings", "vocabulary", "model", "optimizer",
                "scheduler", "step", "history", "global_rng", "batch_rng"):
        if key not in state:
            raise KeyError(f"{path} has no {key!r} entry: not a complete TinyGPT checkpoint")
    if state["format"] != FORMAT:
        raise ValueError(f"{path}: checkpoint format {state['format']} is not {FORMAT}")
    tokenizer = CharTokenizer(chars=state["vocabulary"])
    r = _components(state["settings"], tokenizer, train_text, val_text)
    r.model.load_state_dict(state["model"])
    r.optimizer.load_state_dict(state["optimizer"])
    r.scheduler.load_state_dict(state["scheduler"])
    r.step = int(state["step"])
    r.history = {k: list(v) for k, v in state["history"].items()}
    tt_random.default_generator().bit_generator.state = state["global_rng"]
    r.batch_rng.bit_generator.state = state["batch_rng"]
    return r
