"""Module 17: ``tinytorch quantize`` and the model registry it rebuilds checkpoints with.

Tiny models on scikit-learn's 8x8 digits (offline, seconds) and an untrained tiny GPT on
the Shakespeare text: round trips, exit codes, error messages, reload equality.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, quant, serialization
from tinytorch.backends import available_backends
from tinytorch.cli import main
from tinytorch.models import (GPT, ArchitectureError, from_config, lenet, load_model, mlp,
                              model_config, save_model, vgg_small)

BACKEND = "native" if "native" in available_backends() else "numpy"
pytest.importorskip("sklearn")  # the digits ship inside scikit-learn


def _digits(batch_size: int = 64):
    from tinytorch.milestones.common import load_image_data

    args = argparse.Namespace(dataset="digits", data_dir=None, download=False, limit=None)
    return load_image_data(args, batch_size)


def _train(model, epochs: int):
    from tinytorch import optim
    from tinytorch.training import Trainer

    tt.manual_seed(0)
    data = _digits()
    Trainer(model, optim.Adam(model.parameters(), lr=3e-3), nn.CrossEntropyLoss(),
            progress=False).fit(data.train, epochs)
    return model.eval()


@pytest.fixture(scope="module")
def mlp_checkpoint(tmp_path_factory):
    tt.manual_seed(0)
    model = _train(mlp(64, 32, 10), 6)
    path = tmp_path_factory.mktemp("quantize") / "mlp.npz"
    save_model(model, path, {"dataset": "digits"})
    return str(path)


def _run(*argv: str) -> int:
    return main(["quantize", *argv, "--backend", BACKEND])


# ---- the registry -----------------------------------------------------------------------
@pytest.mark.parametrize("build", [lambda: mlp(64, 16, 10), lambda: lenet(1, 8, 10),
                                   lambda: vgg_small(3, 10), lambda: GPT(11, 8, 1, 2, 16)],
                         ids=["mlp", "lenet", "vgg_small", "gpt"])
def test_registry_round_trip(build, tmp_path):
    model = build()
    config = model_config(model)
    again = from_config(config)
    assert model_config(again) == config
    assert {k: v.shape for k, v in again.state_dict().items()} == \
        {k: v.shape for k, v in model.state_dict().items()}
    save_model(model, tmp_path / "m.npz", {"note": "x"})
    loaded, state = load_model(tmp_path / "m.npz")
    assert state["meta"] == {"note": "x"} and state["architecture"] == config
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], value)


def test_registry_errors_name_the_problem(tmp_path):
    with pytest.raises(ArchitectureError, match="unknown architecture 'resnet'.*lenet"):
        from_config({"name": "resnet", "args": {}})
    with pytest.raises(ArchitectureError, match="cannot build 'mlp'"):
        from_config({"name": "mlp", "args": {"inputs": 4}})
    with pytest.raises(ArchitectureError, match="outside the model registry"):
        model_config(nn.Sequential(nn.Linear(2, 2)))
    old = tmp_path / "old.npz"  # weights only, as a checkpoint from before the registry
    serialization.save({"model": mlp(4, 3, 2).state_dict()}, old)
    with pytest.raises(ArchitectureError, match=r"old\.npz.*no 'architecture'.*--checkpoint"):
        load_model(old)
    bad = tmp_path / "bad.npz"
    serialization.save({"architecture": {"name": "mlp", "args": {"inputs": 5, "hidden": 3,
                                                                 "classes": 2}},
                        "model": mlp(4, 3, 2).state_dict()}, bad)
    with pytest.raises(ArchitectureError, match=r"bad\.npz.*do not fit"):
        load_model(bad)


def test_model_size_counts_a_tied_weight_once():
    tied, untied = GPT(50, 8, 1, 2, 16), GPT(50, 8, 1, 2, 16, tie_weights=False)
    assert quant.model_size_bytes(untied) - quant.model_size_bytes(tied) == 50 * 16 * 4
    assert quant.model_size_bytes(tied) == 4 * tied.num_parameters()


def test_quantized_checkpoint_reloads_quantized(tmp_path):
    tt.manual_seed(0)
    model = lenet(1, 8, 10).eval()
    x = tt.Tensor(np.random.default_rng(0).standard_normal((5, 1, 8, 8)).astype(np.float32))
    prepared = quant.prepare(model)
    with tt.no_grad():
        prepared(x)
    q = quant.convert(prepared)
    save_model(q, tmp_path / "q.npz")
    loaded, state = load_model(tmp_path / "q.npz")
    assert set(state["quantized"]) == {"0", "3", "7", "10"}
    assert isinstance(loaded[0], quant.QuantizedConv2d)
    with tt.no_grad():
        np.testing.assert_array_equal(loaded(x).data, q(x).data)


# ---- the command ------------------------------------------------------------------------
def test_quantize_dynamic_round_trip(mlp_checkpoint, tmp_path, capsys):
    out = str(tmp_path / "mlp8.npz")
    assert _run("--checkpoint", mlp_checkpoint, "--out", out) == 0
    text = capsys.readouterr().out
    for needle in ("test accuracy", "model size (bytes)", "latency per batch of",
                   "reloaded: the same outputs", "PASSED"):
        assert needle in text
    text.encode("ascii")  # plain ASCII: survives any terminal
    float_model, _ = load_model(mlp_checkpoint)
    q, state = load_model(out)
    assert set(state["quantized"]) == {"1", "3"} and state["meta"]["quantization"] == "dynamic"
    x = tt.Tensor(np.random.default_rng(1).standard_normal((7, 1, 8, 8)).astype(np.float32))
    with tt.use_backend(BACKEND), tt.no_grad():
        np.testing.assert_array_equal(q(x).data,
                                      quant.quantize_dynamic(float_model)(x).data)
    assert state["meta"]["fp32_test_accuracy"] - state["meta"]["int8_test_accuracy"] <= 0.5


def test_quantize_static_cnn(tmp_path, capsys):
    tt.manual_seed(0)
    model = _train(lenet(1, 8, 10), 3)
    path = tmp_path / "cnn.npz"
    save_model(model, path, {"dataset": "digits"})
    code = _run("--checkpoint", str(path), "--static", "--calibration-batches", "4")
    text = capsys.readouterr().out
    assert "static (Linear + Conv2d, 4 calibration batches" in text
    assert code == (0 if "PASSED" in text else 1) and "reloaded: the same outputs" in text
    _, state = load_model(tmp_path / "cnn.int8.npz")
    layers = state["quantized"]
    # each Conv2d / Linear followed by a ReLU is one int8 layer; the ReLU's place an Identity
    assert {s["kind"] for s in layers.values()} == {"conv2d", "linear", "identity"}
    assert all(s["relu"] for s in layers.values() if s["kind"] == "conv2d")


def test_budget_missed_exits_1(mlp_checkpoint, tmp_path, capsys):
    """One hidden unit turned into a constant 10^4 that the next layer ignores: the float
    model barely changes (one of 32 units gone), but one activation scale per tensor now
    spends all 256 codes on the outlier and rounds every other unit to zero (the outlier
    features that LLM.int8 was invented for)."""
    model, _ = load_model(mlp_checkpoint)
    fc1, fc2 = model[1], model[3]
    fc1.weight.data[0] = 0.0
    fc1.bias.data[0] = 1e4
    fc2.weight.data[:, 0] = 0.0
    path = tmp_path / "outlier.npz"
    save_model(model, path, {"dataset": "digits"})
    assert _run("--checkpoint", str(path)) == 1
    assert "MISSED: test accuracy fell by" in capsys.readouterr().out


def test_tinygpt_dynamic(tmp_path, capsys):
    from tinytorch.milestones.tinygpt_run import build_run
    from tinytorch.text import load_shakespeare

    settings = {"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 16, "batch_size": 4,
                "steps": 1, "lr": 1e-3, "warmup": 1, "eval_interval": 1, "eval_batches": 2,
                "target_loss": 9.0, "max_minutes": 1.0, "weight_decay": 0.1, "clip": 1.0,
                "seed": 0}
    run = build_run(settings, load_shakespeare("train"), load_shakespeare("val"))
    path = tmp_path / "gpt.npz"
    serialization.save(run.state_dict(), path)
    assert _run("--checkpoint", str(path)) == 0
    text = capsys.readouterr().out
    assert "val loss" in text and "nats" in text and "reloaded: the same outputs" in text
    q, state = load_model(tmp_path / "gpt.int8.npz")
    assert "lm_head" in state["quantized"]
    assert state["meta"]["vocabulary"] == "".join(run.tokenizer.itos)
    assert isinstance(q, GPT) and isinstance(q.lm_head, quant.QuantizedLinear)


@pytest.mark.parametrize("argv,message", [
    (["--checkpoint", "nowhere.npz"], "no checkpoint at nowhere.npz"),
    (["--checkpoint", "{mlp}", "--calibration-batches", "3"], "--calibration-batches is for "
                                                             "--static"),
    (["--checkpoint", "{mlp}", "--out", "{mlp}"], "would overwrite the float32 checkpoint"),
    (["--checkpoint", "{mlp}", "--out", "{tmp}/no/such/dir/x.npz"], "does not exist"),
    (["--checkpoint", "{mlp}", "--dataset", "imagenet"], "cannot load (known:"),
    (["--checkpoint", "{old}"], "no 'architecture' entry"),
    (["--checkpoint", "{alien}"], "unknown architecture 'resnet'"),
    (["--checkpoint", "{int8}"], "already quantized"),
    (["--checkpoint", "{junk}"], "not a readable TinyTorch checkpoint"),
], ids=["missing", "calibration-without-static", "overwrite", "out-folder", "dataset",
        "old", "unknown-architecture", "already-int8", "junk"])
def test_errors_exit_2_with_a_message(argv, message, mlp_checkpoint, tmp_path, capsys):
    serialization.save({"model": mlp(4, 3, 2).state_dict()}, tmp_path / "old.npz")
    serialization.save({"architecture": {"name": "resnet", "args": {}}, "model": {}},
                       tmp_path / "alien.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    float_model, _ = load_model(mlp_checkpoint)
    save_model(quant.quantize_dynamic(float_model), tmp_path / "int8.npz")
    names = {"mlp": mlp_checkpoint, "tmp": str(tmp_path), **{
        k: str(tmp_path / f"{k}.npz") for k in ("old", "alien", "int8", "junk")}}
    assert _run(*[a.format(**names) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinytorch quantize: ") and message in err


@pytest.mark.parametrize("argv", [["--calibration-batches", "0", "--static"],
                                  ["--backend", "gpu"], []])
def test_bad_flags_are_usage_errors(argv, mlp_checkpoint):
    with pytest.raises(SystemExit) as exc:
        main(["quantize", *(["--checkpoint", mlp_checkpoint] if argv else []), *argv])
    assert exc.value.code == 2


def test_output_survives_a_closed_pipe_and_an_ascii_terminal(mlp_checkpoint, tmp_path):
    env = dict(os.environ, PYTHONIOENCODING="ascii", LANG="C", LC_ALL="C")
    cmd = [sys.executable, "-m", "tinytorch", "quantize", "--checkpoint", mlp_checkpoint,
           "--out", str(tmp_path / "p.npz"), "--backend", BACKEND]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as p:
        p.stdout.readline()  # read the first line, then hang up like `| head -1`
        p.stdout.close()
        err = p.stderr.read().decode()
        p.wait(timeout=120)
    assert "Traceback" not in err and p.returncode in (0, 141)
