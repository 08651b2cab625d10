"""Milestones after Modules 04 and 06: the perceptron (1957) and XOR (1969)."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.cli import main
from tinytorch.milestones import xor


def test_xor_milestone_passes(capsys):
    assert main(["milestone", "xor"]) == 0
    out = capsys.readouterr().out
    assert "[PASSED]" in out
    assert "accuracy 100%" in out


def test_single_layer_cannot_fit_xor_but_mlp_can():
    linear_losses, linear_accuracy = xor.train(xor.single_layer(0), steps=1500, lr=0.5)
    mlp_losses, mlp_accuracy = xor.train(xor.two_layer_mlp(0), steps=1500, lr=0.5)
    assert linear_accuracy <= 0.75
    assert linear_losses[-1] == pytest.approx(np.log(2), abs=1e-3)  # best a line can do
    assert mlp_accuracy == 1.0 and mlp_losses[-1] < 0.05


def test_xor_loss_curves_identical_on_every_backend():
    curves = {}
    for name in tt.available_backends():
        with tt.use_backend(name):
            curves[name], _ = xor.train(xor.two_layer_mlp(seed=3), steps=300, lr=0.5)
    reference = curves["numpy"]
    for name, losses in curves.items():
        np.testing.assert_allclose(losses, reference, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name} diverged from numpy")


def test_milestone_exits_nonzero_when_it_misses(capsys):
    # 3 steps cannot solve XOR: the command must say FAILED and exit 1
    assert main(["milestone", "xor", "--steps", "3"]) == 1
    assert "[FAILED]" in capsys.readouterr().out


def test_perceptron_milestone_passes(capsys):
    assert main(["milestone", "perceptron"]) == 0
    assert "[PASSED]" in capsys.readouterr().out


def test_unknown_milestone_is_an_error(capsys):
    assert main(["milestone", "alexnet-on-a-toaster"]) == 2
    assert "available:" in capsys.readouterr().out
