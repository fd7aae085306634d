"""Melody track detection: which track of a file is the tune, when no track is named so.

The seed read the melody track from a file nobody could regenerate; the model needs exactly one MELODY
track per song (it is the condition the accompaniment is generated against). A melody line is, in order
of how much each cue tells: monophonic (one voice sings one note at a time), present for most of the song,
in a singable register, made of short-to-medium notes, and usually played a little louder than the
accompaniment. Names and programs are hints on top: a track called "Vocal" or played by a flute is likely
the tune, one called "Bass" or played by a pad is not. Each cue is a term in a weighted sum, so the
decision can be explained and tuned (``bench/pop909_analysis.py`` measures it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.analysis.categories import program_category, track_category
from engine.score import Score, Track

MELODY_NAME_HINTS: tuple[str, ...] = ("melody", "melodie", "melodia", "vocal", "voice", "vox", "lead", "sing", "solo", "tune")  # fmt: skip
ACCOMPANIMENT_NAME_HINTS: tuple[str, ...] = (
    "bass", "drum", "perc", "pad", "chord", "accomp", "left", "rhythm", "strum", "arpeg", "harmony",
    "backing", "kick", "snare", "hihat", "hi-hat", "cymbal",
)  # fmt: skip
# Program categories whose instruments usually carry a tune, and those that almost never do.
LEAD_CATEGORIES: frozenset[str] = frozenset({"SYNTH_LEAD", "REED", "PIPE", "BRASS"})
NON_MELODY_CATEGORIES: frozenset[str] = frozenset({"BASS", "DRUMS", "SOUND_EFFECTS", "SYNTH_EFFECTS"})
# Choir aahs, voice oohs, synth voice, lead voice.
VOICE_PROGRAMS: frozenset[int] = frozenset({52, 53, 54, 85})

VOCAL_LOW, VOCAL_HIGH = 48, 84  # C3-C6: where sung and lead lines live
NAMED_MELODY_BONUS = 100.0  # a track named "melody" wins outright


@dataclass(frozen=True, slots=True)
class TrackFeatures:
    """The measurements the melody score is built from (all in musical units, independent of tempo)."""

    n_notes: int
    monophony: float  # fraction of sounding time with at most one note (small legato overlaps allowed)
    mean_pitch: float
    in_range: float  # fraction of notes within VOCAL_LOW..VOCAL_HIGH
    coverage: float  # fraction of the song's beats in which the track sounds
    notes_per_beat: float  # notes per beat while the track is active
    median_duration: float  # beats
    relative_velocity: float  # mean velocity minus the mean of the other pitched tracks


@dataclass(frozen=True, slots=True)
class MelodyWeights:
    """Weights of the cues; positive terms reward a melody-like track."""

    monophony: float = 6.0
    pitch: float = 2.0
    in_range: float = 1.0
    coverage: float = 4.0
    density: float = 1.0
    duration: float = 1.0
    velocity: float = 1.5
    low_register: float = 8.0  # a line that lives below G3 is a bass line, however tuneful
    high_register: float = 4.0  # ... and one above E6 a descant, bell or effect
    name_hint: float = 6.0
    name_penalty: float = 4.0
    lead_program: float = 1.0
    non_melody_program: float = 6.0
    pad_program: float = 1.5
    threshold: float = 10.0  # below this total no track is called the melody (a lone chord track scores ~9)


DEFAULT_WEIGHTS = MelodyWeights()


def _name_has(name: str, hints: tuple[str, ...]) -> bool:
    low = name.lower()
    return any(h in low for h in hints)


def is_named_melody(track: Track) -> bool:
    """A track the user (or the file) explicitly calls the melody."""
    return not track.is_drum and (track.category == "MELODY" or "melody" in track.name.lower())


def _monophony(starts: np.ndarray, ends: np.ndarray, tolerance: int) -> float:
    """Fraction of sounding time with at most one note, after forgiving overlaps up to ``tolerance`` ticks."""
    ends = np.maximum(ends - tolerance, starts + 1)
    times = np.concatenate([starts, ends])
    deltas = np.concatenate([np.ones_like(starts), -np.ones_like(ends)])
    order = np.lexsort((deltas, times))  # note-offs before note-ons at the same tick
    times, count = times[order], np.cumsum(deltas[order])
    spans = np.diff(times)
    active = count[:-1]
    sounding = spans[active >= 1].sum()
    return float(spans[active == 1].sum() / sounding) if sounding > 0 else 1.0


def track_features(score: Score, index: int, song_beats: tuple[int, int] | None = None) -> TrackFeatures:
    """Features of ``score.tracks[index]`` (song_beats = first and last beat of the whole song)."""
    track = score.tracks[index]
    tpb = score.ticks_per_beat
    starts = np.fromiter((n.start for n in track.notes), dtype=np.int64, count=len(track.notes))
    ends = np.fromiter((n.end for n in track.notes), dtype=np.int64, count=len(track.notes))
    pitches = np.fromiter((n.pitch for n in track.notes), dtype=np.float64, count=len(track.notes))
    vels = np.fromiter((n.velocity for n in track.notes), dtype=np.float64, count=len(track.notes))
    if len(starts) == 0:
        return TrackFeatures(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    first, last = song_beats or (int(starts.min() // tpb), int((ends.max() - 1) // tpb))
    n_beats = max(last - first + 1, 1)
    active = np.zeros(n_beats, dtype=np.int64)
    a = np.clip(starts // tpb - first, 0, n_beats - 1)
    b = np.clip((ends - 1) // tpb - first, 0, n_beats - 1)
    np.add.at(active, a, 1)  # difference array: +1 at the first beat a note sounds, -1 after its last
    np.add.at(active, b[b + 1 < n_beats] + 1, -1)
    covered = np.cumsum(active) > 0
    n_active = max(int(covered.sum()), 1)
    others = [n.velocity for i, t in enumerate(score.tracks) if i != index and not t.is_drum for n in t.notes]
    rel_vel = float(vels.mean() - np.mean(others)) if others else 0.0
    return TrackFeatures(
        n_notes=len(starts),
        monophony=_monophony(starts, ends, tolerance=tpb // 8),
        mean_pitch=float(pitches.mean()),
        in_range=float(np.mean((pitches >= VOCAL_LOW) & (pitches <= VOCAL_HIGH))),
        coverage=float(covered.mean()),
        notes_per_beat=len(starts) / n_active,
        median_duration=float(np.median(ends - starts) / tpb),
        relative_velocity=rel_vel,
    )


def _pitch_term(mean_pitch: float) -> float:
    """1 for a mean pitch in the singing register (G3-G#5), falling to 0 an octave outside it."""
    if 55 <= mean_pitch <= 84:
        return 1.0
    gap = 55 - mean_pitch if mean_pitch < 55 else mean_pitch - 84
    return max(0.0, 1.0 - gap / 12.0)


def _duration_term(median_beats: float) -> float:
    """1 for typical melody notes (up to a half note), 0 for notes of a bar or longer (pads, drones)."""
    if median_beats <= 2.0:
        return 1.0
    return max(0.0, 1.0 - (median_beats - 2.0) / 2.0)


def _density_term(notes_per_beat: float) -> float:
    """A tune has at least a note every other beat while it plays; fewer looks like held chords."""
    return min(1.0, notes_per_beat / 0.5)


def melody_score(track: Track, features: TrackFeatures, weights: MelodyWeights = DEFAULT_WEIGHTS) -> float:
    """How melody-like one track is (higher is more likely); -inf for drums and empty tracks."""
    if track.is_drum or features.n_notes == 0:
        return float("-inf")
    w = weights
    s = w.monophony * max(0.0, (features.monophony - 0.5) / 0.5) ** 2
    s += w.pitch * _pitch_term(features.mean_pitch)
    s -= w.low_register * float(np.clip((55.0 - features.mean_pitch) / 12.0, 0.0, 1.0))
    s -= w.high_register * float(np.clip((features.mean_pitch - 88.0) / 12.0, 0.0, 1.0))
    s += w.in_range * features.in_range
    s += w.coverage * features.coverage
    s += w.density * _density_term(features.notes_per_beat)
    s += w.duration * _duration_term(features.median_duration)
    s += w.velocity * float(np.clip(features.relative_velocity / 15.0, -1.0, 1.0))
    if _name_has(track.name, MELODY_NAME_HINTS):
        s += w.name_hint
    elif _name_has(track.name, ACCOMPANIMENT_NAME_HINTS):
        s -= w.name_penalty
    category = program_category(track.program)
    if category in LEAD_CATEGORIES or track.program in VOICE_PROGRAMS:
        s += w.lead_program
    elif category in NON_MELODY_CATEGORIES:
        s -= w.non_melody_program
    elif category == "SYNTH_PAD":
        s -= w.pad_program
    if is_named_melody(track):
        s += NAMED_MELODY_BONUS
    return s


def _song_beats(score: Score) -> tuple[int, int] | None:
    notes = [n for t in score.tracks for n in t.notes]
    if not notes:
        return None
    tpb = score.ticks_per_beat
    return min(n.start for n in notes) // tpb, (max(n.end for n in notes) - 1) // tpb


def melody_scores(score: Score, weights: MelodyWeights = DEFAULT_WEIGHTS) -> list[float]:
    """The melody score of every track (index-aligned with ``score.tracks``; -inf for drums/empty)."""
    span = _song_beats(score)
    return [melody_score(t, track_features(score, i, span), weights) for i, t in enumerate(score.tracks)]


def detect_melody_track(score: Score, weights: MelodyWeights = DEFAULT_WEIGHTS) -> int | None:
    """Index of the melody track, or None when no track looks like one (drums only, a lone bass ...).

    A track named or categorised MELODY wins outright; otherwise the best-scoring track above the
    threshold. Ties go to the earlier track.
    """
    if not score.tracks:
        return None
    scores = melody_scores(score, weights)
    best = int(np.argmax(scores))
    return best if scores[best] >= weights.threshold else None


def assign_categories(score: Score, weights: MelodyWeights = DEFAULT_WEIGHTS) -> list[str]:
    """Category of every track, with exactly one MELODY at most (the detected melody); drums never melody.

    Tracks that would otherwise call themselves MELODY (explicit category or a name like "vocal") but are
    not the chosen melody fall back to their program's category, so the model never sees two melodies.
    """
    melody = detect_melody_track(score, weights)
    out: list[str] = []
    for i, track in enumerate(score.tracks):
        if track.is_drum:
            out.append("DRUMS")
        elif i == melody:
            out.append("MELODY")
        else:
            category = track_category(track)
            out.append(program_category(track.program) if category == "MELODY" else category)
    return out
