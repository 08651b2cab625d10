"""Module 20 Capstone: the ladder's guardrails, the submission schema, the plug-in point,
the command line, and a tiny end-to-end ladder for each workload."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest

from tinytorch.capstone import (
    STEPS,
    Measured,
    System,
    judge,
    load_plugin,
    ratios,
    register_step,
    run_ladder,
    steps_for,
    unregister_step,
)
from tinytorch.capstone.ladder import RUN_ID
from tinytorch.capstone.report import ladder_table, markdown, write_report
from tinytorch.capstone.submission import SubmissionError, build, targets, validate
from tinytorch.cli import main


def measured(quality: float, primary_s: float = 1.0, size: int = 1000, **kw) -> Measured:
    return Measured(quality=quality, latency_p50_s=primary_s / 10, latency_p99_s=primary_s / 5,
                    primary_s=primary_s, throughput=100.0 / primary_s, size_bytes=size,
                    peak_memory_bytes=10, top_ops=[{"name": "numpy::matmul", "self_ms": 1.0,
                                                     "calls": 2, "share": 0.5}], **kw)


# ---- the guardrail and the ratios (the exercises) ------------------------------------------
def test_judge_rejects_a_step_beyond_the_quality_budget():
    base = measured(0.90)
    ok, delta, _ = judge(base, measured(0.8905), True, 0.01)
    assert ok and delta == pytest.approx(-0.0095)
    # exactly one point (1780 vs 1800 of 2000 images) is within "<= 1 point", although
    # 0.9 - 0.89 is 0.010000000000000009 in binary floating point
    assert judge(measured(1800 / 2000), measured(1780 / 2000), True, 0.01)[0]
    assert not judge(measured(1800 / 2000), measured(1779 / 2000), True, 0.01)[0]
    ok, delta, reason = judge(base, measured(0.885), True, 0.01)    # 1.5 points lost
    assert not ok and delta == pytest.approx(-0.015) and "budget" in reason
    assert judge(base, measured(0.95), True, 0.01)[0]                # better is fine
    loss = measured(1.60)                                            # a loss: lower is better
    assert judge(loss, measured(1.64), False, 0.05)[0]
    assert not judge(loss, measured(1.66), False, 0.05)[0]
    assert judge(loss, measured(1.20), False, 0.05)[0]


def test_judge_rejects_a_failed_check_whatever_the_quality():
    ok, _, reason = judge(measured(1.6), measured(1.6, checks={"cached == uncached": False}),
                          False, 0.05)
    assert not ok and "cached == uncached" in reason
    assert judge(measured(1.6), measured(1.6, checks={"cached == uncached": True}), False,
                 0.05)[0]


def test_ratios_are_baseline_over_rung_and_only_within_one_process():
    speedup, compression = ratios(measured(0.9, 2.0, 4000), measured(0.9, 0.5, 1000))
    assert speedup == pytest.approx(4.0) and compression == pytest.approx(4.0)
    other = replace(measured(0.9, 0.5), run_id="another-process")
    with pytest.raises(ValueError, match="same process"):
        ratios(measured(0.9), other)


# ---- a rigged ladder ---------------------------------------------------------------------------
class RiggedWorkload:
    """Measurements set by the test: each step says what quality and speed it 'gets'."""

    name = "cnn"
    metric = "test accuracy"
    higher_is_better = True
    budget = 0.01
    primary_unit = "batch of 256"
    throughput_unit = "images/s"

    def __init__(self, outcomes: dict[str, tuple[float, float, int]]) -> None:
        self.outcomes = outcomes

    def initial_system(self) -> System:
        return System(model="weights", extra={"applied": ()})

    def measure(self, system: System) -> Measured:
        applied = system.extra["applied"]
        quality, seconds, size = self.outcomes[applied[-1] if applied else "baseline"]
        return measured(quality, seconds, size)

    def describe(self) -> dict:
        return {"model": "rigged", "data": "none", "quality": "set by the test",
                "speed": "set by the test", "baseline": "set by the test"}


@pytest.fixture
def rigged_steps():
    seen: dict[str, tuple] = {}

    def make(name):
        def step(system, workload):
            seen[name] = system.extra["applied"]
            return system.replace(extra={"applied": system.extra["applied"] + (name,)})
        return step

    names = ["rig_fast", "rig_broken", "rig_after"]
    for i, name in enumerate(names):
        register_step(name, models=("cnn",), order=1000 + i, change=f"{name} change")(make(name))
    yield names, seen
    for name in names:
        unregister_step(name)


def test_a_rigged_step_worse_than_the_budget_is_rejected_and_not_carried_forward(
        rigged_steps, tmp_path):
    names, seen = rigged_steps
    work = RiggedWorkload({"baseline": (0.90, 1.0, 4000), "rig_fast": (0.899, 0.5, 4000),
                           # 20x faster but 3 points worse: must not count
                           "rig_broken": (0.87, 0.05, 1000), "rig_after": (0.898, 0.25, 2000)})
    ladder = run_ladder(work, only=names, log=lambda s: None)
    verdicts = {r.step: r.accepted for r in ladder.rungs}
    assert verdicts == {"baseline": True, "rig_fast": True, "rig_broken": False,
                        "rig_after": True}
    # the step after the rejected one started from the last accepted system
    assert seen["rig_after"] == ("rig_fast",)
    assert ladder.final.extra["applied"] == ("rig_fast", "rig_after")
    assert ladder.last.step == "rig_after" and ladder.last.speedup == pytest.approx(4.0)
    doc = build(ladder, work, True, ["tinytorch capstone --model cnn"], 1.0)
    # the final figures never come from the rejected rung's 20x
    assert doc["final"]["speedup"] == pytest.approx(4.0)
    assert doc["final"]["compression"] == pytest.approx(2.0)
    report = write_report(doc, tmp_path)
    text = report.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| rig_broken"))
    assert "**rejected**" in row and "budget" in row
    for chart in ("pareto.png", "speedup.png", "ops.png"):
        assert (tmp_path / chart).stat().st_size > 1000
    validate(json.loads((tmp_path / "submission.json").read_text()))


def test_targets_are_judged_on_the_final_rung(rigged_steps):
    names, _ = rigged_steps
    work = RiggedWorkload({"baseline": (0.90, 1.0, 4000), "rig_fast": (0.899, 0.5, 4000),
                           "rig_broken": (0.87, 0.05, 1000), "rig_after": (0.898, 0.25, 1000)})
    ladder = run_ladder(work, only=names, log=lambda s: None)
    judged = {t["name"]: t["passed"] for t in targets("cnn", ladder.last, True)}
    assert judged == {"speedup per batch": True, "size reduction": True, "accuracy loss": True}
    work.outcomes["rig_after"] = (0.898, 0.5, 1000)  # only 2x faster: the target is missed
    ladder = run_ladder(work, only=names, log=lambda s: None)
    doc = build(ladder, work, True, ["x"], 1.0)
    assert not doc["passed"]
    assert [t["passed"] for t in doc["targets"]] == [False, True, True]


# ---- the schema ----------------------------------------------------------------------------
@pytest.fixture
def document(rigged_steps):
    names, _ = rigged_steps
    work = RiggedWorkload({"baseline": (0.90, 1.0, 4000), "rig_fast": (0.899, 0.5, 4000),
                           "rig_broken": (0.87, 0.05, 1000), "rig_after": (0.898, 0.25, 1000)})
    return build(run_ladder(work, only=names, log=lambda s: None), work, True, ["x"], 1.0)


def _broken(doc, change):
    bad = copy.deepcopy(doc)
    change(bad)
    return bad


BREAKAGES = {
    "missing field": lambda d: d.pop("reproduce"),
    "wrong type": lambda d: d["rungs"][1].__setitem__("size_bytes", "4 kB"),
    "unknown field": lambda d: d["rungs"][1].__setitem__("vibes", 1),
    "wrong schema": lambda d: d.__setitem__("schema", "tinytorch.capstone/0"),
    "negative time": lambda d: d["rungs"][2].__setitem__("primary_s", -1.0),
    "bad date": lambda d: d.__setitem__("created", "yesterday"),
    "speedup not from the times": lambda d: d["rungs"][3].__setitem__("speedup", 10.0),
    "compression not from the sizes": lambda d: d["rungs"][3].__setitem__("compression", 8.0),
    "rejected rung marked accepted": lambda d: d["rungs"][2].__setitem__("accepted", True),
    "no baseline first": lambda d: d["rungs"].pop(0),
    "final is not the last accepted": lambda d: d["final"].__setitem__("step", "rig_fast"),
    "passed disagrees": lambda d: d.__setitem__("passed", not d["passed"]),
}


def test_schema_accepts_a_real_submission(document):
    validate(document)
    validate(json.loads(json.dumps(document)))  # as written and read back


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_schema_rejects_broken_submissions(document, name):
    with pytest.raises(SubmissionError):
        validate(_broken(document, BREAKAGES[name]))


def test_the_schema_is_a_json_schema_file():
    import jsonschema

    from tinytorch.capstone.submission import load_schema

    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema"]["const"] == "tinytorch.capstone/1"


# ---- the command line ----------------------------------------------------------------------
def test_cli_validate_exit_codes(document, tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(document))
    assert main(["capstone", "validate", str(good)]) == 0
    assert "valid" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_broken(document, BREAKAGES["speedup not from the times"])))
    assert main(["capstone", "validate", str(bad)]) == 1
    assert "INVALID" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("{not json")
    assert main(["capstone", "validate", str(tmp_path / "junk.json")]) == 1
    assert "not JSON" in capsys.readouterr().err
    assert main(["capstone", "validate", str(tmp_path / "missing.json")]) == 1
    assert main(["capstone", "validate"]) == 2


def test_cli_validate_survives_a_closed_pipe_and_an_ascii_terminal(document, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(document))
    env = dict(os.environ, PYTHONIOENCODING="ascii", LANG="C", LC_ALL="C")
    ran = subprocess.run([sys.executable, "-m", "tinytorch", "capstone", "validate", str(good)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert ran.returncode == 0 and "valid" in ran.stdout, ran.stderr
    piped = subprocess.run(f"{sys.executable} -m tinytorch capstone --help | head -1",
                           shell=True, capture_output=True, text=True, env=env, timeout=120)
    assert piped.returncode == 0 and "Traceback" not in piped.stderr


def test_cli_refuses_a_bad_plugin_and_unknown_steps(capsys):
    assert main(["capstone", "--model", "cnn", "--plugin", "no_such_module_xyz:f"]) == 2
    assert "cannot import" in capsys.readouterr().err
    assert main(["capstone", "--model", "cnn", "--steps", "warp_drive"]) == 2
    assert "unknown step" in capsys.readouterr().err
    assert main(["capstone", "--model", "cnn", "--threads", "100000"]) == 2
    assert "threads" in capsys.readouterr().err


# ---- the plug-in point -----------------------------------------------------------------------
def test_builtin_ladders_follow_the_course_order():
    assert [s.name for s in steps_for("tinygpt")] == ["native", "kv_cache", "fused_decode",
                                                     "int8_dynamic", "shrink_mlp"]
    assert [s.name for s in steps_for("cnn")] == ["native", "int8_static", "shrink", "distill"]


def test_a_plugin_step_registers_in_place_and_runs(tmp_path, monkeypatch):
    (tmp_path / "my_capstone_steps.py").write_text(textwrap.dedent("""
        from tinytorch.capstone import register_step

        @register_step("halve_time", models=("cnn",), after="native",
                       change="a student's step")
        def halve_time(system, workload):
            return system.replace(extra={"applied": system.extra["applied"] + ("halve",)})
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        step = load_plugin("my_capstone_steps:halve_time")
        assert step is STEPS["halve_time"] and step.change == "a student's step"
        order = [s.name for s in steps_for("cnn")]
        assert order.index("halve_time") == order.index("native") + 1 < order.index(
            "int8_static")
        with pytest.raises(ValueError, match="already registered"):
            register_step("halve_time")(lambda s, w: s)
        with pytest.raises(ValueError, match="not decorated"):
            load_plugin("my_capstone_steps:register_step")
        work = RiggedWorkload({"baseline": (0.9, 1.0, 100), "halve": (0.9, 0.5, 100)})
        ladder = run_ladder(work, only=["halve_time"], log=lambda s: None)
        assert [r.step for r in ladder.rungs] == ["baseline", "halve_time"]
        assert ladder.last.speedup == pytest.approx(2.0)
    finally:
        unregister_step("halve_time")
        sys.modules.pop("my_capstone_steps", None)


