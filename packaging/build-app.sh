#!/usr/bin/env bash
# Builds the one-folder app dist/PopDiffuseqStudio/ with PyInstaller (packaging/pyinstaller/*.spec).
#
#   bash packaging/build-app.sh            trimmed build (the default)
#   PDS_SLIM=0 bash packaging/build-app.sh untrimmed reference build
#
# PyInstaller is a build tool only: it is installed into .venv here, never by `make run` / `make test`.
# The result runs on Linux x86_64 with the same glibc or newer; start it with
#   dist/PopDiffuseqStudio/PopDiffuseqStudio [song.mid]
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
PYINSTALLER_VERSION=${PYINSTALLER_VERSION:-6.22.3}
if [ ! -x "$PY" ]; then
  bash packaging/install-deps.sh
fi
if ! "$PY" -c "import PyInstaller, sys; sys.exit(PyInstaller.__version__ != '$PYINSTALLER_VERSION')" 2>/dev/null; then
  echo "Installing PyInstaller $PYINSTALLER_VERSION into .venv (build tool only)"
  "$PY" -m pip install -q "pyinstaller==$PYINSTALLER_VERSION"
fi
if [ ! -f resources/icons/app.png ] || [ resources/icons/app.svg -nt resources/icons/app.png ]; then
  QT_QPA_PLATFORM=offscreen "$PY" packaging/render-icon.py
fi

"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller \
  packaging/pyinstaller/pop-diffuseq-studio.spec

APP=dist/PopDiffuseqStudio
echo "Built $APP ($(du -sh "$APP" | cut -f1))"
echo "Try it: QT_QPA_PLATFORM=offscreen $APP/PopDiffuseqStudio --screenshot /tmp/shot.png"
