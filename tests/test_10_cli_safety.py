"""Issue 15, reliability review: the command line's findings, one regression test each.

Commands whose output goes nowhere (a closed pipe, a full disk, an ASCII-only
terminal) run in child processes; they run ``python -m tinytorch`` with a
guard variable set, and never pytest.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from tinytorch.cli import main
from tinytorch.milestones import accuracy_target
from tinytorch.milestones.plotting import ascii_curve

CHILD_FLAG = "TINYTORCH_CLI_SAFETY_CHILD"
QUICK = {"doctor": ["doctor"], "milestone": ["milestone", "xor", "--steps", "20"],
         "bench": ["bench", "--quick"]}


def run_cli(args: list[str], stdout=subprocess.PIPE, timeout: float = 300,
            **env: str) -> subprocess.CompletedProcess:
    if os.environ.get(CHILD_FLAG):
        pytest.skip("already inside a CLI safety child process")
    flags = ["-S"] if sys.flags.no_site else []
    return subprocess.run([sys.executable, *flags, "-m", "tinytorch", *args], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=timeout,
                          env={**os.environ, CHILD_FLAG: "1", **env})


@pytest.mark.parametrize("command", sorted(QUICK))
def test_reader_that_goes_away_ends_the_command_quietly(command):
    # like `tinytorch doctor | head -1`, deterministically: the reader is gone before
    # the first write, so every write meets EPIPE
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = run_cli(QUICK[command], stdout=write_end)
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, \
        result.stderr
    assert result.returncode == 141, result.stderr


def test_pipe_into_head_in_a_shell():
    if os.environ.get(CHILD_FLAG):
        pytest.skip("child")
    flags = "-S " if sys.flags.no_site else ""
    result = subprocess.run(
        f"'{sys.executable}' {flags}-m tinytorch milestone xor --steps 200 | head -1",
        shell=True, capture_output=True, text=True, timeout=300,
        env={**os.environ, CHILD_FLAG: "1"})
    assert result.stdout.count("\n") == 1
    assert "Traceback" not in result.stderr, result.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_is_one_clean_line():
    with open("/dev/full", "w") as full:
        result = run_cli(["doctor"], stdout=full)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "tinytorch: cannot write the output (No space left on device)" in result.stderr


def test_bogus_backend_in_the_environment_is_a_message():
    result = run_cli(["milestone", "xor", "--steps", "5"], TINYTORCH_BACKEND="bogus")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "unknown backend in $TINYTORCH_BACKEND 'bogus'; valid backends are" in result.stderr
    doctor = run_cli(["doctor"], TINYTORCH_BACKEND="bogus")
    assert "Traceback" not in doctor.stderr and "bogus" in doctor.stdout


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii"},
                                 {"LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": ""}])
def test_output_survives_a_non_utf8_terminal(env):
    for args in (["doctor"], ["milestone", "perceptron"], ["milestone", "list"]):
        result = run_cli(args, **env)
        assert "Traceback" not in result.stderr and "UnicodeEncodeError" not in result.stderr, \
            (args, result.stderr)
        assert result.returncode in (0, 1), (args, result.stderr)
        assert result.stdout.strip()


@pytest.mark.parametrize("argv,message", [
    (["milestone", "xor", "--plot", "/nonexistent-folder/curve.png"], "does not exist"),
    (["milestone", "xor", "--plot", "curve.txt"], "must end in .png"),
    (["milestone", "perceptron", "--plot", "."], "must end in|is a folder"),
])
def test_plot_path_is_checked_before_the_run(argv, message, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message.split("|")[0] in captured.err or message.split("|")[-1] in captured.err
    assert "===" not in captured.out  # the milestone did not start


@pytest.mark.parametrize("png,message", [("/nonexistent-folder/chart.png", "does not exist"),
                                         ("chart.csv", "must end in .png")])
def test_bench_png_is_checked_before_timing(png, message, capsys):
    pytest.importorskip("matplotlib")
    assert main(["bench", "--quick", "--png", png]) == 2
    out = capsys.readouterr().out
    assert message in out and "GFLOP" not in out


@pytest.mark.parametrize("argv,message", [
    (["milestone", "xor", "--hidden", str(10**12)], "at most 65536"),
    (["milestone", "xor", "--steps", "2147483648"], "at most 10000000"),
    (["milestone", "mlp", "--batch-size", str(10**9)], "at most 65536"),
    (["milestone", "mlp", "--epochs", "99999999999"], "at most"),
    (["milestone", "mlp", "--limit", str(10**12)], "at most"),
    (["milestone", "xor", "--lr", "nan"], "finite number"),
    (["milestone", "mlp", "--target-accuracy", "9500"], "percentage"),
    (["bench", "--steps-size", "100000"], "at most 8192"),
    (["generate", "--checkpoint", "x.npz", "--tokens", "99999999999"], "at most"),
])
def test_counts_are_range_checked(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_perceptron_explains_a_miss_before_the_verdict(capsys):
    assert main(["milestone", "perceptron", "--epochs", "1"]) == 1
    out = capsys.readouterr().out
    assert "Not converged" in out and "allow more epochs" in out
    assert out.index("Not converged") < out.index("Test accuracy") < out.index("[FAILED]")
    assert "not converged in 1 epoch(s)" in out.split("[FAILED]")[1]


@pytest.mark.parametrize("text,fraction", [("0.95", 0.95), ("95", 0.95), ("97.5", 0.975),
                                           ("1", 1.0), ("100", 1.0)])
def test_target_accuracy_is_a_fraction_or_a_percentage(text, fraction):
    assert accuracy_target(text) == pytest.approx(fraction)


@pytest.mark.parametrize("text", ["0", "-5", "101", "9500", "nan", "inf", "high"])
def test_target_accuracy_out_of_range_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        accuracy_target(text)


def test_mlp_labels_the_test_set_and_says_which_target(capsys):
    pytest.importorskip("sklearn")
    main(["milestone", "mlp", "--dataset", "digits", "--epochs", "1", "--target-accuracy", "50"])
    out = capsys.readouterr().out
    assert "target: 50.0% test accuracy (from --target-accuracy)" in out
    assert "| test loss" in out and "| val loss" not in out


@pytest.mark.parametrize("value", [2.0, -3.5, 0.0, 1e6])
def test_ascii_curve_of_a_flat_series_is_on_the_row_of_its_value(value):
    lines = ascii_curve({"flat": [value] * 7}, height=12).splitlines()
    rows = [line for line in lines[1:13] if "*" in line]
    assert len(rows) == 1
    assert float(rows[0].split("|")[0]) == pytest.approx(value, rel=1e-4, abs=1e-4)


def test_ascii_curve_puts_extremes_on_the_labelled_rows():
    lines = ascii_curve({"line": [0.0, 1.0, 2.0, 3.0]}, width=4, height=4).splitlines()
    grid = lines[1:5]
    assert [float(row.split("|")[0]) for row in grid] == [3.0, 2.0, 1.0, 0.0]
    assert [row.split("|")[1] for row in grid] == ["   *", "  * ", " *  ", "*   "]
