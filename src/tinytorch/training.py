"""Module 09 Training: the loop that turns a model, a loss and an optimizer into learning.

``Trainer.fit`` runs epochs of: forward, loss, ``zero_grad``, ``backward``,
(optional) gradient clipping, ``step``, (optional) scheduler step -- then an
evaluation pass under ``no_grad()`` in eval mode. It keeps a history of loss,
accuracy, learning rate and throughput, stops early when the monitored loss
stops improving, and saves checkpoints that restore *everything* a run
depends on (model, optimizer, scheduler, random generators), so a resumed run
continues with exactly the losses an uninterrupted one would have had.

Module 09 trains on arrays generated in code (``(X, y)`` tuples batched here);
Module 10 passes a ``tinytorch.data.DataLoader`` instead -- same code.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

import tinytorch as tt
from tinytorch import random as tt_random
from tinytorch import serialization
from tinytorch.tensor import Tensor
from tinytorch.utils.benchmark import Stopwatch

__all__ = ["ArrayBatches", "Trainer", "accuracy", "make_toy_images"]


def make_toy_images(n: int, size: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Module 09's toy data: random one-channel images, label = 1 if the pixel sum > 0.

    Returns x: (n, 1, size, size) float32 and y: (n,) int64.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, size, size)).astype(np.float32)
    y = (x.sum(axis=(1, 2, 3)) > 0).astype(np.int64)
    return x, y


def accuracy(outputs: Tensor, targets: Tensor) -> float:
    """Fraction correct: argmax for (N, C) logits, sign for one binary logit per sample."""
    out, y = outputs.data, targets.data
    if out.ndim >= 2 and out.shape[1] > 1:
        return float((out.argmax(axis=1) == y.reshape(-1)).mean())
    return float(((out.reshape(-1) > 0) == (y.reshape(-1) > 0.5)).mean())


class ArrayBatches:
    """Mini-batches of in-memory arrays ``(x, y)``; reshuffled each pass by a seeded generator."""

    def __init__(self, x: Any, y: Any, batch_size: int = 32, shuffle: bool = True,
                 seed: int = 0) -> None:
        self.x = x.data if isinstance(x, Tensor) else np.asarray(x)
        self.y = y.data if isinstance(y, Tensor) else np.asarray(y)
        if len(self.x) != len(self.y):
            raise ValueError(f"inputs and targets differ in length: {len(self.x)} vs {len(self.y)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size, self.shuffle = batch_size, shuffle
        self.generator = np.random.default_rng(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        order = self.generator.permutation(len(self.x)) if self.shuffle else np.arange(len(self.x))
        for start in range(0, len(order), self.batch_size):
            index = order[start:start + self.batch_size]
            yield Tensor(self.x[index]), Tensor(self.y[index])


def _batches(data: Any, batch_size: int, shuffle: bool, seed: int) -> Iterable:
    if isinstance(data, tuple) and len(data) == 2:
        return ArrayBatches(data[0], data[1], batch_size, shuffle, seed)
    return data


def _same_data(a: Any, b: Any) -> bool:
    """Is ``a`` the training data ``b`` again? ``(x, y)`` tuples compare by their arrays."""
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) == 2:
        return a[0] is b[0] and a[1] is b[1]
    return a is b


def _generator_of(batches: Any) -> np.random.Generator | None:
    generator = getattr(batches, "generator", None)
    return generator if isinstance(generator, np.random.Generator) else None


class _Progress:
    """tqdm when installed and stderr is a terminal (ASCII bars: safe on any encoding)."""

    def __init__(self, total: int | None, description: str, enabled: bool) -> None:
        self.bar = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            # disable=None: no bar when stderr is not a terminal (CI logs, pipes), where
            # every redraw would become a line; the per-epoch summary is still printed
            self.bar = tqdm(total=total, desc=description, ascii=True, leave=False,
                            file=sys.stderr, dynamic_ncols=True, disable=None)

    def update(self, **postfix: Any) -> None:
        if self.bar is not None:
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Trainer:
    """Fit a model with an optimizer and a loss; see the module docstring.

    ``loss_fn(outputs, targets) -> scalar Tensor``; ``metric(outputs, targets) -> float``
    (default :func:`accuracy`, ``None`` to skip).
    """

    def __init__(self, model, optimizer, loss_fn: Callable, *, scheduler=None,
                 clip_grad_norm: float | None = None,
                 metric: Callable[[Tensor, Tensor], float] | None = accuracy,
                 progress: bool = True, log: Callable[[str], None] | None = print) -> None:
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.scheduler, self.clip_grad_norm, self.metric = scheduler, clip_grad_norm, metric
        self.progress, self.log = progress, log or (lambda message: None)
        self.epoch = 0
        self._val_name = "val"
        self.step_losses: list[float] = []
        self.history: dict[str, list[float]] = {k: [] for k in (
            "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
            "epoch_seconds", "samples_per_second")}
        self._batches: Iterable | None = None
        self._train_source: Any = None
        self._pending_shuffle_state: dict | None = None
        self.best_loss = math.inf
        self.epochs_without_improvement = 0

    # ---- one pass ---------------------------------------------------------------------
    def train_epoch(self, batches: Iterable) -> dict[str, float]:
        """One pass of optimisation over ``batches``; returns mean loss, accuracy, samples/s."""
        from tinytorch.nn.utils import clip_grad_norm_

        self.model.train()
        total_loss = total_correct = 0.0
        seen = 0
        clock = Stopwatch()
        bar = _Progress(len(batches) if hasattr(batches, "__len__") else None,
                        f"epoch {self.epoch + 1}", self.progress)
        try:
            for x, y in batches:
                # BEGIN SOLUTION 09
                outputs = self.model(x)
                loss = self.loss_fn(outputs, y)
                self.optimizer.zero_grad()
                loss.backward()
                if self.clip_grad_norm is not None:
                    clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
                self.optimizer.step()
                # END SOLUTION
                n = len(x)
                value = loss.item()
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"the loss became {value} at epoch {self.epoch + 1}; lower the learning "
                        "rate or clip gradients (clip_grad_norm=1.0)")
                self.step_losses.append(value)
                seen += n
                total_loss += value * n
                if self.metric is not None:
                    total_correct += self.metric(outputs, y) * n
                bar.update(loss=f"{value:.4f}", acc=f"{total_correct / seen:.3f}",
                           samples_s=f"{seen / max(clock.seconds, 1e-9):.0f}")
        finally:
            bar.close()
        if seen == 0:
            raise ValueError("the training data produced no batches")
        elapsed = clock.seconds
        return {"loss": total_loss / seen, "accuracy": total_correct / seen,
                "seconds": elapsed, "samples_per_second": seen / elapsed}

    def evaluate(self, batches: Iterable) -> dict[str, float]:
        """Mean loss and accuracy over ``batches`` in eval mode, without building a graph."""
        # BEGIN SOLUTION 09
        self.model.eval()
        total_loss = total_correct = 0.0
        seen = 0
        with tt.no_grad():
            for x, y in batches:
                outputs = self.model(x)
                n = len(x)
                seen += n
                total_loss += self.loss_fn(outputs, y).item() * n
                if self.metric is not None:
                    total_correct += self.metric(outputs, y) * n
        if seen == 0:
            raise ValueError("the evaluation data produced no batches")
        return {"loss": total_loss / seen, "accuracy": total_correct / seen}
        # END SOLUTION

    # ---- the loop ---------------------------------------------------------------------
    def fit(self, train: Any, epochs: int, *, val: Any = None, batch_size: int = 32,
            shuffle: bool = True, seed: int = 0, early_stopping_patience: int | None = None,
            checkpoint_path: str | None = None, val_name: str = "val"
            ) -> dict[str, list[float]]:
        """Train until ``self.epoch == epochs`` (so a resumed trainer finishes the same run).

        ``train``/``val``: a DataLoader-like iterable of ``(x, y)`` batches, or an
        ``(x, y)`` tuple of arrays batched here with ``batch_size``/``shuffle``/``seed``.
        ``val_name`` labels the held-out data in the log (``"test"`` when it is the
        test set); the history keys stay ``val_loss``/``val_accuracy``.
        """
        self._val_name = val_name
        # The same data again continues its shuffle stream (a resumed run); new data
        # is batched afresh, never silently replaced by the data of an earlier fit.
        if self._batches is None or not _same_data(train, self._train_source):
            self._batches = _batches(train, batch_size, shuffle, seed)
            self._train_source = train
            self._restore_shuffle_state()
        val_batches = None if val is None else _batches(val, batch_size, False, seed)
        while self.epoch < epochs:
            result = self.train_epoch(self._batches)
            if self.scheduler is not None:
                self.scheduler.step()
            self.epoch += 1
            self._record(result, val_batches)
            if checkpoint_path is not None:
                self.save_checkpoint(checkpoint_path)
            if early_stopping_patience is not None and self._should_stop(early_stopping_patience):
                self.log(f"early stopping: no improvement for {early_stopping_patience} epochs")
                break
        return self.history

    def _record(self, result: dict[str, float], val_batches: Iterable | None) -> None:
        h = self.history
        h["train_loss"].append(result["loss"])
        h["train_accuracy"].append(result["accuracy"])
        h["epoch_seconds"].append(result["seconds"])
        h["samples_per_second"].append(result["samples_per_second"])
        h["lr"].append(float(self.optimizer.param_groups[0]["lr"]))
        message = (f"epoch {self.epoch}: train loss {result['loss']:.4f} "
                   f"acc {result['accuracy']:.4f}")
        if val_batches is not None:
            val = self.evaluate(val_batches)
            h["val_loss"].append(val["loss"])
            h["val_accuracy"].append(val["accuracy"])
            message += f" | {self._val_name} loss {val['loss']:.4f} acc {val['accuracy']:.4f}"
        self.log(message + f" | {result['seconds']:.1f} s, "
                 f"{result['samples_per_second']:.0f} samples/s")

    def _should_stop(self, patience: int) -> bool:
        monitored = (self.history["val_loss"] or self.history["train_loss"])[-1]
        if monitored < self.best_loss:
            self.best_loss, self.epochs_without_improvement = monitored, 0
        else:
            self.epochs_without_improvement += 1
        return self.epochs_without_improvement >= patience

    # ---- checkpoints ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        shuffle = _generator_of(self._batches)
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "epoch": self.epoch,
            "step_losses": list(self.step_losses),
            "history": {k: list(v) for k, v in self.history.items()},
            "best_loss": self.best_loss if math.isfinite(self.best_loss) else None,
            "epochs_without_improvement": self.epochs_without_improvement,
            "global_rng": tt_random.default_generator().bit_generator.state,
            "shuffle_rng": None if shuffle is None else shuffle.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`, all or nothing: the plain fields are checked first,
        and if the model, optimizer, scheduler or an RNG refuses its part, everything
        already restored is put back before the error (naming the key) is raised."""
        _check_trainer_state(state, self.history)
        before, pending = self.state_dict(), self._pending_shuffle_state
        try:
            self._apply_state(state)
        except Exception:
            self._apply_state(before)
            self._pending_shuffle_state = pending
            raise

    def _apply_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self.step_losses = list(state["step_losses"])
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.best_loss = math.inf if state["best_loss"] is None else state["best_loss"]
        self.epochs_without_improvement = int(state["epochs_without_improvement"])
        tt_random.default_generator().bit_generator.state = state["global_rng"]
        self._pending_shuffle_state = state["shuffle_rng"]

    def save_checkpoint(self, path: str) -> None:
        """Model, optimizer, scheduler, epoch, history and RNG states in one ``.npz``."""
        serialization.save(self.state_dict(), path)

    def load_checkpoint(self, path: str, train: Any = None, *, batch_size: int = 32,
                        shuffle: bool = True, seed: int = 0) -> None:
        """Restore a checkpoint; pass the same ``train`` data so its shuffling resumes too."""
        self.load_state_dict(serialization.load(path))
        if train is not None:
            self._batches = _batches(train, batch_size, shuffle, seed)
            self._train_source = train
        self._restore_shuffle_state()

    def _restore_shuffle_state(self) -> None:
        """Hand a loaded checkpoint's shuffle-generator state to the current batches."""
        generator = _generator_of(self._batches)
        if self._pending_shuffle_state is not None and generator is not None:
            generator.bit_generator.state = self._pending_shuffle_state
            self._pending_shuffle_state = None


