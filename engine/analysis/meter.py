"""Putting a song's bar grid right: a meter and a first downbeat, or a POP909 ``beat_midi.txt`` beside the file.

Many files declare the wrong meter (every raw POP909 file says 1/4 or 2/4 for a 4/4 song), so "bars 9-12"
would be four beats of the intro. The grid (``engine.analysis.grid.beat_grid``) prefers explicit beats and
downbeats when a score has them; these functions only compute those lists, in ticks, and never touch notes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from engine.score import Score

BEAT_FILE = "beat_midi.txt"


def with_meter(score: Score, numerator: int, denominator: int, first_downbeat: int = 0) -> Score:
    """``score`` with beats every 1/``denominator`` note and a bar every ``numerator`` beats from tick
    ``first_downbeat`` (what comes before it is a pickup). Raises ValueError for a meter that is not one.

    Beats are counted in the file's ticks, so a file whose tempo map is right keeps its timing exactly.
    """
    if not 1 <= numerator <= 32 or denominator not in (1, 2, 4, 8, 16, 32):
        raise ValueError(f"{numerator}/{denominator} is not a time signature (numerator 1-32, denominator 1, 2, 4, 8, 16 or 32)")
    if first_downbeat < 0:
        raise ValueError("the first downbeat cannot be before the start of the song")
    step = score.ticks_per_beat * 4 / denominator
    first_beat = first_downbeat % step
    end = max(score.end_tick, first_downbeat)
    beats: list[int] = []
    k = 0
    while first_beat + k * step <= end:
        beats.append(int(round(first_beat + k * step)))
        k += 1
    lead = int(round((first_downbeat - first_beat) / step))  # beats before the first downbeat
    downbeats = beats[lead::numerator]
    return replace(score, beats=beats, downbeats=downbeats)


def beats_beside(midi_path: str | Path, score: Score) -> Score | None:
    """``score`` with the beats and downbeats of a POP909 ``beat_midi.txt`` in the file's folder, or None
    when there is none (or it has fewer than two beats)."""
    from engine.data.pop909 import read_beats

    beat_file = Path(midi_path).with_name(BEAT_FILE)
    if not beat_file.is_file():
        return None
    beats, downbeats = read_beats(beat_file, score)
    if len(beats) < 2:
        return None
    return replace(score, beats=beats, downbeats=downbeats)
