"""Synthetic band layers for POP909 with MMA (Musical MIDI Accompaniment, Debian package ``mma``).

POP909 is piano only; the editor is for band music. MMA turns a chord chart into drums, bass, guitar,
piano, pads... in a named groove. We write the song's annotated chords one per annotated beat from the
first downbeat as MMA bars at a fixed 120 BPM, render them, and warp every note's beat position onto the
song's own beat ticks, so the band follows the performance's tempo drift. The new tracks are marked
``Track.generated`` so metrics can tell them from the human parts. Groove files are GPL: treat the
output as GPL-derived data.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from engine.score import ChordLabel, Note, Score, Track

MMA_LIB = Path("/usr/share/mma/lib")
MMA_TEMPO = 120.0
BEATS_PER_BAR = 4
# Pop/rock grooves of MMA's standard library (filtered by what the installed library defines).
DEFAULT_GROOVES: tuple[str, ...] = (
    "8Beat", "PopBallad", "SoftRock", "RockBallad", "FolkRock", "BasicRock", "60sRock", "Ballad", "Folk",
    "Rock-128", "PopBallad1", "SoftRock1", "8Beat1", "RockBallad1",
)  # fmt: skip
_ROOTS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_QUALITY = {"": "", "m": "m", "+": "aug", "dim": "dim", "7": "7", "maj7": "M7", "m7": "m7", "m7b5": "m7b5",
            "sus2": "sus2", "sus4": "sus4"}  # fmt: skip
# Program alternatives per MMA part, so the same groove does not always sound the same.
_PROGRAM_FAMILIES = ((0, 8), (16, 24), (24, 32), (32, 40), (40, 48), (48, 56), (88, 96))


class MMAError(RuntimeError):
    """MMA is missing, failed, or the song lacks what a band layer needs (beats, downbeats, chords)."""


def mma_executable() -> str | None:
    return shutil.which("mma")


@lru_cache(maxsize=1)
def defined_grooves(lib: Path = MMA_LIB) -> frozenset[str]:
    """Lower-cased names of every groove the installed MMA library defines."""
    names: set[str] = set()
    pattern = re.compile(r"^\s*DefGroove\s+(\S+)", re.IGNORECASE | re.MULTILINE)
    for f in lib.rglob("*.mma") if lib.is_dir() else []:
        names.update(m.lower() for m in pattern.findall(f.read_text(errors="replace")))
    return frozenset(names)


def available_grooves(candidates: tuple[str, ...] = DEFAULT_GROOVES) -> list[str]:
    """The candidates MMA can play here ([] when MMA is not installed)."""
    if mma_executable() is None:
        return []
    known = defined_grooves()
    return [g for g in candidates if g.lower() in known]


def pick_grooves(grooves: list[str], n: int, song_id: str, seed: int) -> list[str]:
    """``n`` distinct grooves for a song, a fixed function of (song id, seed)."""
    from engine.data.split import unit_hash

    rng = np.random.default_rng(int(unit_hash(song_id, seed) * 2**63))
    return [grooves[i] for i in rng.permutation(len(grooves))[: min(n, len(grooves))]]


def mma_chord(label: ChordLabel | None) -> str:
    """MMA's name for a chord ('z' = no chord: the band rests except the drums)."""
    if label is None or label.root is None or label.quality not in _QUALITY:
        return "z"
    return _ROOTS[label.root % 12] + _QUALITY[label.quality]


def chord_chart(score: Score) -> tuple[list[str], int]:
    """Per-beat MMA chords from the first downbeat, padded to whole bars; and that downbeat's beat index."""
    if not score.beats or not score.downbeats or not score.chords:
        raise MMAError("a band layer needs beat, downbeat and chord annotations")
    beats = np.asarray(score.beats, dtype=np.int64)
    first = int(np.searchsorted(beats, score.downbeats[0]))
    chords = sorted(score.chords, key=lambda c: c.start)
    starts = np.asarray([c.start for c in chords])
    out: list[str] = []
    for tick in beats[first:]:
        i = int(np.searchsorted(starts, tick, side="right")) - 1
        out.append(mma_chord(chords[i] if i >= 0 and chords[i].end > tick else None))
    while len(out) % BEATS_PER_BAR:
        out.append(out[-1] if out else "z")
    return out, first