_TRAINER_KEYS = ("model", "optimizer", "scheduler", "epoch", "step_losses", "history",
                 "best_loss", "epochs_without_improvement", "global_rng", "shuffle_rng")


def _check_trainer_state(state: Any, history: dict[str, list[float]]) -> None:
    """``ValueError`` naming the first key of a trainer checkpoint that is missing or of
    the wrong type (the model/optimizer/scheduler parts are checked by their owners)."""
    def fail(key: str, want: str) -> None:
        got = state[key] if not isinstance(state[key], (dict, list)) else type(state[key]).__name__
        raise ValueError(f"Trainer checkpoint: {key!r} must be {want}, got {got!r}")

    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if not isinstance(state, dict):
        raise ValueError(f"Trainer checkpoint: expected a dict, got {type(state).__name__}")
    missing = [k for k in _TRAINER_KEYS if k not in state]
    if missing:
        raise ValueError(f"Trainer checkpoint: missing {', '.join(map(repr, missing))} (not a "
                         "checkpoint written by Trainer.save_checkpoint?)")
    for key in ("epoch", "epochs_without_improvement"):
        if not isinstance(state[key], int) or isinstance(state[key], bool) or state[key] < 0:
            fail(key, "an int >= 0")
    if not isinstance(state["step_losses"], list) or not all(map(number, state["step_losses"])):
        fail("step_losses", "a list of numbers")
    saved = state["history"]
    if not isinstance(saved, dict) or set(saved) != set(history) or not all(
            isinstance(v, list) and all(map(number, v)) for v in saved.values()):
        fail("history", f"a dict of number lists with keys {sorted(history)}")
    if state["best_loss"] is not None and not number(state["best_loss"]):
        fail("best_loss", "a number or None")
    for key in ("global_rng", "shuffle_rng"):
        value = state[key]
        if value is None and key == "shuffle_rng":
            continue
        if not isinstance(value, dict) or not isinstance(value.get("bit_generator"), str) \
                or not isinstance(value.get("state"), dict):
            fail(key, "a NumPy bit-generator state dict")
