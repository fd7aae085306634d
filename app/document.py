"""The editor's document: everything the window shows, held without any Qt so it can be tested bare.

Following napari's split, widgets observe a ``Document`` through its ``changed`` event and call its
methods; they never keep their own copy of the song. Scores are treated as immutable values: an edit builds
a new ``Score`` (sharing unchanged ``Track`` objects) and the undo stack swaps whole states, which keeps
undo trivially correct and lets caches key on object identity.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from engine.analysis.categories import CATEGORIES, DEFAULT_PROGRAM, track_category
from engine.analysis.grid import POSITIONS_PER_BEAT, BeatGrid, beat_grid
from engine.analysis.tempo import TEMPO_CLASSES
from engine.guidance import GUIDANCE_DEFAULT
from engine.novelty import NOVELTY_DEFAULT
from engine.scale import MELODY_SCALE_DEFAULT
from engine.score import ChordLabel, KeySignature, Note, Score, TempoChange, TimeSignature, Track

NoteKey = tuple[int, int, int]  # (track index, start tick, pitch): how the engine names a locked note
Attributes = Literal["all", "pitch", "rhythm"]
ATTRIBUTES: tuple[str, ...] = ("all", "pitch", "rhythm")
REGISTER_CHOICES: tuple[str, ...] = ("strict", "loose", "off")
LINE_CHOICES: tuple[str, ...] = ("auto", "on", "off")
PROJECT_SUFFIX = ".pdsproj"
# 2: the song document (the MIDI file's bytes) and each track's part of it are stored, so a re-opened
# project writes every event the file held; 1 (notes, tempos, meters, chords only) still loads.
PROJECT_VERSION = 2
CHORD_ANALYSIS_NOTE_LIMIT = 60_000  # above this, chord detection would make opening a file feel slow


class Event:
    """A tiny Qt-free signal: the document's observers are plain callables."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., None]] = []

    def connect(self, callback: Callable[..., None]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., None]) -> None:
        self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)


@dataclass(frozen=True)
class RegionSelection:
    """The region to regenerate: whole bars × some tracks (None = every track).

    Bars, not ticks, because the engine's mask works bar-wise (engine.representation.masks.Selection).
    """

    start_bar: int
    end_bar: int  # exclusive
    tracks: tuple[int, ...] | None = None
    chords: bool = False  # the region reaches into the chord lane: the model rewrites its chords too

    def __post_init__(self) -> None:
        if self.end_bar <= self.start_bar:
            raise ValueError(f"empty bar range {self.start_bar}..{self.end_bar}")

    def covers_track(self, index: int) -> bool:
        return self.tracks is None or index in self.tracks

    def describe(self, track_names: list[str]) -> str:
        bars = f"bar {self.start_bar + 1}" if self.end_bar - self.start_bar == 1 else f"bars {self.start_bar + 1}–{self.end_bar}"
        if self.tracks is None:
            who = "all tracks"
        else:
            names = [track_names[i] if i < len(track_names) else f"track {i + 1}" for i in self.tracks]
            who = ", ".join(names) if len(names) <= 3 else f"{len(names)} tracks"
        return f"{bars}, {who}" + (" + chords" if self.chords else "")


