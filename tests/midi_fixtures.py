"""Small scores and MIDI files built in code: the core suite never needs a dataset.

Each builder returns a Score; ``write(score, tmp_path, name)`` writes it with the project's writer so
tests exercise the same MIDI path users do.
"""

from __future__ import annotations

from pathlib import Path

from engine.midi_io import write_midi
from engine.score import Note, Score, TempoChange, TimeSignature, Track

TPB = 480


def _bars_of_notes(pitches: list[int], step: int, length: int, start: int = 0, velocity: int = 90) -> list[Note]:
    return [Note(start + i * step, start + i * step + length, p, velocity) for i, p in enumerate(pitches)]


def pop_band(bars: int = 8, tpb: int = TPB) -> Score:
    """A 4/4 band at 100 BPM: melody, piano chords, bass, drums, strings (C-G-Am-F)."""
    prog = [(60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60)]
    melody_line = [72, 74, 76, 79, 77, 76, 74, 72]
    melody, piano, bass, drums, strings = [], [], [], [], []
    for b in range(bars):
        bar = b * 4 * tpb
        chord = prog[b % 4]
        for i, p in enumerate(melody_line[(b % 2) * 4 : (b % 2) * 4 + 4]):
            melody.append(Note(bar + i * tpb, bar + i * tpb + tpb - 40, p + (2 if b % 4 == 2 else 0), 100))
        for beat in range(4):
            for p in chord:
                piano.append(Note(bar + beat * tpb, bar + beat * tpb + tpb // 2, p, 70))
        bass += _bars_of_notes([chord[0] - 24] * 4, tpb, tpb - 20, bar, 95)
        for eighth in range(8):
            t = bar + eighth * tpb // 2
            drums.append(Note(t, t + 60, 42, 70))  # closed hi-hat
            if eighth in (0, 4):
                drums.append(Note(t, t + 60, 36, 110))  # kick
            if eighth in (2, 6):
                drums.append(Note(t, t + 60, 38, 100))  # snare
        strings += [Note(bar, bar + 4 * tpb, p + 12, 60) for p in chord]
    return Score(
        ticks_per_beat=tpb,
        tracks=[
            Track("Melody", 73, False, melody),
            Track("Piano", 0, False, piano),
            Track("Bass", 33, False, bass),
            Track("Drums", 0, True, drums),
            Track("Strings", 48, False, strings),
        ],
        tempos=[TempoChange(0, 100.0)],
        time_signatures=[TimeSignature(0, 4, 4)],
    )


def waltz(bars: int = 6) -> Score:
    """3/4 with a tempo change halfway."""
    notes = [Note(b * 3 * TPB + i * TPB, b * 3 * TPB + i * TPB + TPB, 60 + (b + i) % 12, 80) for b in range(bars) for i in range(3)]
    return Score(TPB, [Track("Piano", 0, False, notes)], [TempoChange(0, 90.0), TempoChange(3 * 3 * TPB, 140.0)], [TimeSignature(0, 3, 4)])


def six_eight(bars: int = 4) -> Score:
    """6/8: bars of six eighths (three beats of 480 ticks)."""
    notes = [Note(b * 3 * TPB + i * TPB // 2, b * 3 * TPB + (i + 1) * TPB // 2, 67 + i, 80) for b in range(bars) for i in range(6)]
    return Score(TPB, [Track("Flute", 73, False, notes)], [TempoChange(0, 80.0)], [TimeSignature(0, 6, 8)])


def pickup(bars: int = 4) -> Score:
    """A one-beat anacrusis (1/4 bar) then 4/4."""
    notes = [Note(0, TPB, 67, 80)] + [Note(TPB + b * 4 * TPB + i * TPB, TPB + b * 4 * TPB + (i + 1) * TPB, 72 - i, 80) for b in range(bars) for i in range(4)]
    return Score(TPB, [Track("Lead", 80, False, notes)], [TempoChange(0, 120.0)], [TimeSignature(0, 1, 4), TimeSignature(TPB, 4, 4)])


def overlapping() -> Score:
    """Overlapping and duplicate notes on one track, a chord, and notes outside 21-108."""
    notes = [
        Note(0, 960, 60, 80),
        Note(240, 720, 60, 80),  # overlaps the same pitch
        Note(240, 720, 60, 70),  # exact duplicate onset/pitch
        Note(0, 1920, 64, 80),
        Note(0, 1920, 67, 80),
        Note(480, 600, 12, 80),  # below the SA pitch range
        Note(480, 600, 120, 80),  # above it
        Note(0, 16 * TPB, 48, 80),  # four bars long
    ]
    return Score(TPB, [Track("Keys", 4, False, notes)], [TempoChange(0, 110.0)], [TimeSignature(0, 4, 4)])


def write(score: Score, folder: Path, name: str) -> Path:
    path = Path(folder) / name
    write_midi(score, path)
    return path
