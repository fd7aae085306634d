"""The demo song the editor opens on first start: a 16-bar pop tune written by code, not taken from a dataset.

It exists so a new user sees a full band (melody, piano, bass, drums, strings) and can try Regenerate at
once, and so tests and screenshots have a realistic, licence-free song. Everything is deterministic: the
same call gives the same notes, so the checked-in ``resources/demo/demo_song.mid`` can be rebuilt with
``python -m engine.demo``.

Form (C major, 100 BPM, 4/4, I-V-vi-IV): bars 1-4 intro (piano, bass, light drums), bars 5-12 verse and
chorus with the melody, strings enter at bar 9, bars 13-16 outro ending on a held C chord.
"""

from __future__ import annotations

import sys
from pathlib import Path

from engine.score import ChordLabel, Note, Score, TempoChange, TimeSignature, Track

TPB = 480
BAR = 4 * TPB
N_BARS = 16
BPM = 100.0
DEMO_PATH = Path(__file__).resolve().parents[1] / "resources" / "demo" / "demo_song.mid"

# (root pitch class, quality, chord tones as MIDI pitches around middle C) for I-V-vi-IV in C.
_PROGRESSION: tuple[tuple[int, str, tuple[int, ...]], ...] = (
    (0, "", (60, 64, 67)),  # C
    (7, "", (59, 62, 67)),  # G (first inversion keeps the voicing close)
    (9, "m", (57, 60, 64)),  # Am
    (5, "", (57, 60, 65)),  # F (second inversion)
)
_SCALE = (0, 2, 4, 5, 7, 9, 11)

# Melody phrases: (beat offset, length in beats, scale degree above C5 = 72). Two contrasting
# two-bar phrases for verse and chorus; the chorus sits higher, as choruses do.
_VERSE = (
    ((0, 1, 2), (1, 0.5, 1), (1.5, 0.5, 0), (2, 1.5, 2), (3.5, 0.5, 4)),
    ((0, 1, 4), (1, 1, 3), (2, 1, 2), (3, 1, 1)),
    ((0, 0.5, 0), (0.5, 0.5, 1), (1, 1, 2), (2, 2, 5)),
    ((0, 1, 3), (1, 0.5, 2), (1.5, 0.5, 1), (2, 2, 0)),
)
_CHORUS = (
    ((0, 1.5, 4), (1.5, 0.5, 5), (2, 1, 4), (3, 1, 2)),
    ((0, 1, 4), (1, 1, 6), (2, 2, 4)),
    ((0, 0.5, 5), (0.5, 0.5, 4), (1, 1, 2), (2, 1, 5), (3, 1, 4)),
    ((0, 1, 3), (1, 1, 2), (2, 1.5, 1), (3.5, 0.5, 0)),
)


def _degree_pitch(degree: int, base: int = 72) -> int:
    octave, step = divmod(degree, 7)
    return base + 12 * octave + _SCALE[step]


def _melody() -> list[Note]:
    notes: list[Note] = []
    for bar in range(4, 12):
        phrase = _VERSE if bar < 8 else _CHORUS
        for beat, length, degree in phrase[bar % 4]:
            start = bar * BAR + int(beat * TPB)
            end = start + int(length * TPB) - 30
            notes.append(Note(start, end, _degree_pitch(degree), 96 if beat == 0 else 84))
    last = 11 * BAR + 4 * TPB
    notes.append(Note(last, last + 2 * TPB - 30, 72, 90))  # resolve into the outro on C
    return notes