def mma_source(chart: list[str], groove: str, seed: int) -> str:
    lines = [f"RndSeed {seed % 2**31}", f"Tempo {MMA_TEMPO:g}", f"Time {BEATS_PER_BAR}", f"Groove {groove}"]
    for b in range(0, len(chart), BEATS_PER_BAR):
        lines.append(f"{b // BEATS_PER_BAR + 1} " + " ".join(chart[b : b + BEATS_PER_BAR]))
    return "\n".join(lines) + "\n"


def render_mma(source: str, timeout: float = 120.0) -> Score:
    """Run ``mma -f out.mid in.mma`` in a temporary folder and read the result."""
    from engine.midi_io import read_midi_fast

    exe = mma_executable()
    if exe is None:
        raise MMAError("mma is not installed (Debian/Ubuntu: apt-get install mma)")
    with tempfile.TemporaryDirectory(prefix="mma-") as tmp:
        src, mid = Path(tmp) / "band.mma", Path(tmp) / "band.mid"
        src.write_text(source)
        try:
            proc = subprocess.run([exe, "-f", str(mid), str(src)], cwd=tmp, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise MMAError("mma took too long") from e
        if proc.returncode != 0 or not mid.exists():
            err = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "Error" in ln]
            raise MMAError(f"mma failed: {(err or [proc.stderr.strip()[-200:]])[0]}")
        return read_midi_fast(mid)


def _warp(ticks: np.ndarray, mma_tpb: int, beats: np.ndarray, first: int) -> np.ndarray:
    """MMA ticks (fixed tempo) -> song ticks: beat position first + t / tpb, linear between annotated beats."""
    pos = first + ticks.astype(np.float64) / mma_tpb
    idx = np.arange(len(beats), dtype=np.float64)
    out = np.interp(pos, idx, beats.astype(np.float64))
    last_step = float(beats[-1] - beats[-2]) if len(beats) > 1 else 480.0
    out = np.where(pos > idx[-1], beats[-1] + (pos - idx[-1]) * last_step, out)
    return np.rint(out).astype(np.int64)


def add_band(score: Score, groove: str, seed: int = 0) -> Score:
    """A copy of ``score`` with MMA's band parts for ``groove`` appended (``generated=True``, drums merged
    into one kit track, melodic programs varied within their GM family by ``seed``)."""
    chart, first = chord_chart(score)
    band = render_mma(mma_source(chart, groove, seed))
    beats = np.asarray(score.beats, dtype=np.int64)
    rng = np.random.default_rng(seed)
    out = score.copy()
    drums: list[Note] = []
    for t in band.tracks:
        if not t.notes:
            continue
        starts = _warp(np.asarray([n.start for n in t.notes]), band.ticks_per_beat, beats, first)
        ends = _warp(np.asarray([n.end for n in t.notes]), band.ticks_per_beat, beats, first)
        notes = [Note(int(s), int(max(e, s + 1)), n.pitch, n.velocity) for s, e, n in zip(starts, ends, t.notes, strict=True)]
        if t.is_drum:
            drums += notes
            continue
        program = t.program
        for lo, hi in _PROGRAM_FAMILIES:
            if lo <= program < hi:
                program = lo + int(rng.integers(0, 4))
        out.tracks.append(Track(f"{t.name} ({groove}, MMA)", program, False, notes, generated=True))
    if drums:
        drums.sort(key=lambda n: (n.start, n.pitch, n.end))
        out.tracks.append(Track(f"Drums ({groove}, MMA)", 0, True, drums, generated=True))
    return out