@dataclass
class PromptSettings:
    """What the musician asks of the model for the selected region (remembered between sessions)."""

    attributes: str = "all"  # one of ATTRIBUTES
    new_tracks: tuple[str, ...] = ()  # categories to add inside the region ("add strings here")
    tempo_class: str | None = None  # None = the song's own class
    guidance: float = GUIDANCE_DEFAULT  # one default and one meaning with the CLI (engine.guidance)
    n_variations: int = 3
    steps: int = 10
    temperature: float = 1.0
    seed: int = 1
    register: str = "strict"  # pitch range of regenerated parts: strict / loose / off (engine Prompts.register)
    one_line: str = "auto"  # one note at a time: auto (parts that are a line around the region) / on / off
    novelty: float = NOVELTY_DEFAULT  # 1 = all new, lower = closer to the part's own repeat (engine.novelty)
    melody_scale: bool = MELODY_SCALE_DEFAULT  # a regenerated melody keeps its pitch classes (engine.scale)

    def __post_init__(self) -> None:
        if self.attributes not in ATTRIBUTES:
            self.attributes = "all"
        if self.register not in REGISTER_CHOICES:
            self.register = "strict"
        if self.one_line not in LINE_CHOICES:
            self.one_line = "auto"
        self.new_tracks = tuple(c for c in self.new_tracks if c in CATEGORIES)
        if self.tempo_class not in TEMPO_CLASSES:
            self.tempo_class = None
        self.n_variations = int(min(max(self.n_variations, 1), 8))
        self.steps = int(min(max(self.steps, 1), 200))
        self.guidance = float(min(max(self.guidance, 0.0), 10.0))
        self.temperature = float(min(max(self.temperature, 0.05), 3.0))
        self.novelty = float(min(max(self.novelty, 0.0), 1.0))
        self.melody_scale = bool(self.melody_scale)
        self.seed = int(self.seed) % (2**31)

    def preferences(self) -> PromptSettings:
        """Only what belongs to the musician, not to a song: guidance, variations, steps, temperature, seed.

        What to regenerate, the instruments to add and the tempo class are about one song and one region;
        carried over to another song they would silently add a Brass track to it (issue 18, item 2).
        """
        return replace(self, attributes="all", new_tracks=(), tempo_class=None)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["new_tracks"] = list(self.new_tracks)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromptSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "new_tracks" in known:
            known["new_tracks"] = tuple(known["new_tracks"] or ())
        try:
            return cls(**known)
        except (TypeError, ValueError):
            return cls()


@dataclass(frozen=True)
class InfillRequest:
    """Everything one Regenerate press sends to the backend: a value, so the worker thread owns its copy."""

    score: Score
    selection: RegionSelection
    prompts: PromptSettings
    locked: frozenset[NoteKey]
    instruments: tuple[str, ...]  # categories wanted in the region (selected tracks + new ones)


class TrackArrays:
    """A track's notes as sorted numpy arrays, so the piano roll can cull to the visible time range fast."""

    __slots__ = ("starts", "ends", "pitches", "velocities", "max_duration", "pitch_lo", "pitch_hi", "order")

    def __init__(self, track: Track) -> None:
        n = len(track.notes)
        data = np.fromiter(
            (v for note in track.notes for v in (note.start, note.end, note.pitch, note.velocity)), dtype=np.int64, count=4 * n
        ).reshape(n, 4)
        order = np.argsort(data[:, 0], kind="stable")
        data = data[order]
        self.order = order  # index into track.notes for each sorted row
        self.starts, self.ends = data[:, 0].copy(), data[:, 1].copy()
        self.pitches, self.velocities = data[:, 2].copy(), data[:, 3].copy()
        self.max_duration = int((self.ends - self.starts).max()) if n else 0
        if n:
            lo, hi = int(self.pitches.min()), int(self.pitches.max())
        else:
            lo, hi = 60, 72
        pad = max(0, 12 - (hi - lo)) // 2  # at least an octave so a lone note is not a giant bar
        self.pitch_lo, self.pitch_hi = max(0, lo - pad - 1), min(127, hi + pad + 1)

    def visible(self, t0: float, t1: float) -> slice:
        """Rows whose notes may overlap [t0, t1): starts sorted, so a note can only begin max_duration earlier."""
        i0 = int(np.searchsorted(self.starts, t0 - self.max_duration, side="left"))
        i1 = int(np.searchsorted(self.starts, t1, side="left"))
        return slice(i0, i1)


# ----------------------------------------------------------------------------------------------- pure edits
# Each returns a new Score that shares every Track it did not change (so caches and undo stay cheap).


def _with_tracks(score: Score, tracks: list[Track]) -> Score:
    return replace(score, tracks=tracks)