def _piano() -> list[Note]:
    """Broken chords in eighths (root-fifth-third pattern) for the verse; block chords in intro/outro."""
    notes: list[Note] = []
    for bar in range(N_BARS):
        _root, _quality, tones = _PROGRESSION[bar % 4]
        t0 = bar * BAR
        if bar < 4 or bar >= 12:
            for beat in (0, 2):
                notes += [Note(t0 + beat * TPB, t0 + (beat + 2) * TPB - 20, p, 72) for p in tones]
        else:
            pattern = (0, 2, 1, 2, 0, 2, 1, 2)
            for i, idx in enumerate(pattern):
                start = t0 + i * TPB // 2
                notes.append(Note(start, start + TPB // 2 - 10, tones[idx] + (12 if i in (3, 7) else 0), 66 + (8 if i % 4 == 0 else 0)))
    end = N_BARS * BAR
    notes += [Note(end, end + BAR, p, 70) for p in (48, 60, 64, 67)]  # final chord
    return notes


def _bass() -> list[Note]:
    notes: list[Note] = []
    for bar in range(N_BARS):
        root = _PROGRESSION[bar % 4][0]
        low = 36 + root if root < 8 else 24 + root  # keep the bass between E1 and G2
        t0 = bar * BAR
        if bar < 4:
            notes += [Note(t0, t0 + 2 * TPB - 20, low, 92), Note(t0 + 2 * TPB, t0 + 4 * TPB - 20, low, 84)]
        else:
            for i, step in enumerate((0, 0, 7, 0, 0, 12, 7, 0)):
                start = t0 + i * TPB // 2
                notes.append(Note(start, start + TPB // 2 - 20, low + step, 96 if i == 0 else 82))
    notes.append(Note(N_BARS * BAR, N_BARS * BAR + BAR, 36, 90))
    return notes


def _drums() -> list[Note]:
    kick, snare, hat, crash, open_hat = 36, 38, 42, 49, 46
    notes: list[Note] = []
    for bar in range(N_BARS):
        t0 = bar * BAR
        if bar in (4, 8, 12):
            notes.append(Note(t0, t0 + 120, crash, 100))
        for eighth in range(8):
            t = t0 + eighth * TPB // 2
            if bar < 4 and eighth % 2:
                continue  # the intro uses quarter-note hats
            notes.append(Note(t, t + 60, open_hat if (eighth == 7 and bar % 4 == 3) else hat, 74 if eighth % 2 == 0 else 58))
            if eighth in (0, 5) or (eighth == 3 and bar >= 8):
                notes.append(Note(t, t + 60, kick, 110))
            if eighth in (2, 6) and bar >= 4:
                notes.append(Note(t, t + 60, snare, 102))
        if bar % 4 == 3 and bar >= 4:  # a small fill into the next phrase
            notes += [Note(t0 + 3 * TPB + i * TPB // 4, t0 + 3 * TPB + i * TPB // 4 + 60, snare, 80 + 6 * i) for i in range(4)]
    notes.append(Note(N_BARS * BAR, N_BARS * BAR + 240, crash, 100))
    notes.append(Note(N_BARS * BAR, N_BARS * BAR + 60, kick, 110))
    return notes


def _strings() -> list[Note]:
    notes: list[Note] = []
    for bar in range(8, N_BARS):
        tones = _PROGRESSION[bar % 4][2]
        t0 = bar * BAR
        notes += [Note(t0, t0 + BAR - 10, p + 12 if i == 0 else p, 58) for i, p in enumerate(tones)]
    return notes


def demo_score() -> Score:
    """The demo song as a Score (with its chord labels, so the chord lane works without analysis)."""
    chords = [ChordLabel(b * BAR, (b + 1) * BAR, _PROGRESSION[b % 4][0], _PROGRESSION[b % 4][1]) for b in range(N_BARS)]
    chords.append(ChordLabel(N_BARS * BAR, (N_BARS + 1) * BAR, 0, ""))
    tracks = [
        Track("Melody", 73, False, _melody(), category="MELODY"),
        Track("Piano", 0, False, _piano()),
        Track("Bass", 33, False, _bass()),
        Track("Drums", 0, True, _drums()),
        Track("Strings", 48, False, _strings()),
    ]
    for track in tracks:
        track.notes.sort(key=lambda n: (n.start, n.pitch, n.end))
    return Score(TPB, tracks, [TempoChange(0, BPM)], [TimeSignature(0, 4, 4)], chords=chords)


def write_demo(path: str | Path = DEMO_PATH) -> Path:
    """Write the demo song as MIDI (atomically) and return the path."""
    from engine.midi_io import write_midi

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_midi(demo_score(), path)
    return path


if __name__ == "__main__":
    print(write_demo(sys.argv[1] if len(sys.argv) > 1 else DEMO_PATH))
