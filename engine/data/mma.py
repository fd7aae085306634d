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
MIN_FOUR_BEAT_BARS = 0.8  # a song gets band layers when at least this share of its bars has four beats
# Pop, rock and soul grooves of MMA's standard library (filtered by what the installed library defines and
# by ``has_backbeat``: POP909 has no drums, so these grooves are all the drumming the model sees in pop songs).
DEFAULT_GROOVES: tuple[str, ...] = (
    "8Beat", "8Beat1", "8BeatPlus", "8BeatWalk", "BasicRock", "BasicRock4", "50sRock", "50sRock1", "PopBallad",
    "PopBallad1", "PopBallad2", "PopBalladPlus", "RockBallad", "RockBallad1", "Rock128", "DSoul", "R&B", "BoneyM",
    "SoftRock", "SoftRock1", "FolkRock", "60sRock", "Ballad", "Folk",
)  # fmt: skip
KICK_KEYS = (35, 36)  # GM drum map: acoustic and electric bass drum
SNARE_KEYS = (37, 38, 39, 40)  # side stick, snares, hand clap
MIN_GROOVE_SHARE = 0.75  # share of bars with a kick on 1 and a backbeat for a groove to count as a pop groove
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
    """The candidates MMA can play here and that drum like a pop song (``has_backbeat``); [] when MMA is
    not installed."""
    if mma_executable() is None:
        return []
    known = defined_grooves()
    return [g for g in candidates if g.lower() in known and has_backbeat(g)]


@lru_cache(maxsize=64)
def drum_profile(groove: str, bars: int = 8) -> tuple[float, float]:
    """(share of bars with a kick on beat 1, share with a snare or clap on beats 2 and 4) of ``groove``'s
    drums over ``bars`` bars of a I-IV-V chart, on MMA's own grid (within a 32nd of the beat). Several
    grooves named pop or rock in MMA's library have no kick (SoftRock, FolkRock) or put the snare off the
    beat (60sRock): trained on, they teach a drum part without the pulse a pop song's listener expects."""
    try:
        band = render_mma(mma_source(["C", "C", "F", "G"] * bars, groove, 0), timeout=30.0)
    except MMAError:
        return 0.0, 0.0
    tol = 1 / 8  # a 32nd note, in beats
    kick, two, four = np.zeros(bars, bool), np.zeros(bars, bool), np.zeros(bars, bool)
    for t in band.tracks:
        for n in t.notes if t.is_drum else ():
            bar, beat = divmod(n.start / band.ticks_per_beat, BEATS_PER_BAR)
            if int(bar) >= bars:
                continue
            if n.pitch in KICK_KEYS and beat < tol:
                kick[int(bar)] = True
            if n.pitch in SNARE_KEYS:
                two[int(bar)] |= abs(beat - 1) < tol
                four[int(bar)] |= abs(beat - 3) < tol
    return float(kick.mean()), float((two & four).mean())


def has_backbeat(groove: str) -> bool:
    """True when ``groove`` has a kick on 1 and the backbeat in at least MIN_GROOVE_SHARE of its bars."""
    return min(drum_profile(groove)) >= MIN_GROOVE_SHARE


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