def delete_notes(score: Score, keys: Iterable[NoteKey]) -> Score:
    by_track: dict[int, set[tuple[int, int]]] = {}
    for t, start, pitch in keys:
        by_track.setdefault(t, set()).add((start, pitch))
    tracks = list(score.tracks)
    for t, doomed in by_track.items():
        if 0 <= t < len(tracks):
            old = tracks[t]
            tracks[t] = replace(old, notes=[n for n in old.notes if (n.start, n.pitch) not in doomed])
    return _with_tracks(score, tracks)


def add_note(score: Score, track: int, note: Note) -> Score:
    tracks = list(score.tracks)
    old = tracks[track]
    notes = [*old.notes, note]
    notes.sort(key=lambda n: (n.start, n.pitch, n.end))
    tracks[track] = replace(old, notes=notes)
    return _with_tracks(score, tracks)


def move_notes(score: Score, keys: Iterable[NoteKey], d_tick: int, d_pitch: int) -> tuple[Score, set[NoteKey]]:
    """Shift notes in time and pitch (clamped to tick 0 and MIDI 0-127); returns the moved notes' new keys."""
    by_track: dict[int, set[tuple[int, int]]] = {}
    for t, start, pitch in keys:
        by_track.setdefault(t, set()).add((start, pitch))
    tracks = list(score.tracks)
    moved: set[NoteKey] = set()
    for t, wanted in by_track.items():
        if not 0 <= t < len(tracks):
            continue
        old = tracks[t]
        notes = []
        for n in old.notes:
            if (n.start, n.pitch) in wanted:
                start = max(0, n.start + d_tick)
                pitch = min(127, max(0, n.pitch + d_pitch))
                n = Note(start, start + n.duration, pitch, n.velocity)
                moved.add((t, n.start, n.pitch))
            notes.append(n)
        notes.sort(key=lambda n: (n.start, n.pitch, n.end))
        tracks[t] = replace(old, notes=notes)
    return _with_tracks(score, tracks), moved


def set_note_velocities(score: Score, velocities: dict[NoteKey, int]) -> Score:
    """Set the velocity (clamped to 1-127) of the notes named by key; other notes and tracks are shared."""
    by_track: dict[int, dict[tuple[int, int], int]] = {}
    for (t, start, pitch), vel in velocities.items():
        by_track.setdefault(t, {})[(start, pitch)] = int(min(127, max(1, vel)))
    tracks = list(score.tracks)
    for t, wanted in by_track.items():
        if 0 <= t < len(tracks):
            old = tracks[t]
            notes = [replace(n, velocity=wanted[(n.start, n.pitch)]) if (n.start, n.pitch) in wanted else n for n in old.notes]
            tracks[t] = replace(old, notes=notes)
    return _with_tracks(score, tracks)


def add_track(score: Score, category: str, name: str | None = None) -> Score:
    track = Track(
        name=name or category.replace("_", " ").title(),
        program=DEFAULT_PROGRAM.get(category, 0),
        is_drum=category == "DRUMS",
        notes=[],
        category=category,
    )
    return _with_tracks(score, [*score.tracks, track])


def remove_track(score: Score, index: int) -> Score:
    return _with_tracks(score, [t for i, t in enumerate(score.tracks) if i != index])


def set_track_instrument(score: Score, index: int, category: str | None = None, program: int | None = None) -> Score:
    """Change a track's category and/or GM program; choosing a category picks its default program."""
    tracks = list(score.tracks)
    old = tracks[index]
    new = replace(old)
    if category is not None:
        new = replace(new, category=category, is_drum=category == "DRUMS", program=DEFAULT_PROGRAM.get(category, old.program))
    if program is not None:
        new = replace(new, program=int(program))
    tracks[index] = new
    return _with_tracks(score, tracks)


def rename_track(score: Score, index: int, name: str) -> Score:
    tracks = list(score.tracks)
    tracks[index] = replace(tracks[index], name=name)
    return _with_tracks(score, tracks)


