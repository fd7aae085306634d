"""POP909 loader: the MIDI file plus the dataset's beat and chord annotations, as one ``Score``.

POP909's time signatures are unreliable (most files say 1/4) and its onsets are performed, not quantised,
so the bar grid must come from ``beat_midi.txt``; its chords come from ``chord_midi.txt`` in Harte
notation, mapped here onto our ten qualities so they can be compared with detected chords and used as
the chord rows of the SA representation.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.midi_io import read_midi_fast
from engine.score import ChordLabel, Score

# The dataset folder next to the repository (../shared/data/pop909); POPDIFFUSEQ_POP909 overrides it.
_DEFAULT_ROOT = Path(__file__).resolve().parents[3] / "shared" / "data" / "pop909"
POP909_ROOT = Path(os.environ.get("POPDIFFUSEQ_POP909", str(_DEFAULT_ROOT)))

_NOTE_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

# Harte shorthands -> our qualities. Extensions collapse to the nearest four-note chord we have; sixths,
# added notes and power chords keep their triad; a 7sus4 is still heard as a suspension.
HARTE_QUALITIES: dict[str, str] = {
    "maj": "",
    "min": "m",
    "aug": "+",
    "dim": "dim",
    "7": "7",
    "maj7": "maj7",
    "min7": "m7",
    "hdim7": "m7b5",
    "dim7": "dim",
    "minmaj7": "m",
    "maj6": "",
    "min6": "m",
    "9": "7",
    "11": "7",
    "13": "7",
    "maj9": "maj7",
    "maj11": "maj7",
    "maj13": "maj7",
    "min9": "m7",
    "min11": "m7",
    "min13": "m7",
    "sus2": "sus2",
    "sus4": "sus4",
    "5": "",
    "1": "",
}


def parse_root(text: str) -> int:
    """Pitch class of a Harte root such as 'C', 'F#', 'Bb', 'Cb' or 'E#'."""
    text = text.strip()
    if not text or text[0].upper() not in _NOTE_PC:
        raise ValueError(f"not a chord root: {text!r}")
    pc = _NOTE_PC[text[0].upper()]
    for ch in text[1:]:
        if ch == "#":
            pc += 1
        elif ch == "b":
            pc -= 1
        else:
            raise ValueError(f"not a chord root: {text!r}")
    return pc % 12


def harte_to_quality(quality: str) -> str:
    """Our quality for a Harte quality (shorthand with optional '(extensions)'; no root, no '/bass').

    Unknown shorthands fall back by their third: anything with a minor third (min..., dim..., hdim...,
    or 'b3' among the listed degrees) is minor, everything else major.
    """
    q = quality.strip()
    base, _, rest = q.partition("(")
    degrees = [d.strip() for d in rest.rstrip(")").split(",") if d.strip()]
    if base in HARTE_QUALITIES:
        mapped = HARTE_QUALITIES[base]
        if base == "sus4" and "b7" in degrees:
            return "sus4"  # 7sus4: no such quality; the suspension is what defines it
        return mapped
    if base == "" and degrees:  # e.g. '(1,b3,5)'
        if "b3" in degrees:
            return "m7" if "b7" in degrees else ("dim" if "b5" in degrees else "m")
        if "3" in degrees:
            return "7" if "b7" in degrees else ("+" if "#5" in degrees else "")
        if "4" in degrees:
            return "sus4"
        if "2" in degrees:
            return "sus2"
        return ""
    if base.startswith(("min", "dim", "hdim")) or "b3" in degrees:
        return "m"
    return ""


def parse_harte(label: str) -> tuple[int | None, str]:
    """(root, quality) for a Harte label such as 'F#:maj7/5', 'Bb:min', 'C' or 'N' (no chord)."""
    label = label.strip()
    if label in ("N", "X", ""):
        return None, ""
    root_text, _, quality = label.partition(":")
    quality = quality.split("/", 1)[0]
    root_text = root_text.split("/", 1)[0]
    q = harte_to_quality(quality) if quality else ""
    return parse_root(root_text), q


def read_beats(path: Path, score: Score) -> tuple[list[int], list[int]]:
    """(beats, downbeats) in ticks from ``beat_midi.txt`` rows 'seconds every-2-beats downbeat'."""
    beats: list[int] = []
    downbeats: list[int] = []
    for line in path.read_text().splitlines():
        cols = line.split()
        if len(cols) < 3:
            continue
        tick = score.seconds_to_tick(float(cols[0]))
        beats.append(tick)
        if float(cols[2]) == 1.0:
            downbeats.append(tick)
    return beats, downbeats


def read_chords(path: Path, score: Score) -> list[ChordLabel]:
    """Chord spans in ticks from ``chord_midi.txt`` rows 'start_s end_s label'."""
    chords: list[ChordLabel] = []
    for line in path.read_text().splitlines():
        cols = line.split()
        if len(cols) < 3:
            continue
        start, end = score.seconds_to_tick(float(cols[0])), score.seconds_to_tick(float(cols[1]))
        if end <= start:
            continue
        root, quality = parse_harte(cols[2])
        chords.append(ChordLabel(start, end, root, quality))
    return chords


def load_pop909_song(folder: str | os.PathLike) -> Score:
    """One POP909 song folder (``<id>/<id>.mid`` + annotations) as a Score with beats, downbeats and chords."""
    folder = Path(folder)
    midi = folder / f"{folder.name}.mid"
    if not midi.exists():
        candidates = sorted(folder.glob("*.mid"))
        if not candidates:
            raise FileNotFoundError(f"{folder}: no MIDI file in this POP909 song folder")
        midi = candidates[0]
    score = read_midi_fast(midi)
    beat_file, chord_file = folder / "beat_midi.txt", folder / "chord_midi.txt"
    if beat_file.exists():
        score.beats, score.downbeats = read_beats(beat_file, score)
    if chord_file.exists():
        score.chords = read_chords(chord_file, score)
    return score


def pop909_songs(root: str | os.PathLike | None = None) -> list[Path]:
    """The song folders under ``root`` (default POP909_ROOT), sorted by id; [] when the folder is absent."""
    root = Path(root) if root is not None else POP909_ROOT
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / f"{p.name}.mid").exists())
