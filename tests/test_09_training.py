"""Module 09 Training: the Trainer on toy data, checkpoints, early stopping."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, optim, serialization
from tinytorch.training import ArrayBatches, Trainer, accuracy, make_toy_images

HERE = Path(__file__).parent


def small_model(seed: int = 0) -> nn.Module:
    tt.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 2))


def test_toy_data_rule():
    x, y = make_toy_images(100, size=8, seed=3)
    assert x.shape == (100, 1, 8, 8) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y, (x.sum(axis=(1, 2, 3)) > 0).astype(np.int64))


def test_trainer_learns_toy_images():
    model = small_model()
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=0.01), nn.CrossEntropyLoss(),
                      progress=False, log=None)
    history = trainer.fit(make_toy_images(512, seed=0), epochs=8,
                          val=make_toy_images(256, seed=1), batch_size=32)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["val_accuracy"][-1] >= 0.9  # the sign of a sum is linear: easy to learn
    assert len(history["lr"]) == 8 and all(s > 0 for s in history["samples_per_second"])
    assert trainer.epoch == 8 and not model.training  # evaluation left it in eval mode


def test_same_seed_same_run():
    runs = []
    for _ in range(2):
        model = small_model(seed=4)
        trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                          nn.CrossEntropyLoss(), progress=False, log=None)
        trainer.fit(make_toy_images(128, seed=0), epochs=2, batch_size=16, seed=7)
        runs.append(trainer.step_losses)
    assert runs[0] == runs[1]


def test_early_stopping_stops():
    model = small_model()
    # lr=0: nothing improves, so patience 2 stops after 3 epochs
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.0), nn.CrossEntropyLoss(),
                      progress=False, log=None)
    trainer.fit(make_toy_images(64, seed=0), epochs=20, batch_size=32, shuffle=False,
                early_stopping_patience=2)
    assert trainer.epoch == 3


def test_gradient_clipping_is_applied(monkeypatch):
    calls = []
    import tinytorch.nn.utils as utils

    original = utils.clip_grad_norm_

    def recording_clip(params, max_norm):
        calls.append(max_norm)
        return original(params, max_norm)

    monkeypatch.setattr(utils, "clip_grad_norm_", recording_clip)
    model = small_model()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(),
                      clip_grad_norm=0.5, progress=False, log=None)
    trainer.fit(make_toy_images(64, seed=0), epochs=1, batch_size=32)
    assert calls == [0.5, 0.5]


def test_diverging_loss_is_reported():
    model = small_model()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=1e30), nn.CrossEntropyLoss(),
                      progress=False, log=None)
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="lower the learning"):
        trainer.fit(make_toy_images(64, seed=0), epochs=3, batch_size=8)


def test_accuracy_metric():
    logits = tt.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert accuracy(logits, tt.tensor([0, 1, 1])) == pytest.approx(2 / 3)
    assert accuracy(tt.tensor([[1.0], [-1.0]]), tt.tensor([[1.0], [1.0]])) == 0.5


def test_array_batches():
    x, y = np.arange(10.0).reshape(10, 1), np.arange(10)
    batches = list(ArrayBatches(x, y, batch_size=4, shuffle=False))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    with pytest.raises(ValueError, match="differ in length"):
        ArrayBatches(x, y[:5])


def test_checkpoint_round_trip_in_process(tmp_path):
    model = small_model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    trainer = Trainer(model, opt, nn.CrossEntropyLoss(), progress=False, log=None)
    trainer.fit(make_toy_images(64, seed=0), epochs=1, batch_size=16)
    path = tmp_path / "ckpt.npz"
    trainer.save_checkpoint(str(path))
    with np.load(path, allow_pickle=False) as stored:  # plain npz, no pickle
        assert len(stored.files) > 5
    state = serialization.load(path)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(state["model"][name], value)
    assert state["epoch"] == 1


def test_bad_checkpoint_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        serialization.load(tmp_path / "missing.npz")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(2))
    with pytest.raises(ValueError, match="not a TinyTorch checkpoint"):
        serialization.load(foreign)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable TinyTorch checkpoint"):
        serialization.load(garbage)


def _run(*args: str) -> None:
    env = dict(os.environ)
    result = subprocess.run([sys.executable, str(HERE / "_resume_run.py"), *args],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr


def test_resumed_run_continues_exactly_like_an_uninterrupted_one(tmp_path):
    """Save mid-training, load in a fresh process: the remaining losses are identical."""
    ckpt, full, first, second = (str(tmp_path / n) for n in
                                 ("ckpt.npz", "full.json", "first.json", "second.json"))
    _run("full", full)
    _run("first-half", ckpt, first)
    _run("second-half", ckpt, second)
    full_run = json.loads(Path(full).read_text())
    first_run = json.loads(Path(first).read_text())
    resumed = json.loads(Path(second).read_text())
    assert resumed["epoch"] == full_run["epoch"] == 4
    n_first = len(first_run["step_losses"])
    assert full_run["step_losses"][:n_first] == first_run["step_losses"]
    assert resumed["step_losses"] == full_run["step_losses"]  # bit-for-bit, every step
    assert resumed["history"]["lr"] == full_run["history"]["lr"]


def test_fit_on_new_data_trains_on_that_data():
    """A second ``fit`` with different data must not silently reuse the first data's batches."""
    model = small_model()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(),
                      progress=False, log=None)
    trainer.fit(make_toy_images(64, seed=0), epochs=1, batch_size=32)
    assert len(trainer.step_losses) == 2
    trainer.fit(make_toy_images(16, seed=1), epochs=2, batch_size=32)
    assert len(trainer.step_losses) == 3  # one batch of the 16 new samples


def test_resume_without_passing_data_to_load_checkpoint(tmp_path):
    """load_checkpoint(path) then fit(data): the shuffle order continues, as uninterrupted."""
    data = make_toy_images(96, seed=2)

    def trainer_for(seed):
        model = small_model(seed)
        return Trainer(model, optim.Adam(model.parameters(), lr=0.01), nn.CrossEntropyLoss(),
                       progress=False, log=None)

    full = trainer_for(0)
    full.fit(data, epochs=2, batch_size=16, seed=5)
    first = trainer_for(0)
    first.fit(data, epochs=1, batch_size=16, seed=5, checkpoint_path=str(tmp_path / "c.npz"))
    resumed = trainer_for(1)
    resumed.load_checkpoint(str(tmp_path / "c.npz"))
    resumed.fit(data, epochs=2, batch_size=16, seed=5)
    assert resumed.step_losses == full.step_losses