def remap_keys_after_track_removal(keys: Iterable[NoteKey], removed: int) -> frozenset[NoteKey]:
    return frozenset((t - (t > removed), s, p) for t, s, p in keys if t != removed)


def notes_outside_region(score: Score, grid: BeatGrid, selection: RegionSelection) -> list[tuple[int, Note]]:
    """Every (track, note) the region does not cover: what a regeneration must leave untouched."""
    t0, t1 = region_ticks(grid, selection)
    out = []
    for i, track in enumerate(score.tracks):
        inside_track = selection.covers_track(i)
        out += [(i, n) for n in track.notes if not (inside_track and t0 <= n.start < t1)]
    return out


def region_ticks(grid: BeatGrid, selection: RegionSelection) -> tuple[int, int]:
    return bar_tick(grid, selection.start_bar), bar_tick(grid, selection.end_bar)


def bar_tick(grid: BeatGrid, bar: int) -> int:
    """Tick where ``bar`` starts; bars past the grid continue at the last bar's length."""
    n = grid.n_bars
    if bar <= n:
        return int(grid.position_to_tick(int(grid.bar_starts[max(bar, 0)])))
    last_len = grid.bar_length(n - 1) if n >= 1 else 32
    return int(grid.position_to_tick(int(grid.bar_starts[n]) + (bar - n) * last_len))


