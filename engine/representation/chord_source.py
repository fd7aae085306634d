"""Where a region's chords come from: the song (annotated, entered by the user, or detected) or the model.

The rule-based detector finds chords from an accompaniment; run on a melody alone it finds the true root
on few beats (6-13 % on POP909 test songs, issue 16) and calls much of the song "no chord", so a band
generated on those chords does not follow the song. When the song holds no accompaniment to detect from
(only a melody, or a melody and drums) and the selection generates one, the region's chords are written
first instead: by the learned harmoniser (``analysis.harmoniser``, decoding the whole melody with the
song's chords around the region clamped), or by the network when the user selects the chord lane and the
model was trained for it (``infill._chord_choice``). Chords the score already holds (the user's, a file's
"Chord:" markers, an annotation) are always the condition.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from engine.representation.masks import Selection
from engine.score import ChordLabel, Score

if TYPE_CHECKING:
    from engine.analysis.grid import BeatGrid

# Categories that carry no harmony for the detector to read.
NOT_HARMONY = ("MELODY", "DRUMS")


def has_harmony(score: Score, categories: tuple[str, ...] | list[str], exclude: set[int] | frozenset[int] = frozenset()) -> bool:
    """True when a track of ``score`` outside ``exclude`` has notes and is neither a melody nor drums: a
    part the chord detector can read the harmony from. ``categories``: one per track."""
    return any(t.notes and c not in NOT_HARMONY and i not in exclude
               for i, (t, c) in enumerate(zip(score.tracks, categories, strict=True)))


def has_melody(score: Score, categories: tuple[str, ...] | list[str]) -> bool:
    """True when a MELODY track of ``score`` has notes: a line the harmoniser can choose chords for."""
    return any(t.notes and c == "MELODY" for t, c in zip(score.tracks, categories, strict=True))


def model_writes_chords(score: Score, selection: Selection, categories: tuple[str, ...] | list[str]) -> bool:
    """True when ``selection`` should regenerate its bars' chords (``Selection.chords``).

    ``categories``: the category of each track of ``score``. The user's choice (``selection.chords``)
    wins; else chords are written by the model only when the score has no chords of its own, every track
    that keeps its notes is a melody or drums, and the selection generates at least one other part.
    """
    if selection.chords:
        return True
    if score.chords:
        return False
    selected = set(range(len(score.tracks)) if selection.tracks is None else selection.tracks)
    if has_harmony(score, categories, selected):
        return False
    generated = [categories[i] for i in selected if 0 <= i < len(categories)] + list(selection.new_tracks)
    return any(c not in NOT_HARMONY for c in generated)


def melody_chords(score: Score, grid: BeatGrid, categories: tuple[str, ...] | list[str],
                  context: list[ChordLabel] | None = None) -> list[ChordLabel] | None:
    """The learned harmoniser's chords for the whole song when it is a melody alone (with or without
    drums: no harmony part, a melody that sounds) and the tables are installed, else None (read a band
    with the detector instead). ``context``: chords to hold outside the span being chosen."""
    from engine.analysis.harmoniser import available, harmonise

    if has_harmony(score, categories) or not has_melody(score, categories) or not available():
        return None
    return harmonise(melody_part(score, categories), grid, 0, grid.n_bars, context_chords=context or None)


def suggested_chords(score: Score, grid: BeatGrid, start: int = 0, end: int | None = None,
                     context: list[ChordLabel] | None = None) -> tuple[list[ChordLabel], str]:
    """(chords for ticks [start, end) of a song, where they came from: "harmoniser" or "detected").

    What the chord lane shows and "Detect Chords" fills in: a song with a harmony part gets the detector's
    chords (``analysis.chords``: root on 93 % of POP909's beats from a band); a melody alone (with or
    without drums) gets the learned harmoniser's (``melody_chords``: root on 40 % of beats, the detector
    on the melody 13 %), decoded over the whole melody with ``context`` (chords outside the span)
    clamped, exactly as ``infill`` chooses a bare melody's chords. ``end`` None = the song's end.
    Labels are cut to the span.
    """
    from engine.analysis.chord_edit import chords_in
    from engine.analysis.chords import detect_chords
    from engine.representation.encode import score_categories

    end = int(grid.position_to_tick(int(grid.bar_starts[-1]))) if end is None else end
    whole = melody_chords(score, grid, score_categories(score), context)
    if whole is not None:
        return chords_in(whole, start, end), "harmoniser"
    return chords_in([c for c in detect_chords(score, grid) if isinstance(c, ChordLabel)], start, end), "detected"


def melody_part(score: Score, categories: tuple[str, ...] | list[str]) -> Score:
    """``score`` with only its MELODY tracks (``categories``: one per track): what the harmoniser reads."""
    return replace(score, tracks=[t for t, c in zip(score.tracks, categories, strict=True) if c == "MELODY"])
