#!/usr/bin/env bash
# Installs the Debian 12 packages metasim needs to build and test, skipping those already
# present. Idempotent: a second run installs nothing and only checks. Runs apt-get as root
# (or through sudo when not root). Package roles are listed in docs/dependencies.md.
set -euo pipefail

packages=(
  build-essential cmake pkg-config   # toolchain and build system
  libgsl-dev                         # samplers, special functions, ODE steppers
  libfyaml-dev                       # YAML scenarios with line and column positions
  librandom123-dev                   # Philox counter-based random streams (headers only)
  libsqlite3-dev                     # results database
  check                              # unit-test framework (run by CTest)
  clang libclang-rt-14-dev           # libFuzzer target and sanitizer runtimes
  r-base-core r-cran-survival        # test-time cross-check of the survival statistics against R
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
