"""Milestones after Module 10: the 1986 MLP and the 1998 CNN on real data.

The full Fashion-MNIST CNN run (>= 90% in <= 15 min) is README's main job and
runs in CI before the tests; here the same code runs on smaller budgets.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from tinytorch.cli import main

FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.slow
def test_mlp_on_digits_reaches_its_target(capsys):
    pytest.importorskip("sklearn")
    assert main(["milestone", "mlp", "--dataset", "digits"]) == 0
    out = capsys.readouterr().out
    assert "[PASSED]" in out and "backend numpy" in out


@pytest.mark.slow
@pytest.mark.skipif(not FASHION.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_cnn_on_a_slice_of_fashion_mnist_runs_end_to_end(capsys):
    code = main(["milestone", "cnn", "--dataset", "fashion-mnist", "--backend", "native",
                 "--limit", "4000", "--epochs", "1", "--target-accuracy", "0.7"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "backend native" in out and "s per training epoch" in out


def _write_cifar(folder: Path, n: int, rng: np.random.Generator) -> None:
    """Small files in the official CIFAR-10 python format (pickled dicts with bytes keys)."""
    root = folder / "cifar-10-batches-py"
    root.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        labels = rng.integers(0, 10, size=n)
        # class-dependent brightness so the tiny run has something to learn
        images = (rng.integers(0, 64, size=(n, 3072)) + labels[:, None] * 19).astype(np.uint8)
        with open(root / name, "wb") as f:
            pickle.dump({b"data": images, b"labels": labels.tolist(),
                         b"batch_label": name.encode()}, f, protocol=2)
    with open(root / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [f"class{i}".encode() for i in range(10)]}, f, protocol=2)


@pytest.mark.slow
def test_cnn_on_cifar_format_files(tmp_path, capsys):
    _write_cifar(tmp_path, n=20, rng=np.random.default_rng(0))
    code = main(["milestone", "cnn", "--dataset", "cifar10", "--data-dir", str(tmp_path),
                 "--backend", "native", "--epochs", "1", "--target-accuracy", "0.01",
                 "--batch-size", "25"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "100 training images (3x32x32)" in out


def test_missing_dataset_fails_with_a_clear_message(tmp_path, capsys):
    code = main(["milestone", "cnn", "--dataset", "cifar10", "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "[FAILED]" in out and "cannot load the dataset" in out and "--download" in out


def test_missed_target_exits_nonzero(capsys):
    pytest.importorskip("sklearn")
    code = main(["milestone", "mlp", "--dataset", "digits", "--epochs", "1", "--lr", "0.0"])
    assert code == 1
    assert "[FAILED]" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["perceptron", "--epochs", "0"], ["xor", "--steps", "0"], ["xor", "--hidden", "-1"],
    ["mlp", "--epochs", "-1"], ["mlp", "--limit", "0"], ["mlp", "--batch-size", "0"],
    ["cnn", "--epochs", "0"], ["cnn", "--limit", "x"],
], ids=lambda argv: " ".join(argv))
def test_non_positive_counts_are_usage_errors(capsys, argv):
    """A zero or negative count is a usage message (exit 2), not an IndexError traceback."""
    with pytest.raises(SystemExit) as exit_info:
        main(["milestone", *argv])
    assert exit_info.value.code == 2
    assert "positive integer" in capsys.readouterr().err
