"""Module 01 Setup: the install, the backend registry and `tinytorch doctor`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import tinytorch
from tinytorch.backends import BACKEND_NAMES, families, kernel_names, load_backend
from tinytorch.cli import main

HIDE_NATIVE = textwrap.dedent("""
    import sys
    class _HideNative:
        # behaves as if the compiled extension file had been deleted
        def find_spec(self, name, path=None, target=None):
            if name == "tinytorch._native":
                raise ImportError("No module named 'tinytorch._native'")
            return None
    sys.meta_path.insert(0, _HideNative())
""")


def run_python(code: str, env_extra: dict | None = None, hide_native: bool = False):
    env = dict(os.environ)
    env.pop("TINYTORCH_BACKEND", None)
    env.update(env_extra or {})
    prefix = HIDE_NATIVE if hide_native else ""
    return subprocess.run([sys.executable, "-c", prefix + textwrap.dedent(code)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_import_exposes_registry():
    for name in ("set_backend", "get_backend", "use_backend", "available_backends"):
        assert callable(getattr(tinytorch, name))
    assert BACKEND_NAMES == ("loop", "numpy", "native")


def test_default_backend_is_numpy():
    result = run_python("import tinytorch; print(tinytorch.get_backend())")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "numpy"


@pytest.mark.parametrize("name", ["loop", "numpy"])
def test_env_var_selects_default(name):
    result = run_python("import tinytorch; print(tinytorch.get_backend())",
                        {"TINYTORCH_BACKEND": name})
    assert result.stdout.strip() == name, result.stderr


def test_env_var_with_unknown_name_is_reported_not_fatal():
    code = """
        import tinytorch
        try:
            tinytorch.get_backend()
        except ValueError as exc:
            print("ValueError:", exc)
    """
    result = run_python(code, {"TINYTORCH_BACKEND": "cuda"})
    assert result.returncode == 0, result.stderr
    assert "TINYTORCH_BACKEND" in result.stdout and "'numpy'" in result.stdout


def test_set_backend_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        tinytorch.set_backend("cuda")
    for name in BACKEND_NAMES:
        assert repr(name) in str(info.value)
    assert tinytorch.get_backend() == "numpy"


@pytest.mark.parametrize("name", ["loop", "numpy"])
def test_set_and_get(name):
    tinytorch.set_backend(name)
    assert tinytorch.get_backend() == name


def test_use_backend_restores_previous_also_on_error():
    tinytorch.set_backend("loop")
    with tinytorch.use_backend("numpy"):
        assert tinytorch.get_backend() == "numpy"
    assert tinytorch.get_backend() == "loop"
    with pytest.raises(KeyError), tinytorch.use_backend("numpy"):
        raise KeyError("boom")
    assert tinytorch.get_backend() == "loop"


def test_use_backend_unknown_keeps_current():
    tinytorch.set_backend("loop")
    with pytest.raises(ValueError), tinytorch.use_backend("tpu"):
        pass
    assert tinytorch.get_backend() == "loop"


def test_every_backend_implements_every_family():
    for name in tinytorch.available_backends():
        backend = load_backend(name)
        assert backend.name == name
        for family in families().values():
            missing = [k for k in kernel_names(family.INTERFACE)
                       if not callable(getattr(backend, k, None))]
            assert not missing, f"backend {name} lacks kernels {missing}"


def test_native_is_built_here():
    """The install this test suite runs against must have compiled the extension."""
    load_backend("native")
    from tinytorch.backends.native_support import build_info

    info = build_info()
    assert info["simd"] in ("AVX-512", "AVX2", "scalar")
    assert info["max_threads"] >= 1
    tinytorch.set_backend("native")
    assert tinytorch.get_backend() == "native"


def test_missing_native_build_does_not_break_import():
    code = """
        import tinytorch
        print("available:", tinytorch.available_backends())
        try:
            tinytorch.set_backend("native")
        except tinytorch.BackendUnavailableError as exc:
            print("error:", exc)
        print("current:", tinytorch.get_backend())
    """
    result = run_python(code, hide_native=True)
    assert result.returncode == 0, result.stderr
    assert "available: ['loop', 'numpy']" in result.stdout
    assert "pip install" in result.stdout  # says how to build it
    assert "current: numpy" in result.stdout


def test_doctor_passes_here(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "native build" in out and "SIMD" in out
    assert "FAIL" not in out


def test_doctor_fails_without_native_and_says_how_to_fix():
    code = "import sys; from tinytorch.cli import main; sys.exit(main(['doctor']))"
    result = run_python(code, hide_native=True)
    assert result.returncode == 1
    assert "[FAIL] native build" in result.stdout
    assert "fix:" in result.stdout and "pip install" in result.stdout


def test_doctor_fails_on_bad_env_backend():
    code = "import sys; from tinytorch.cli import main; sys.exit(main(['doctor']))"
    result = run_python(code, {"TINYTORCH_BACKEND": "gpu"})
    assert result.returncode == 1
    assert "[FAIL] default backend" in result.stdout


def test_cli_output_survives_ascii_terminal():
    code = "import sys; from tinytorch.cli import main; sys.exit(main(['doctor']))"
    result = run_python(code, {"PYTHONIOENCODING": "ascii", "LC_ALL": "C", "LANG": "C"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "UnicodeEncodeError" not in result.stderr


def test_cli_without_command_prints_help(capsys):
    assert main([]) == 2
    assert "doctor" in capsys.readouterr().out


def test_console_script_is_installed():
    import shutil

    exe = shutil.which("tinytorch", path=os.path.dirname(sys.executable) + os.pathsep
                       + os.environ.get("PATH", ""))
    assert exe is not None, "the `tinytorch` console script is not on PATH"
    result = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and tinytorch.__version__ in result.stdout


def test_malloc_tuning_applies_on_glibc_and_can_be_disabled():
    code = "import tinytorch._allocator as a, tinytorch; print(a.is_tuned())"
    on = run_python(code)
    off = run_python(code, {"TINYTORCH_MALLOC_TUNING": "0"})
    assert off.stdout.strip() == "False"
    if sys.platform.startswith("linux") and os.path.exists("/lib/x86_64-linux-gnu/libc.so.6"):
        assert on.stdout.strip() == "True", on.stderr
