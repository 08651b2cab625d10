"""Module 19: ``tinytorch profile`` -- tables, trace, bad arguments, a closed pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import NOT_APPLICABLE  # noqa: E402
from tinytorch.backends import available_backends
from tinytorch.cli import main


def test_profile_prints_training_and_inference_tables_and_writes_a_trace(tmp_path, capsys):
    trace = tmp_path / "mlp.json"
    assert main(["profile", "mlp", "--steps", "2", "--batch-size", "8", "--trace",
                 str(trace), "--row-limit", "5", "--memory"]) == 0
    out = capsys.readouterr().out
    assert out.count("Self CPU time total:") == 2
    assert "Training: 2 step(s)" in out and "Inference: 1 forward pass" in out
    assert "matmul" in out and "CPU Mem" in out and "profiling overhead" in out
    assert "cover" in out and "% of the wall time" in out
    events = json.loads(trace.read_text())["traceEvents"]
    names = {e["name"] for e in events if e["ph"] == "X"}
    assert {"ProfilerStep#0", "ProfilerStep#1", "inference"} <= names


def test_profile_groups_by_input_shape(capsys):
    assert main(["profile", "mlp", "--steps", "1", "--batch-size", "4", "--threads", "1",
                 "--group-by-shape"]) == 0
    assert "[[4, 784], [784, 256]]" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["profile", "resnet"], "invalid choice"),
    (["profile", "cnn", "--steps", "0"], "positive integer"),
    (["profile", "cnn", "--backend", "gpu"], "invalid choice"),
    (["profile", "cnn", "--sort-by", "cuda_time_total"], "invalid choice"),
    (["profile", "cnn", "--threads", "-1"], "positive integer"),
])
def test_bad_arguments_exit_non_zero_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_missing_trace_folder_is_an_error_before_any_work(tmp_path, capsys):
    assert main(["profile", "mlp", "--trace", str(tmp_path / "no" / "t.json")]) == 1
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.skipif("native" in available_backends(),
                    reason=f"{NOT_APPLICABLE} the native build is present")
def test_an_unavailable_backend_says_so(capsys):
    assert main(["profile", "mlp", "--backend", "native"]) == 1
    assert "native" in capsys.readouterr().err


def test_survives_a_closed_pipe():
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    command = (f"{sys.executable} -m tinytorch profile mlp --steps 1 --batch-size 4 | head -1;"
               " exit ${PIPESTATUS[0]}")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                            timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and len(result.stdout.splitlines()) == 1


def test_the_command_lines_lists_equal_the_profilers():
    """cli/profile.py spells its choices out (building the parser must not import Module 19)."""
    from tinytorch.cli.profile import SORT_CHOICES, WORKLOAD_NAMES
    from tinytorch.profiler.events import SORT_KEYS
    from tinytorch.profiler.workloads import WORKLOADS

    assert set(WORKLOAD_NAMES) == set(WORKLOADS) and SORT_CHOICES == SORT_KEYS