def test_a_step_must_return_a_system(rigged_steps):
    register_step("rig_wrong", models=("cnn",), order=2000)(lambda s, w: "not a system")
    try:
        work = RiggedWorkload({"baseline": (0.9, 1.0, 100)})
        with pytest.raises(TypeError, match="not a System"):
            run_ladder(work, only=["rig_wrong"], log=lambda s: None)
    finally:
        unregister_step("rig_wrong")


# ---- tiny end-to-end ladders -------------------------------------------------------------------
def test_tiny_gpt_ladder_end_to_end(tmp_path):
    from tinytorch.capstone.gpt import GPTWorkload
    from tinytorch.milestones.tinygpt import QUICK
    from tinytorch.milestones.tinygpt_run import build_run

    text = "".join(f"to be or not to be, that is question {i % 7}.\n" for i in range(400))
    cut = int(len(text) * 0.9)
    settings = replace(QUICK, n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=8,
                       steps=30, warmup=5, eval_batches=2)
    from dataclasses import asdict
    run = build_run(asdict(settings), text[:cut], text[cut:])
    for _ in range(settings.steps):
        run.train_step()
    work = GPTWorkload(run, prompt_len=4, queries=2, profile_tokens=2, finetune_steps=3,
                       log=lambda s: None)
    ladder = run_ladder(work, log=lambda s: None)
    by = {r.step: r for r in ladder.rungs}
    assert list(by) == ["baseline", "native", "kv_cache", "fused_decode", "int8_dynamic",
                        "shrink_mlp"]
    for step in ("kv_cache", "fused_decode"):
        assert by[step].measured.checks == {"cached tokens == uncached tokens": True}
        assert by[step].accepted
    assert by["fused_decode"].measured.quality == by["kv_cache"].measured.quality
    # the cache changes how tokens are computed, not what the model predicts
    assert by["kv_cache"].measured.quality == pytest.approx(by["native"].measured.quality,
                                                            abs=1e-4)
    assert by["int8_dynamic"].measured.size_bytes < by["native"].measured.size_bytes
    # per-token activation scales: the quantized model's (fused) cached tokens equal its
    # uncached ones
    assert by["int8_dynamic"].measured.checks == {"cached tokens == uncached tokens": True}
    assert by["shrink_mlp"].measured.size_bytes < by["int8_dynamic"].measured.size_bytes
    doc = build(ladder, work, True, ["x"], 1.0)
    write_report(doc, tmp_path)
    assert main(["capstone", "validate", str(tmp_path / "submission.json")]) == 0
    assert "kv_cache" in ladder_table(doc) and "## Reproduce" in markdown(doc, [])


