"""Issue 15, reliability review: the checkpoint findings, one regression test each.

A checkpoint from another model, optimizer or scheduler, or a broken or hostile
file, is refused with an error naming the key -- and refusing it changes nothing.
"""

from __future__ import annotations

import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, optim, serialization
from tinytorch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR, StepLR
from tinytorch.serialization import CheckpointError
from tinytorch.training import Trainer, make_toy_images


def small_model(seed: int = 0) -> nn.Module:
    tt.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 2))


def trained(opt_cls=optim.Adam, seed: int = 0, epochs: int = 1, **opt_kwargs) -> Trainer:
    model = small_model(seed)
    trainer = Trainer(model, opt_cls(model.parameters(), lr=0.01, **opt_kwargs),
                      nn.CrossEntropyLoss(), progress=False, log=None)
    trainer.fit(make_toy_images(64, seed=seed), epochs=epochs, batch_size=16)
    return trainer


def snapshot(trainer: Trainer) -> dict:
    state = trainer.state_dict()
    return json.loads(json.dumps(serialization._flatten(state, arrays := {}, ""))), {
        k: v.copy() for k, v in arrays.items()}


def assert_unchanged(trainer: Trainer, before) -> None:
    meta, arrays = snapshot(trainer)
    assert meta == before[0]
    assert arrays.keys() == before[1].keys()
    for key, value in arrays.items():
        np.testing.assert_array_equal(value, before[1][key])


@pytest.mark.parametrize("key,bad,message", [
    ("epoch", -1, "'epoch' must be an int >= 0"),
    ("epoch", "3", "'epoch' must be an int >= 0"),
    ("step_losses", [1.0, "x"], "'step_losses' must be a list of numbers"),
    ("history", {"train_loss": [1.0]}, "'history' must be a dict of number lists"),
    ("global_rng", 5, "'global_rng' must be a NumPy bit-generator state"),
    ("best_loss", "low", "'best_loss' must be a number or None"),
])
def test_load_checkpoint_checks_fields_before_changing_anything(tmp_path, key, bad, message):
    source = trained(seed=1, epochs=2)
    target = trained(seed=0)
    path = tmp_path / "ckpt.npz"
    state = source.state_dict()
    state[key] = bad
    serialization.save(state, path)
    before = snapshot(target)
    with pytest.raises(ValueError, match=message):
        target.load_checkpoint(str(path))
    assert_unchanged(target, before)


def test_load_checkpoint_rolls_back_when_a_late_part_fails(tmp_path):
    # the RNG state is only refused by NumPy, after model and optimizer were restored
    source = trained(seed=1, epochs=2)
    target = trained(seed=0)
    state = source.state_dict()
    state["global_rng"] = dict(state["global_rng"], bit_generator="MT19937")
    path = tmp_path / "ckpt.npz"
    serialization.save(state, path)
    before = snapshot(target)
    with pytest.raises(ValueError):
        target.load_checkpoint(str(path))
    assert_unchanged(target, before)
    state = source.state_dict()
    state["model"] = {k: v[..., :1] for k, v in state["model"].items()}  # wrong shapes
    serialization.save(state, path)
    with pytest.raises((ValueError, RuntimeError)):
        target.load_checkpoint(str(path))
    assert_unchanged(target, before)


def test_checkpoint_missing_keys_are_named(tmp_path):
    state = trained().state_dict()
    del state["epoch"], state["shuffle_rng"]
    path = tmp_path / "ckpt.npz"
    serialization.save(state, path)
    with pytest.raises(ValueError, match="missing 'epoch', 'shuffle_rng'"):
        trained().load_checkpoint(str(path))


def test_sgd_checkpoint_into_adam_is_rejected_naming_the_key(tmp_path):
    path = tmp_path / "sgd.npz"
    trained(optim.SGD, momentum=0.9).save_checkpoint(str(path))
    adam = trained(optim.Adam)
    before = snapshot(adam)
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: param_groups\[0\] (is missing|"
                                         r"has an unexpected) hyper-parameter '\w+' \(a state "
                                         r"dict of another optimizer type"):
        adam.load_checkpoint(str(path))
    assert_unchanged(adam, before)


@pytest.mark.parametrize("key,bad", [("lr", "fast"), ("lr", float("nan")), ("lr", -1.0),
                                     ("betas", (0.9,)), ("eps", None)])
def test_optimizer_hyperparameters_of_the_wrong_type_are_rejected(key, bad):
    model = small_model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    state = opt.state_dict()
    state["param_groups"][0][key] = bad
    with pytest.raises(ValueError, match=key if key != "lr" else "lr|learning rate"):
        opt.load_state_dict(state)
    assert opt.param_groups[0]["lr"] == 0.01


def make_optimizer():
    return optim.SGD(small_model().parameters(), lr=0.1)


@pytest.mark.parametrize("change,message", [
    ({"optimizer": 5}, "unexpected key 'optimizer'"),
    ({"step_size": 0}, "step_size must be a positive integer"),
    ({"step_size": 2.5}, "'step_size' is 2.5"),
    ({"step_size": "3"}, "'step_size' is '3'"),
    ({"gamma": float("inf")}, "'gamma' is inf"),
    ({"base_lrs": [0.1, 0.2]}, "'base_lrs'"),
    ({"last_epoch": None}, "'last_epoch' is None"),
    ({"__class__": 1}, "unexpected key '__class__'"),
])
def test_scheduler_state_is_validated_not_dict_updated(change, message):
    scheduler = StepLR(make_optimizer(), step_size=3)
    scheduler.step()
    before = dict(scheduler.__dict__)
    with pytest.raises(ValueError, match=message):
        scheduler.load_state_dict({**scheduler.state_dict(), **change})
    assert scheduler.__dict__ == before
    missing = scheduler.state_dict()
    del missing["gamma"]
    with pytest.raises(ValueError, match="missing 'gamma'"):
        scheduler.load_state_dict(missing)


