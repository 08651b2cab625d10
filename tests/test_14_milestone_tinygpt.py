"""Milestone 2019 TinyGPT: the --quick run end to end (slow), and fast checks of what
the milestone promises -- an interrupted run resumes to exactly the same result, a
missed target exits 1, ``tinytorch generate`` reads the checkpoint, bad input is a
clear error.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch import serialization
from tinytorch.cli import main
from tinytorch.data import DatasetError
from tinytorch.milestones import tinygpt_run


@pytest.fixture(scope="module", autouse=True)
def _corpus():
    from tinytorch.text.corpus import read_shakespeare

    try:
        read_shakespeare()
    except DatasetError as exc:
        pytest.skip(f"no Shakespeare corpus here: {exc}")


SMALL = ["milestone", "tinygpt", "--quick", "--steps", "6", "--eval-interval", "3",
         "--target-loss", "10", "--seed", "3"]


@pytest.mark.slow
def test_quick_milestone_reaches_its_target(capsys):
    # The learning target is what this test checks; speed is measured, not asserted
    # (a shared CI machine can take longer than the 2-minute budget of --quick).
    code = main(["milestone", "tinygpt", "--quick", "--backend", "native", "--max-minutes", "20"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "[PASSED]" in out and "parameters" in out and "MFLOP/token" in out
    assert "Sample (prompt 'ROMEO:'" in out and "tokens/s" in out


def test_missed_target_exits_nonzero(capsys):
    code = main(["milestone", "tinygpt", "--quick", "--steps", "2"])
    out = capsys.readouterr().out
    assert code == 1
    assert "[FAILED]" in out and "validation loss above target" in out


def test_time_budget_is_enforced(capsys):
    code = main([*SMALL, "--max-minutes", "0"])
    out = capsys.readouterr().out
    assert code == 1 and "over the time budget" in out


def test_interrupted_run_resumes_exactly(tmp_path, monkeypatch, capsys):
    whole, part = tmp_path / "whole.npz", tmp_path / "part.npz"
    assert main([*SMALL, "--checkpoint", str(whole)]) == 0

    original, calls = tinygpt_run.Run.train_step, []

    def interrupted(self):
        calls.append(self.step)
        if len(calls) == 5:  # Ctrl-C during step 5: the checkpoint of step 3 survives
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(tinygpt_run.Run, "train_step", interrupted)
    assert main([*SMALL, "--checkpoint", str(part)]) == 130
    assert serialization.load(part)["step"] == 3
    monkeypatch.setattr(tinygpt_run.Run, "train_step", original)
    assert main(["milestone", "tinygpt", "--resume", str(part), "--target-loss", "10"]) == 0
    assert "resumed" in capsys.readouterr().out
    a, b = serialization.load(whole), serialization.load(part)
    assert b["step"] == a["step"] == 6
    assert a["history"] == b["history"]  # every loss and learning rate, bit for bit
    for name, value in a["model"].items():
        np.testing.assert_array_equal(b["model"][name], value, err_msg=name)


def test_resume_refuses_a_different_shape_and_foreign_files(tmp_path, capsys):
    path = tmp_path / "run.npz"
    assert main([*SMALL, "--steps", "3", "--checkpoint", str(path)]) == 0
    assert main(["milestone", "tinygpt", "--resume", str(path), "--steps", "9"]) == 1
    assert "drop --steps 9" in capsys.readouterr().out
    foreign = tmp_path / "foreign.npz"
    serialization.save({"weights": np.zeros(3)}, foreign)
    assert main(["milestone", "tinygpt", "--resume", str(foreign)]) == 1
    assert "not a TinyGPT milestone checkpoint" in capsys.readouterr().out


def test_generate_samples_from_a_checkpoint(tmp_path, capsys):
    path = tmp_path / "run.npz"
    assert main([*SMALL, "--steps", "3", "--checkpoint", str(path)]) == 0
    capsys.readouterr()
    # --no-cache: the KV cache (on by default) is Module 16's
    argv = ["generate", "--checkpoint", str(path), "--prompt", "ROMEO:", "--tokens", "40",
            "--top-k", "5", "--seed", "1", "--no-cache"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out == first  # same seed, same text
    assert first.startswith("ROMEO:") and len(first) == len("ROMEO:") + 40 + 1  # + newline


def test_generate_names_a_missing_or_foreign_checkpoint(tmp_path, capsys):
    assert main(["generate", "--checkpoint", str(tmp_path / "nope.npz")]) == 1
    assert "no checkpoint at" in capsys.readouterr().err
    foreign = tmp_path / "foreign.npz"
    serialization.save({"kind": "something-else"}, foreign)
    assert main(["generate", "--checkpoint", str(foreign)]) == 1
    assert f"{foreign} is not a TinyGPT checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["milestone", "tinygpt", "--steps", "0"], ["milestone", "tinygpt", "--batch-size", "-2"],
    ["milestone", "tinygpt", "--eval-interval", "x"], ["generate", "--checkpoint", "a",
                                                       "--tokens", "0"],
    ["generate", "--checkpoint", "a", "--temperature", "0"],
], ids=lambda argv: " ".join(argv))
def test_bad_counts_are_usage_errors(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


def test_a_huge_batch_size_is_refused_before_any_work(capsys):
    """The range check of every count (issue 15's review): --batch-size is at most 65536."""
    with pytest.raises(SystemExit) as exit_info:
        main(["milestone", "tinygpt", "--batch-size", "1000000"])
    assert exit_info.value.code == 2
    assert "at most 65536" in capsys.readouterr().err