@pytest.mark.slow
def test_tiny_cnn_ladder_end_to_end(tmp_path):
    from tinytorch.capstone.cnn import CNNConfig, CNNWorkload
    from tinytorch.data import Digits
    from tinytorch.milestones.compression_common import Arrays

    train, test = Digits(train=True), Digits(train=False)

    def images(ds):
        return ((ds.data.astype(np.float32) / 255.0 - 0.5)[:, None]).astype(np.float32)

    data = Arrays(images(train), train.targets.astype(np.int64), images(test),
                  test.targets.astype(np.int64))
    config = CNNConfig(train_limit=None, test_limit=None, epochs=3, finetune_epochs=1,
                       shrink=0.5, student_epochs=2, latency_batch=128, queries=10,
                       calibration=256)
    work = CNNWorkload(data, config, log=lambda s: None)
    ladder = run_ladder(work, log=lambda s: None)
    by = {r.step: r for r in ladder.rungs}
    assert list(by) == ["baseline", "native", "int8_static", "shrink", "distill"]
    assert by["baseline"].measured.quality > 0.8
    assert by["int8_static"].measured.size_bytes < by["native"].measured.size_bytes / 3
    for r in ladder.rungs:
        lost = -r.delta_quality
        assert r.accepted == (lost <= 0.01), (r.step, r.delta_quality)
    doc = build(ladder, work, True, ["x"], 1.0)
    write_report(doc, tmp_path)
    validate(json.loads((tmp_path / "submission.json").read_text()))
    assert doc["run_id"] == RUN_ID


def test_fused_decode_needs_the_native_cached_system():
    from tinytorch.capstone.steps import fused_decode

    with pytest.raises(ValueError, match="after the native and kv_cache steps"):
        fused_decode(System(model=None, backend="native", use_cache=False), None)
    with pytest.raises(ValueError, match="after the native and kv_cache steps"):
        fused_decode(System(model=None, backend="numpy", use_cache=True), None)
    assert fused_decode(System(model=None, backend="native", use_cache=True),
                        None).fused_decode
