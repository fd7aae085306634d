#!/usr/bin/env bash
# Exports an edited song with the engine, then converts it with MuseScore 3 (to PDF) and FluidSynth's
# own command line (to WAV), reporting success or failure of each. Installs the two Debian packages
# when run as root and they are missing.
#   bash packaging/check_real_clients.sh [out-folder]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)}
mkdir -p "$out"
if [ "$(id -u)" = "0" ]; then
  for p in musescore3 fluidsynth; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null
  done
fi
.venv/bin/python - "$out/edited.mid" <<'PY'
import sys
from engine.demo import demo_score
from engine.midi_io import write_midi
from engine.score import Note
score = demo_score()
melody = score.tracks[0]
melody.notes = [Note(n.start, n.end, n.pitch + 2, n.velocity) for n in melody.notes]  # an edit: transpose
write_midi(score, sys.argv[1])
print(f"exported {sys.argv[1]}: {len(score.tracks)} tracks, {score.n_notes} notes")
PY
status=0
if command -v mscore3 >/dev/null; then
  if QT_QPA_PLATFORM=offscreen timeout 120 mscore3 -o "$out/edited.pdf" "$out/edited.mid" >"$out/mscore.log" 2>&1 && [ -s "$out/edited.pdf" ]; then
    echo "MuseScore 3: OK, $(stat -c %s "$out/edited.pdf") bytes of PDF"
  else
    echo "MuseScore 3: FAILED (see $out/mscore.log)"; status=1
  fi
else
  echo "MuseScore 3: not installed (apt-get install musescore3)"; status=1
fi
sf=$(ls /usr/share/sounds/sf2/FluidR3_GM.sf2 /usr/share/sounds/sf2/TimGM6mb.sf2 2>/dev/null | head -1)
if command -v fluidsynth >/dev/null && [ -n "$sf" ]; then
  if timeout 120 fluidsynth -ni -q -F "$out/edited.wav" -r 44100 "$sf" "$out/edited.mid" >"$out/fluidsynth.log" 2>&1 && [ -s "$out/edited.wav" ]; then
    echo "FluidSynth CLI: OK, $(stat -c %s "$out/edited.wav") bytes of WAV"
  else
    echo "FluidSynth CLI: FAILED (see $out/fluidsynth.log)"; status=1
  fi
else
  echo "FluidSynth CLI: not installed (apt-get install fluidsynth) or no SoundFont"; status=1
fi
exit $status
