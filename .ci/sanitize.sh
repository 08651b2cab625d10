#!/usr/bin/env bash
# Build the native extension with AddressSanitizer + UndefinedBehaviorSanitizer
# (CMake option TINYTORCH_SANITIZE=ON) into a temporary folder, then run the
# kernel, binding, conformance, safety and fuzz tests against that build with
# libasan preloaded. Any sanitizer report aborts the test process, so it fails
# this script (and CI, which runs it from .ci/run). See docs/SAFETY.md.
#
#   .ci/sanitize.sh                    # the CI run
#   TINYTORCH_FUZZ_EXAMPLES=2000 .ci/sanitize.sh   # a longer fuzz run
#   .ci/sanitize.sh tests/test_13_attention.py     # other test files instead
#
# Needs: a C++ compiler with libasan/libubsan (GCC or Clang), and the Python
# environment TinyTorch's tests run in (numpy, pytest, hypothesis, pybind11,
# scikit-build-core, cmake, ninja).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}

LIBASAN=$(${CXX:-g++} -print-file-name=libasan.so)
# libstdc++ too: CPython does not link it, and ASan's __cxa_throw interceptor must find
# it at start-up, else the first C++ exception (pybind11's ValueError) aborts the process
LIBSTDCXX=$(${CXX:-g++} -print-file-name=libstdc++.so)
if [ ! -e "$LIBASAN" ]; then
  echo "sanitize: no libasan.so found for ${CXX:-g++} (install the compiler's sanitizer runtime)" >&2
  exit 1
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "sanitize: building with -fsanitize=address,undefined into $WORK"
# Reuse the environment's build tools when it has them (offline, faster), else let pip
# fetch them in an isolated build environment.
ISOLATION=()
if ! "$PYTHON" -c 'import scikit_build_core, pybind11, cmake, ninja' 2>/dev/null; then
  ISOLATION=(--use-pep517)
else
  ISOLATION=(--no-build-isolation)
fi
"$PYTHON" -m pip install -q "${ISOLATION[@]}" --no-deps --target "$WORK/site" . \
  -C cmake.define.TINYTORCH_SANITIZE=ON -C build-dir="$WORK/build"

# `python -S` skips site-packages' .pth hooks (an editable install of TinyTorch would
# otherwise win over the sanitized copy); PYTHONPATH puts the sanitized copy first and
# the environment's packages (numpy, pytest, hypothesis, torch) after it.
SITE=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
export PYTHONPATH="$WORK/site:$SITE"
export LD_PRELOAD="$LIBASAN $LIBSTDCXX"
# CPython itself leaks by design at exit; every other report is fatal.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TINYTORCH_BACKEND=native

"$PYTHON" -S -c 'import tinytorch, tinytorch._native as ext, sys
info = ext.build_info()
print("sanitize: testing", tinytorch.__file__, info)
sys.exit(0 if info.get("sanitize") else "sanitize: the imported extension is not the sanitized build")'

if [ "$#" -gt 0 ]; then
  TESTS=("$@")
else
  TESTS=(tests/test_08_conv_kernels.py tests/test_15_matmul.py tests/test_15_pair_tile.py tests/test_15_conv_wgrad.py
         tests/test_15_conv_winograd.py
         tests/test_15_backend_conformance.py
         tests/test_15_safety.py tests/test_15_fuzz.py tests/test_13_attention.py
         tests/test_16_kv_cache.py tests/test_17_quantized_layers.py)
fi
echo "sanitize: pytest ${TESTS[*]}"
"$PYTHON" -S -m pytest -q -m "not slow" -p no:cacheprovider "${TESTS[@]}"
echo "sanitize: ok (no AddressSanitizer/UBSan report)"
