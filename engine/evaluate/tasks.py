"""Evaluation tasks: which region of which test song to regenerate, chosen reproducibly.

Each task is one question an editor user asks (regenerate a whole part, a short span, the melody over
its accompaniment, the accompaniment under its melody, the drums). For every chosen song a seeded
generator picks the tracks and the bars; a song that cannot support a task (no melody, no drums, too
short, the part silent everywhere) is skipped and the skip is counted with its reason, so a table
never silently averages over fewer songs than it claims.

Songs are rebuilt from the dataset's stored encodings (``song_score``), not re-read from their source
files: the encoding is exactly what the split was built from, it needs neither the source folder nor MMA
at evaluation time, and its notes are already on the grid and in the model's vocabulary (durations
snapped to 16ths), so the ground truth and the generated notes are measured on the same footing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.analysis.grid import POSITIONS_PER_BEAT, BeatGrid
from engine.analysis.tempo import CLASS_BPM, TEMPO_CLASSES
from engine.data.shards import SongStore
from engine.representation.decode import decode, decode_chords, time_signatures_of
from engine.representation.encode import SAEncoding
from engine.representation.masks import Selection
from engine.score import Score, TempoChange, Track

TASKS: tuple[str, ...] = ("whole_track", "span", "melody", "accompaniment", "drums")
TASK_LABELS: dict[str, str] = {
    "whole_track": "whole track (16 bars, 1 non-melody track)",
    "span": "4-bar span x 1-2 tracks",
    "melody": "melody from accompaniment (8 bars)",
    "accompaniment": "accompaniment from melody (8 bars)",
    "drums": "drums (8 bars)",
}
TASK_BARS: dict[str, int] = {"whole_track": 16, "span": 4, "melody": 8, "accompaniment": 8, "drums": 8}
MIN_NOTES_PER_BAR = 0.5  # a selected part must play at least this many notes per bar in the region
TRIES = 32  # random spans tried before a song is skipped for a task


@dataclass
class Song:
    """A test song rebuilt as a Score, with the analysis the encoding stored."""

    index: int  # in the split
    song_id: str
    score: Score
    categories: tuple[str, ...]
    grid: BeatGrid
    first_bar: int
    end_bar: int


@dataclass(frozen=True)
class TaskCase:
    task: str
    song: int  # index into the list of loaded songs
    song_id: str
    selection: Selection


@dataclass
class TaskPlan:
    cases: list[TaskCase] = field(default_factory=list)
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)  # task -> reason -> songs

    def skip(self, task: str, reason: str) -> None:
        self.skipped.setdefault(task, {})
        self.skipped[task][reason] = self.skipped[task].get(reason, 0) + 1


def song_score(encoding: SAEncoding, meta: dict) -> Score:
    """The Score a stored encoding stands for: its notes (on the grid, velocities kept), its tracks'
    names, programs and categories, its beat/bar grid and its chords.

    Encoding the result again gives back the stored table (the last, often partial, bar of a song may
    differ in length), so ``infill`` sees the song as the model was trained on it."""
    grid = encoding.grid
    cats = tuple(meta["categories"])
    tracks = [Track(t.get("name", c.title()), int(t.get("program", 0)), bool(t.get("is_drum", c == "DRUMS")), [],
                    category=c, generated=bool(t.get("generated", False)))
              for t, c in zip(meta.get("tracks") or [{} for _ in cats], cats, strict=True)]
    bt = np.asarray(grid.beat_ticks, dtype=np.int64)
    steps = np.diff(bt)
    tpb = int(steps[0]) if len(steps) and np.all(steps == steps[0]) and bt[0] == 0 else 0
    ticks_per_beat = tpb or (int(round(float(np.median(steps)))) if len(steps) else 480)
    template = Score(ticks_per_beat=ticks_per_beat, tracks=tracks,
                     tempos=[TempoChange(0, CLASS_BPM[TEMPO_CLASSES[encoding.tempo]])])
    if tpb:  # a plain grid from time signatures (any MIDI file): rebuild it the same way
        template.time_signatures = time_signatures_of(grid)
    else:  # an annotated beat grid (POP909): give the beats; the grid builder adds the last one itself
        template.beats = [int(x) for x in bt[:-1]]
        template.downbeats = [int(bt[b // POSITIONS_PER_BEAT]) for b in grid.bar_starts[:-1].tolist()
                              if b % POSITIONS_PER_BEAT == 0]
    score = decode(encoding.tokens, encoding.track_of_row, template, encoding.first_bar, grid,
                   velocity_of_row=encoding.velocity_of_row, categories=cats)
    score.chords = decode_chords(encoding.tokens, grid, encoding.first_bar)
    return score


def load_song(store: SongStore, index: int) -> Song:
    enc, meta = store.encoding(index), store.meta(index)
    return Song(index, str(meta["id"]), song_score(enc, meta), tuple(meta["categories"]), enc.grid,
                enc.first_bar, enc.end_bar)


def choose_songs(n_split: int, n: int, seed: int) -> list[int]:
    """``n`` song indices of a split, a seeded permutation's prefix (all of them if n <= 0)."""
    perm = np.random.default_rng([seed, 1_009]).permutation(n_split)
    return sorted(int(i) for i in (perm if n <= 0 else perm[:n]))


