#!/usr/bin/env bash
# Installs what Pop-Diffuseq Studio needs that is missing: Debian packages (when root, else it names them)
# and a Python virtual environment in .venv with the project and its test tools.
# Idempotent: a second run with nothing missing takes a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(
  libfluidsynth3 libportaudio2 timgm6mb-soundfont fluid-soundfont-gm
  libegl1 libgl1 libfontconfig1 libxkbcommon0 libglib2.0-0 libdbus-1-3 fonts-dejavu-core
  libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
  libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xkb1
)
# MMA (band accompaniment generator) and the real band MIDI of two GPL games (validation only) are
# only needed to rebuild the training data and the default model: WITH_MMA=1.
if [ "${WITH_MMA:-0}" = "1" ]; then
  SYSTEM_PACKAGES+=(mma openttd-openmsx planetblupi-music-midi)
fi
# CI only needs the small soundfont; users get FluidR3 too (120 MB).
if [ "${CI:-}" = "true" ]; then
  SYSTEM_PACKAGES=("${SYSTEM_PACKAGES[@]/fluid-soundfont-gm}")
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${SYSTEM_PACKAGES[@]}"; do
    [ -z "$p" ] && continue
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing system packages (install them with sudo):" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    echo "Continuing: audio preview and the window need them, the engine does not." >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "Installing Python packages into .venv (first time: about a minute)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  # torch is pinned in pyproject.toml; installing it first in the same resolver run keeps pip
  # on the local CPU build instead of pulling a CUDA build.
  .venv/bin/python -m pip install -q -e ".[test]"
  touch "$stamp"
fi