def song_bars(score: Score) -> list[np.ndarray]:
    """The beat ticks of each annotated bar (downbeat to next downbeat; the last bar runs to the last
    beat). Raises MMAError when the song lacks beats or downbeats."""
    if not score.beats or not score.downbeats:
        raise MMAError("a band layer needs beat and downbeat annotations")
    beats = np.asarray(score.beats, dtype=np.int64)
    idx = np.unique(np.searchsorted(beats, np.asarray(score.downbeats, dtype=np.int64)))
    idx = idx[idx < len(beats)]
    edges = np.append(idx, len(beats))
    return [beats[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def chord_chart(score: Score) -> tuple[list[str], list[np.ndarray]]:
    """One MMA bar of BEATS_PER_BAR chords per annotated bar, and the annotated bars' beat ticks.

    Bar k of the chart is bar k of the song, whatever the song's bar lengths: a chart of beats counted
    from the first downbeat drifts a beat off the song's bars after every 2-, 3- or 5-beat bar, and a
    groove's kick on 1 and snare on 2 and 4 then land elsewhere in the song's bars (POP909 holds such bars
    in about one song in three). A bar of fewer beats repeats its last chord; a longer bar keeps its first
    four. Songs whose bars are mostly not of four beats (3/4, 6/8) raise MMAError: a 4/4 groove on them
    teaches a wrong meter. Raises MMAError when the song lacks beat, downbeat or chord annotations."""
    if not score.chords:
        raise MMAError("a band layer needs chord annotations")
    bars = song_bars(score)
    if sum(len(b) == BEATS_PER_BAR for b in bars) < MIN_FOUR_BEAT_BARS * len(bars):
        raise MMAError(f"the song's bars are mostly not of {BEATS_PER_BAR} beats; the grooves are 4/4")
    chords = sorted(score.chords, key=lambda c: c.start)
    starts = np.asarray([c.start for c in chords])
    out: list[str] = []
    for bar in bars:
        names = []
        for tick in bar[:BEATS_PER_BAR]:
            i = int(np.searchsorted(starts, tick, side="right")) - 1
            names.append(mma_chord(chords[i] if i >= 0 and chords[i].end > tick else None))
        out += names + [names[-1]] * (BEATS_PER_BAR - len(names))
    return out, bars


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


def _warp(ticks: np.ndarray, mma_tpb: int, bars: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """MMA ticks (fixed tempo, 4-beat bars) -> song ticks, bar k of MMA onto bar k of the song: beat j of
    the bar onto the bar's beat j, linear between beats. Returns (ticks, kept): a position past the bar's
    last beat (a bar shorter than four beats) or past the song is not kept."""
    beats = np.concatenate(bars)
    first = np.cumsum([0] + [len(b) for b in bars])  # index of each bar's downbeat in ``beats``
    pos = ticks.astype(np.float64) / mma_tpb
    bar = np.floor(pos / BEATS_PER_BAR).astype(np.int64)
    within = pos - bar * BEATS_PER_BAR
    n_bars = len(bars)
    lengths = np.asarray([len(b) for b in bars] + [BEATS_PER_BAR])
    safe = np.clip(bar, 0, n_bars)
    kept = (bar < n_bars) & (within < lengths[safe])
    idx = first[np.minimum(safe, n_bars)] + within  # fractional index into ``beats``
    grid = np.arange(len(beats), dtype=np.float64)
    out = np.interp(idx, grid, beats.astype(np.float64))
    last_step = float(beats[-1] - beats[-2]) if len(beats) > 1 else 480.0
    out = np.where(idx > grid[-1], beats[-1] + (idx - grid[-1]) * last_step, out)
    return np.rint(out).astype(np.int64), kept


def add_band(score: Score, groove: str, seed: int = 0) -> Score:
    """A copy of ``score`` with MMA's band parts for ``groove`` appended (``generated=True``, drums merged
    into one kit track, melodic programs varied within their GM family by ``seed``)."""
    chart, bars = chord_chart(score)
    band = render_mma(mma_source(chart, groove, seed))
    rng = np.random.default_rng(seed)
    out = score.copy()
    drums: list[Note] = []
    for t in band.tracks:
        if not t.notes:
            continue
        starts, kept = _warp(np.asarray([n.start for n in t.notes]), band.ticks_per_beat, bars)
        ends, _ = _warp(np.asarray([n.end for n in t.notes]), band.ticks_per_beat, bars)
        notes = [Note(int(s), int(max(e, s + 1)), n.pitch, n.velocity)
                 for s, e, k, n in zip(starts, ends, kept, t.notes, strict=True) if k]
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