def test_scheduler_state_of_another_scheduler_and_sequential_inner_checks():
    opt = make_optimizer()
    with pytest.raises(ValueError, match="unexpected key"):
        CosineAnnealingLR(opt, T_max=5).load_state_dict(StepLR(make_optimizer(), 2).state_dict())
    opt = make_optimizer()
    warm, decay = LinearLR(opt, start_factor=0.5, total_iters=2), CosineAnnealingLR(opt, T_max=4)
    sequence = SequentialLR(opt, [warm, decay], milestones=[2])
    state = sequence.state_dict()
    state["_schedulers"][1]["T_max"] = 0
    before = (dict(warm.__dict__), dict(decay.__dict__), sequence.last_epoch)
    with pytest.raises(ValueError, match="T_max must be positive"):
        sequence.load_state_dict(state)
    assert (dict(warm.__dict__), dict(decay.__dict__), sequence.last_epoch) == before
    state = sequence.state_dict()
    state["_milestones"] = [3, 1]
    with pytest.raises(ValueError, match="'_milestones'"):
        sequence.load_state_dict(state)
    good = sequence.state_dict()
    sequence.step()
    sequence.load_state_dict(good)  # a valid state still loads
    assert sequence.state_dict() == good


def test_user_dicts_with_the_format_tags_round_trip(tmp_path):
    obj = {
        "t": {"__tuple__": [1, 2]},
        "b": {"__bigint__": "12345"},
        "a": {"__array__": "a0"},
        "k": {"__int_keys__": [[1, 2]], "other": 3},
        "s": {"__str_keys__": []},
        "nested": [{"__tuple__": ({"__array__": np.arange(3)},)}],
        "real": (1, 2**70, np.ones(2, np.float32)),
    }
    path = tmp_path / "tags.npz"
    serialization.save(obj, path)
    loaded = serialization.load(path)
    assert loaded["t"] == {"__tuple__": [1, 2]} and loaded["b"] == {"__bigint__": "12345"}
    assert loaded["a"] == {"__array__": "a0"} and loaded["s"] == {"__str_keys__": []}
    assert loaded["k"] == {"__int_keys__": [[1, 2]], "other": 3}
    inner = loaded["nested"][0]["__tuple__"]
    assert isinstance(inner, tuple)
    np.testing.assert_array_equal(inner[0]["__array__"], np.arange(3))
    assert loaded["real"][:2] == (1, 2**70)
    np.testing.assert_array_equal(loaded["real"][2], np.ones(2, np.float32))


def write_npz_bomb(path, elements: int) -> None:
    """An .npz whose one array is `elements` zeros of float32, deflated (tiny on disk)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("__tinytorch_meta__.npy", "w") as f:
            np.lib.format.write_array(f, np.array(json.dumps({"w": {"__array__": "a0"}})))
        with archive.open("a0.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f4", "fortran_order": False, "shape": (elements,)})
            chunk = bytes(1 << 20)
            for _ in range(elements * 4 // len(chunk)):
                f.write(chunk)


def test_npz_bomb_is_refused_before_it_is_inflated(tmp_path):
    path = tmp_path / "bomb.npz"
    write_npz_bomb(path, 64 << 20)  # 256 MiB of zeros
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="declares .* bytes of arrays, more than the "
                                                  "limit"):
            serialization.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    small = tmp_path / "small.npz"
    write_npz_bomb(small, 1 << 18)  # 1 MiB: under the 64 MiB floor, loads
    assert serialization.load(small)["w"].shape == (1 << 18,)
    with pytest.raises(CheckpointError, match="more than the limit of 1000"):
        serialization.load(small, max_bytes=1000)


def write_meta(path, meta_text, **arrays) -> None:
    np.savez(path, __tinytorch_meta__=np.array(meta_text), **arrays)


@pytest.mark.parametrize("meta", [
    "{not json",
    json.dumps({"w": {"__array__": "a9"}}),
    json.dumps({"w": {"__array__": 5}}),
    json.dumps({"w": {"__array__": "__tinytorch_meta__"}}),
    json.dumps({"s": {"__int_keys__": 5}}),
    json.dumps({"s": {"__int_keys__": [[1]]}}),
    json.dumps({"s": {"__int_keys__": [["x", 1]]}}),
    json.dumps({"s": {"__str_keys__": [[1, 2]]}}),
    json.dumps({"s": {"__tuple__": 5}}),
    json.dumps({"s": {"__bigint__": "12ab"}}),
    json.dumps({"s": {"__bigint__": 5}}),
    "[" * 100000 + "]" * 100000,
    json.dumps(json.loads("[" * 150 + "]" * 150)),
])
def test_malformed_metadata_is_a_clear_error(tmp_path, meta):
    path = tmp_path / "bad.npz"
    write_meta(path, meta, a0=np.zeros(2))
    with pytest.raises(CheckpointError, match="bad.npz"):
        serialization.load(path)


def test_metadata_entry_of_the_wrong_type_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, __tinytorch_meta__=np.arange(3))
    with pytest.raises(CheckpointError, match="malformed metadata entry"):
        serialization.load(path)
