#!/usr/bin/env bash
# Adds Pop-Diffuseq Studio to the desktop's application menu for the current user (no root needed):
# the entry goes to ~/.local/share/applications, the icons to ~/.local/share/icons/hicolor.
#
#   bash packaging/install-desktop-entry.sh             runs this checkout: .venv/bin/python main.py %f
#   bash packaging/install-desktop-entry.sh --bundle    runs the PyInstaller build: dist/PopDiffuseqStudio/
#   bash packaging/install-desktop-entry.sh --uninstall removes what an earlier run installed
#
# MIDI files then offer "Open with Pop-Diffuseq Studio"; the default application is left as it is.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ID=pop-diffuseq-studio
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
APPS=$DATA/applications
ICONS=$DATA/icons/hicolor
DESKTOP=$APPS/$ID.desktop
MODE=${1:-venv}

refresh() {
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$APPS" 2>/dev/null || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -f -t "$ICONS" 2>/dev/null || true
}

# One argument of an Exec line: always double-quoted, with ", `, $ and \ escaped (Desktop Entry spec,
# "The Exec key"), then \ doubled again because the value is itself an escaped string; % becomes %%.
exec_arg() {
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//\`/\\\`}; s=${s//\$/\\\$}
  s=${s//\\/\\\\}
  s=${s//%/%%}
  printf '"%s"' "$s"
}

case "$MODE" in
  --uninstall)
    rm -f "$DESKTOP" "$ICONS/256x256/apps/$ID.png" "$ICONS/scalable/apps/$ID.svg"
    refresh
    echo "Removed $DESKTOP and the icons."
    exit 0
    ;;
  --bundle)
    PROGRAM=$ROOT/dist/PopDiffuseqStudio/PopDiffuseqStudio
    if [ ! -x "$PROGRAM" ]; then
      echo "No build at $PROGRAM: run  bash packaging/build-app.sh  first." >&2
      exit 1
    fi
    EXEC="$(exec_arg "$PROGRAM") %f"
    TRY=$PROGRAM
    ;;
  venv | "")
    if [ ! -x "$ROOT/.venv/bin/python" ]; then
      echo "No virtual environment at $ROOT/.venv: run  make deps  (or make run) first." >&2
      exit 1
    fi
    EXEC="$(exec_arg "$ROOT/.venv/bin/python") $(exec_arg "$ROOT/main.py") %f"
    TRY=$ROOT/.venv/bin/python
    ;;
  *)
    echo "usage: $0 [--bundle | --uninstall]" >&2
    exit 2
    ;;
esac

mkdir -p "$APPS" "$ICONS/256x256/apps" "$ICONS/scalable/apps"
if [ ! -f "$ROOT/resources/icons/app.png" ] && [ -x "$ROOT/.venv/bin/python" ]; then
  QT_QPA_PLATFORM=offscreen "$ROOT/.venv/bin/python" "$ROOT/packaging/render-icon.py" >/dev/null
fi
[ -f "$ROOT/resources/icons/app.png" ] && install -m 644 "$ROOT/resources/icons/app.png" "$ICONS/256x256/apps/$ID.png"
install -m 644 "$ROOT/resources/icons/app.svg" "$ICONS/scalable/apps/$ID.svg"

tmpdir=$(mktemp -d)
trap 'rm -rf "$tmpdir"' EXIT
tmp=$tmpdir/$ID.desktop
while IFS= read -r line; do
  case "$line" in
    Exec=*) printf 'Exec=%s\n' "$EXEC" ;;
    TryExec=*) printf 'TryExec=%s\n' "$TRY" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$ROOT/packaging/$ID.desktop" > "$tmp"
if command -v desktop-file-validate >/dev/null 2>&1; then
  desktop-file-validate "$tmp"
fi
install -m 644 "$tmp" "$DESKTOP"
refresh
echo "Installed $DESKTOP"
echo "  Exec=$EXEC"