def bar_note_counts(song: Song) -> np.ndarray:
    """int [tracks, bars]: notes starting in each grid bar of each track."""
    from engine.evaluate.metrics import score_notes

    notes = score_notes(song.score, song.grid)
    out = np.zeros((len(song.score.tracks), song.grid.n_bars), dtype=np.int64)
    bars = np.asarray(song.grid.bar_of_position(notes.onset), dtype=np.int64)
    np.add.at(out, (notes.track, bars), 1)
    return out


def _pick_span(counts: np.ndarray, tracks: list[int], lo: int, hi: int, bars: int, rng: np.random.Generator,
               need_all: bool = True) -> int | None:
    """A start bar in [lo, hi - bars] where the tracks play enough (each, or together if not ``need_all``)."""
    starts = np.arange(lo, hi - bars + 1)
    if not len(starts):
        return None
    for s in rng.permutation(starts)[:TRIES].tolist():
        played = counts[tracks, s : s + bars].sum(axis=1)
        enough = played >= MIN_NOTES_PER_BAR * bars
        if enough.all() if need_all else enough.any():
            return int(s)
    return None


def make_selection(task: str, song: Song, counts: np.ndarray, rng: np.random.Generator) -> Selection | str:
    """The task's selection on ``song``, or the reason the song cannot support it.

    Spans avoid the song's last bar (often partial) and never cover every bar, so there is context."""
    bars = TASK_BARS[task]
    lo, hi = song.first_bar, song.end_bar - 1
    if hi - lo < bars + 1:
        return f"fewer than {bars + 1} full bars"
    cats = song.categories
    playing = [t for t in range(len(cats)) if counts[t, lo:hi].sum() > 0]
    melody = [t for t in playing if cats[t] == "MELODY"]
    others = [t for t in playing if cats[t] != "MELODY"]
    if task == "whole_track":
        if not others:
            return "no non-melody track"
        for t in rng.permutation(others).tolist():
            s = _pick_span(counts, [t], lo, hi, bars, rng)
            if s is not None:
                return Selection(s, s + bars, (int(t),))
        return "no non-melody track plays in a 16-bar window"
    if task == "span":
        k = 1 + int(rng.integers(2)) if len(playing) >= 2 else 1
        for _ in range(4):
            tracks = sorted(int(t) for t in rng.choice(playing, size=k, replace=False))
            s = _pick_span(counts, tracks, lo, hi, bars, rng)
            if s is not None:
                return Selection(s, s + bars, tuple(tracks))
        return "no 4 bars where the chosen tracks play"
    if task == "melody":
        if not melody:
            return "no melody track"
        s = _pick_span(counts, melody[:1], lo, hi, bars, rng)
        return Selection(s, s + bars, (melody[0],)) if s is not None else "the melody rests in every 8-bar span"
    if task == "accompaniment":
        if not melody or not others:
            return "needs a melody and an accompaniment"
        s = _pick_span(counts, others, lo, hi, bars, rng, need_all=False)
        if s is not None and counts[melody[0], s : s + bars].sum() == 0:
            s = None
        return Selection(s, s + bars, tuple(others)) if s is not None else "no 8 bars with melody and accompaniment"
    if task == "drums":
        drums = [t for t in playing if cats[t] == "DRUMS"]
        if not drums:
            return "no drums"
        s = _pick_span(counts, drums, lo, hi, bars, rng, need_all=False)
        return Selection(s, s + bars, tuple(drums)) if s is not None else "drums silent in every 8-bar span"
    raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")


def plan_tasks(songs: list[Song], tasks: tuple[str, ...], seed: int) -> TaskPlan:
    """One case per (task, song) that supports it; the choice of tracks and bars is a pure function of
    (seed, song id, task), so adding songs or tasks never changes the others' regions."""
    from engine.data.split import unit_hash

    plan = TaskPlan()
    for k, song in enumerate(songs):
        counts = bar_note_counts(song)
        for task in tasks:
            rng = np.random.default_rng([seed, int(unit_hash(song.song_id, 0) * 2**31), TASKS.index(task)])
            sel = make_selection(task, song, counts, rng)
            if isinstance(sel, str):
                plan.skip(task, sel)
            else:
                plan.cases.append(TaskCase(task, k, song.song_id, sel))
    return plan


def parse_tasks(text: str) -> tuple[str, ...]:
    """'all' or a comma list of TASKS."""
    if text.strip().lower() == "all":
        return TASKS
    chosen = tuple(t.strip().lower().replace("-", "_") for t in text.split(",") if t.strip())
    bad = [t for t in chosen if t not in TASKS]
    if bad or not chosen:
        raise ValueError(f"unknown task(s) {', '.join(bad) or text!r}; choose from all, {', '.join(TASKS)}")
    return chosen