def bar_at_tick(grid: BeatGrid, tick: float) -> int:
    """Index of the bar containing ``tick`` (bars past the end continue at the last bar's length)."""
    pos = float(grid.tick_to_position(max(tick, 0.0)))
    end = int(grid.bar_starts[-1])
    if pos >= end:
        last_len = grid.bar_length(grid.n_bars - 1) if grid.n_bars else 32
        return grid.n_bars + int((pos - end) // last_len)
    return int(np.searchsorted(grid.bar_starts, pos, side="right") - 1)


def snap_tick(grid: BeatGrid, tick: float, positions: int = POSITIONS_PER_BEAT // 2) -> int:
    """Snap a tick to the nearest multiple of ``positions`` 32nds (default a 16th note) on the beat grid."""
    pos = float(grid.tick_to_position(max(tick, 0.0)))
    return int(grid.position_to_tick(round(pos / positions) * positions))


# -------------------------------------------------------------------------------------------- chords
_NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def chord_name(chord: ChordLabel) -> str:
    if chord.root is None:
        return "N.C."
    return _NOTE_NAMES[chord.root % 12] + chord.quality


def chords_for(score: Score) -> tuple[list[ChordLabel], str]:
    """The chord lane's labels and where they came from: the file's ("annotated"), detected from the
    accompaniment ("detected"), chosen for a melody alone by the harmoniser ("harmoniser"), or none (with
    why). Analysis is imported lazily: opening a song must not wait for it when the file has chords."""
    if score.chords:
        return list(score.chords), "annotated"
    if score.n_notes > CHORD_ANALYSIS_NOTE_LIMIT:
        return [], "too many notes to analyse chords"
    try:
        from engine.analysis.grid import beat_grid
        from engine.representation.chord_source import suggested_chords

        return suggested_chords(score, beat_grid(score))
    except Exception as exc:  # analysis must never stop a song from opening
        return [], f"chord detection failed ({type(exc).__name__})"


# ------------------------------------------------------------------------------------------ project files


def score_to_dict(score: Score) -> dict[str, Any]:
    return {
        "ticks_per_beat": score.ticks_per_beat,
        "tempos": [[t.tick, t.bpm] for t in score.tempos],
        "time_signatures": [[s.tick, s.numerator, s.denominator] for s in score.time_signatures],
        "beats": score.beats,
        "downbeats": score.downbeats,
        "chords": [[c.start, c.end, c.root, c.quality] for c in score.chords],
        "key_signatures": [[k.tick, k.name] for k in score.key_signatures],
        "length": score.length,
        "tracks": [
            {
                "source": None if t.source is None else list(t.source),
                "name": t.name,
                "program": t.program,
                "is_drum": t.is_drum,
                "category": t.category,
                "generated": t.generated,
                "notes": [[n.start, n.end, n.pitch, n.velocity] for n in t.notes],
            }
            for t in score.tracks
        ],
    }


def score_from_dict(data: dict[str, Any]) -> Score:
    tracks = [
        Track(
            name=str(t.get("name", "")),
            program=int(t.get("program", 0)),
            is_drum=bool(t.get("is_drum", False)),
            notes=[Note(int(s), int(e), int(p), int(v)) for s, e, p, v in t.get("notes", [])],
            category=t.get("category") if t.get("category") in CATEGORIES else None,
            generated=bool(t.get("generated", False)),
            source=None if t.get("source") is None else (int(t["source"][0]), int(t["source"][1]), int(t["source"][2])),
        )
        for t in data.get("tracks", [])
    ]
    return Score(
        ticks_per_beat=int(data.get("ticks_per_beat", 480)),
        tracks=tracks,
        tempos=[TempoChange(int(a), float(b)) for a, b in data.get("tempos", [[0, 120.0]])],
        time_signatures=[TimeSignature(int(a), int(b), int(c)) for a, b, c in data.get("time_signatures", [[0, 4, 4]])],
        beats=data.get("beats"),
        downbeats=data.get("downbeats"),
        chords=[ChordLabel(int(s), int(e), None if r is None else int(r), str(q)) for s, e, r, q in data.get("chords", [])],
        key_signatures=[KeySignature(int(t), str(n)) for t, n in data.get("key_signatures", [])],
        length=int(data.get("length", 0)),
    )


def _attach_document(score: Score, midi: bytes, name: str) -> Score:
    """Re-read the stored MIDI bytes and make ``score`` a view of that document again.

    A track keeps its ``source`` only where the document has that part; anything else is treated as a
    new track when written (so a stale or edited project file never patches the wrong events).
    """
    from engine.midi_document import read_document
    from engine.smf import SmfError

    try:
        doc, _ = read_document(midi)
    except SmfError as exc:
        raise ValueError(f"{name}: the stored MIDI file is damaged ({exc})") from exc
    tracks = [t if t.source is None or t.source in doc.parts else replace(t, source=None) for t in score.tracks]
    return replace(score, tracks=tracks, document=doc)


@dataclass
class ProjectState:
    """What a project file holds: the edited song plus the editing context a MIDI file cannot store."""

    score: Score
    source_midi: str | None = None
    locked: frozenset[NoteKey] = frozenset()
    selection: RegionSelection | None = None
    prompts: PromptSettings = field(default_factory=PromptSettings)

    def to_json(self) -> bytes:
        sel = None if self.selection is None else asdict(self.selection)
        doc = {
            "format": "pop-diffuseq-studio project",
            "version": PROJECT_VERSION,
            "source_midi": self.source_midi,
            "score": score_to_dict(self.score),
            # the song document: the file as read, base64; every event outside the edits is written from it
            "document_midi": None if self.score.document is None else base64.b64encode(self.score.document.data).decode("ascii"),
            "locked_notes": sorted([list(k) for k in self.locked]),
            "selection": sel,
            "prompts": self.prompts.to_dict(),
        }
        return json.dumps(doc, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, name: str = "project") -> ProjectState:
        """Parse a project file; raises ValueError with a message a musician can read."""
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{name}: not a project file ({exc})") from exc
        if not isinstance(doc, dict) or doc.get("format") != "pop-diffuseq-studio project":
            raise ValueError(f"{name}: not a Pop-Diffuseq Studio project")
        if int(doc.get("version", 0)) > PROJECT_VERSION:
            raise ValueError(f"{name}: made by a newer version of the studio (format {doc.get('version')})")
        try:
            score = score_from_dict(doc["score"])
            if doc.get("document_midi"):
                score = _attach_document(score, base64.b64decode(doc["document_midi"], validate=True), name)
            sel = doc.get("selection")
            selection = None if not sel else RegionSelection(
                int(sel["start_bar"]), int(sel["end_bar"]), None if sel.get("tracks") is None else tuple(sel["tracks"]), bool(sel.get("chords", False)))
            locked = frozenset((int(a), int(b), int(c)) for a, b, c in doc.get("locked_notes", []))
        except (KeyError, TypeError, ValueError, IndexError, binascii.Error) as exc:
            if str(exc).startswith(f"{name}: "):
                raise
            raise ValueError(f"{name}: damaged project file ({type(exc).__name__}: {exc})") from exc
        return cls(score, doc.get("source_midi"), locked, selection, PromptSettings.from_dict(doc.get("prompts") or {}))


# ------------------------------------------------------------------------------------------- the document


class Document:
    """The open song and its editing context. Emits ``changed(kind)`` with kind in
    {"score", "selection", "notes", "variations", "preview", "prompts", "mix", "playhead", "path", "warnings"}.

    ``selection`` also fires when the chord lane's selected span (``chord_span``) changes."""

    def __init__(self, score: Score | None = None, path: Path | None = None) -> None:
        self.changed = Event()
        self.score: Score = score if score is not None else Score()
        self.path: Path | None = path  # the file the song came from (MIDI or project)
        self.project_path: Path | None = None  # where "Save" writes without asking
        self.title: str = path.name if path else "Untitled"
        self.dirty: bool = False
        self.selection: RegionSelection | None = None
        self.chord_span: tuple[int, int] | None = None  # ticks of the chord-lane cells picked for editing
        self.selected_notes: set[NoteKey] = set()
        self.locked: frozenset[NoteKey] = frozenset()
        self.prompts = PromptSettings()
        self.variations: list[Score] = []
        self.variation_base: Score | None = None  # the score the variations were generated from
        self.variation_seeds: list[int] = []
        self.preview_index: int | None = None
        self.muted: set[int] = set()
        self.soloed: set[int] = set()
        self.playhead: int = 0
        self.song_serial = 0  # +1 on every load: work started for one song never lands on another
        # What reading (or the last export) could not keep, shown in the song strip: (what, warnings).
        self.file_warnings: tuple[str, list[str]] = ("", [])
        self._grid_cache: tuple[Score, BeatGrid] | None = None
        self._chord_cache: dict[int, tuple[Score, tuple[list[ChordLabel], str]]] = {}
        self._arrays: dict[int, tuple[Track, TrackArrays]] = {}

    # ---- state swaps (the undo commands call these)
    def load(self, score: Score, path: Path | None, title: str | None = None) -> None:
        """Replace the whole document (open a file): resets selection, locks, variations."""
        self.score, self.path = score, path
        self.title = title or (path.name if path else "Untitled")
        self.project_path = path if path is not None and path.suffix == PROJECT_SUFFIX else None
        self.selection, self.selected_notes, self.locked = None, set(), frozenset()
        self.chord_span = None
        self.file_warnings = ("", [])
        self.variations, self.variation_base, self.variation_seeds, self.preview_index = [], None, [], None
        self.muted, self.soloed, self.playhead = set(), set(), 0
        self.song_serial += 1
        self._arrays.clear()
        self.dirty = False
        self.changed.emit("score")
        self.changed.emit("path")
        self.changed.emit("warnings")

    def set_state(self, score: Score, locked: frozenset[NoteKey]) -> None:
        """Swap the song and its locks (an edit, or its undo). Drops note picks that no longer exist."""
        n_tracks_changed = len(score.tracks) != len(self.score.tracks)
        self.score, self.locked = score, locked
        if n_tracks_changed:
            self.muted = {i for i in self.muted if i < len(score.tracks)}
            self.soloed = {i for i in self.soloed if i < len(score.tracks)}
            if self.selection is not None and self.selection.tracks is not None:
                kept = tuple(i for i in self.selection.tracks if i < len(score.tracks))
                self.selection = replace(self.selection, tracks=kept) if kept else None
        self.selected_notes = {k for k in self.selected_notes if self.has_note(k)}
        self.preview_index = None
        self.changed.emit("score")

    def set_dirty(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.changed.emit("path")

    # ---- derived views (cached by identity: scores are never mutated in place)
    @property
    def grid(self) -> BeatGrid:
        if self._grid_cache is None or self._grid_cache[0] is not self.score:
            self._grid_cache = (self.score, beat_grid(self.score))
        return self._grid_cache[1]

    @property
    def chords(self) -> tuple[list[ChordLabel], str]:
        """The song's chord lane: (labels, where they came from), see ``chords_for``."""
        return self.chords_of(self.score)

    def chords_of(self, score: Score) -> tuple[list[ChordLabel], str]:
        """``chords_for(score)``, cached by identity. An auditioned take that rewrote its chords shows them;
        one with the song's chords shows the song's lane (not chords detected again from its notes, which
        would differ in the region and cost a detection per take on a big song)."""
        hit = self._chord_cache.get(id(score))
        if hit is None or hit[0] is not score:
            if len(self._chord_cache) > 16:
                live = {id(s) for s in (self.score, *self.variations)}
                self._chord_cache = {k: v for k, v in self._chord_cache.items() if k in live}
            same = score is not self.score and score.chords == self.score.chords
            hit = (score, self.chords if same else chords_for(score))
            self._chord_cache[id(score)] = hit
        return hit[1]

    def displayed_score(self) -> Score:
        """What the piano roll and the player show: the previewed variation, else the song."""
        if self.preview_index is not None and 0 <= self.preview_index < len(self.variations):
            return self.variations[self.preview_index]
        return self.score

    def arrays(self, track: Track) -> TrackArrays:
        hit = self._arrays.get(id(track))
        if hit is not None and hit[0] is track:
            return hit[1]
        if len(self._arrays) > 256:
            live = {id(t) for s in (self.score, *self.variations) for t in s.tracks}
            self._arrays = {k: v for k, v in self._arrays.items() if k in live}
        arrays = TrackArrays(track)
        self._arrays[id(track)] = (track, arrays)
        return arrays

    def track_names(self) -> list[str]:
        return [t.name or f"Track {i + 1}" for i, t in enumerate(self.score.tracks)]

    def track_categories(self) -> list[str]:
        return [track_category(t) for t in self.score.tracks]

    def n_bars(self) -> int:
        return max(self.grid.n_bars, 1)

    def has_note(self, key: NoteKey) -> bool:
        t, start, pitch = key
        if not 0 <= t < len(self.score.tracks):
            return False
        arrays = self.arrays(self.score.tracks[t])
        i = int(np.searchsorted(arrays.starts, start))
        while i < len(arrays.starts) and arrays.starts[i] == start:
            if arrays.pitches[i] == pitch:
                return True
            i += 1
        return False

    # ---- selection
    def set_selection(self, selection: RegionSelection | None) -> None:
        """Choose the region to regenerate. A new region drops picked chord cells: Delete and Ctrl+C act on
        what was chosen last."""
        if selection is not None and self.chord_span is not None:
            self.chord_span = None
            self.changed.emit("selection")
        if selection != self.selection:
            self.selection = selection
            self.changed.emit("selection")

    def select_tracks(self, tracks: Iterable[int]) -> None:
        """Select whole tracks: every bar of the song on those tracks."""
        chosen = tuple(sorted(set(tracks)))
        self.set_selection(RegionSelection(0, self.n_bars(), chosen) if chosen else None)

    def set_chord_span(self, span: tuple[int, int] | None) -> None:
        """Pick chord-lane cells (ticks [start, end)) for editing; picking chords drops note picks."""
        if span is not None and span[1] <= span[0]:
            span = None
        if span != self.chord_span:
            self.chord_span = span
            if span is not None:
                self.selected_notes = set()
            self.changed.emit("selection")

    def set_file_warnings(self, what: str, warnings: list[str]) -> None:
        """What reading or writing the song's file could not do as asked (``what``: "Reading song.mid")."""
        self.file_warnings = (what, list(warnings))
        self.changed.emit("warnings")

    def set_selected_notes(self, keys: set[NoteKey]) -> None:
        self.selected_notes = set(keys)
        self.changed.emit("notes")

    def notes_in_selection(self) -> set[NoteKey]:
        """Keys of the notes starting inside the region (what Delete removes when no note is picked)."""
        if self.selection is None:
            return set()
        t0, t1 = region_ticks(self.grid, self.selection)
        keys: set[NoteKey] = set()
        for i, track in enumerate(self.score.tracks):
            if self.selection.covers_track(i):
                keys |= {(i, n.start, n.pitch) for n in track.notes if t0 <= n.start < t1}
        return keys

    # ---- prompts and variations
    def set_prompts(self, prompts: PromptSettings) -> None:
        self.prompts = prompts
        self.changed.emit("prompts")

    def build_request(self) -> InfillRequest:
        """Freeze the current selection and prompts into a request and advance the seed.

        Advancing by the number of variations means the next press never repeats a seed already used.
        """
        if self.selection is None:
            raise ValueError("Draw a rectangle over the piano roll (or click track headers) to choose what to regenerate.")
        cats = self.track_categories()
        chosen = range(len(cats)) if self.selection.tracks is None else self.selection.tracks
        instruments = tuple(dict.fromkeys([cats[i] for i in chosen if i < len(cats)] + list(self.prompts.new_tracks)))
        request = InfillRequest(self.score, self.selection, replace(self.prompts), self.locked, instruments)
        self.set_prompts(replace(self.prompts, seed=(self.prompts.seed + self.prompts.n_variations) % (2**31)))
        return request

    def set_variations(self, variations: list[Score], base: Score, first_seed: int) -> None:
        self.variations, self.variation_base = list(variations), base
        self.variation_seeds = [first_seed + i for i in range(len(variations))]
        self.preview_index = 0 if variations else None
        self.changed.emit("variations")
        self.changed.emit("preview")

    def clear_variations(self) -> None:
        """Forget the variations: they belong to one song, region and request, and a new request replaces them."""
        if self.variations or self.preview_index is not None:
            self.variations, self.variation_base, self.variation_seeds, self.preview_index = [], None, [], None
            self.changed.emit("variations")
            self.changed.emit("preview")

    def set_preview(self, index: int | None) -> None:
        if index is not None and not 0 <= index < len(self.variations):
            index = None
        if index != self.preview_index:
            self.preview_index = index
            self.changed.emit("preview")

    # ---- mix (view state, not undoable: muting is listening, not editing)
    def set_muted(self, index: int, muted: bool) -> None:
        (self.muted.add if muted else self.muted.discard)(index)
        self.changed.emit("mix")

    def set_soloed(self, index: int, soloed: bool) -> None:
        (self.soloed.add if soloed else self.soloed.discard)(index)
        self.changed.emit("mix")

    def set_playhead(self, tick: int) -> None:
        tick = max(int(tick), 0)
        if tick != self.playhead:
            self.playhead = tick
            self.changed.emit("playhead")

    # ---- project state
    def project_state(self) -> ProjectState:
        source = None if self.path is None or self.path.suffix == PROJECT_SUFFIX else str(self.path)
        return ProjectState(self.score, source, self.locked, self.selection, self.prompts)

    def load_project(self, state: ProjectState, path: Path) -> None:
        self.load(state.score, path)
        self.locked = state.locked
        self.prompts = state.prompts
        self.selection = state.selection
        self.changed.emit("selection")
        self.changed.emit("prompts")
        self.changed.emit("score")


def default_export_name(path: Path | None, title: str = "song") -> str:
    """``song.mid`` -> ``song-edited.mid``: exporting never proposes the file the song came from."""
    stem = path.stem if path is not None else Path(title).stem or "song"
    if stem.endswith("-edited"):
        return f"{stem}.mid"
    return f"{stem}-edited.mid"
