"""The score model: plain data classes every part of the program shares.

Times are MIDI ticks (``Score.ticks_per_beat`` per quarter note) so that a loaded file can be written back
without drift; musical grids (bars, beats, 32nds) are derived views, see ``engine.analysis.grid``.
Nothing here knows about Qt, torch or files.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.midi_document import MidiDocument


@dataclass(frozen=True, slots=True)
class Note:
    start: int  # tick of the note-on
    end: int  # tick of the note-off (>= start: a file may hold zero-length notes, kept as they are)
    pitch: int  # MIDI pitch 0-127
    velocity: int = 90

    @property
    def duration(self) -> int:
        return self.end - self.start


@dataclass(slots=True)
class Track:
    name: str
    program: int = 0  # GM program 0-127 (ignored for drums except as a kit number)
    is_drum: bool = False
    notes: list[Note] = field(default_factory=list)
    # One of engine.analysis.categories.CATEGORIES, or None to derive it from name/program/drum flag.
    category: str | None = None
    # True for parts the dataset builder generated (e.g. MMA band layers), so metrics can tell them apart.
    generated: bool = False
    # The part of the song document this track was read from: (MTrk index, channel, program or -1 for
    # drums), see engine.midi_document. None for a track the file did not have (added, generated).
    source: tuple[int, int, int] | None = None

    def sorted_notes(self) -> list[Note]:
        return sorted(self.notes, key=lambda n: (n.start, n.pitch, n.end))

    def copy(self) -> Track:
        return replace(self, notes=list(self.notes))


@dataclass(frozen=True, slots=True)
class TempoChange:
    tick: int
    bpm: float


@dataclass(frozen=True, slots=True)
class TimeSignature:
    tick: int
    numerator: int
    denominator: int


@dataclass(frozen=True, slots=True)
class KeySignature:
    """A key signature event, e.g. "Eb" or "Cm" (SMF meta 0x59: sharps/flats and major/minor)."""

    tick: int
    name: str


@dataclass(frozen=True, slots=True)
class ChordLabel:
    """A chord over a time span. ``root`` is a pitch class 0-11, or None for N.C. (no chord)."""

    start: int
    end: int
    root: int | None
    quality: str  # one of engine.analysis.chord_vocab.QUALITIES ('' when root is None)

    @property
    def is_no_chord(self) -> bool:
        return self.root is None


@dataclass(slots=True)
class Score:
    ticks_per_beat: int = 480
    tracks: list[Track] = field(default_factory=list)
    tempos: list[TempoChange] = field(default_factory=lambda: [TempoChange(0, 120.0)])
    time_signatures: list[TimeSignature] = field(default_factory=lambda: [TimeSignature(0, 4, 4)])
    # Explicit beat and bar grid (ticks), e.g. from POP909's beat_midi.txt; None = derive from the
    # time signatures. ``beats`` are quarter-note-ish pulses, ``downbeats`` a subset of them (bar starts).
    beats: list[int] | None = None
    downbeats: list[int] | None = None
    # Chord annotations (from a dataset or from engine.analysis.chords); empty = unknown.
    chords: list[ChordLabel] = field(default_factory=list)
    key_signatures: list[KeySignature] = field(default_factory=list)
    # The song lasts at least this many ticks: bars added after the last note (``extend_bars``) so that an
    # outro or a continuation can be generated there. 0 = the song ends at its last note-off.
    length: int = 0
    # The file this score is a view of (every event it held), shared by copies; writing patches the
    # score's edits onto it (engine.midi_document). None for a song made in memory.
    document: MidiDocument | None = field(default=None, repr=False, compare=False)

    @property
    def n_notes(self) -> int:
        return sum(len(t.notes) for t in self.tracks)

    @property
    def end_tick(self) -> int:
        """Tick of the last note-off, or ``length`` when that is later (0 for an empty score)."""
        return max(max((n.end for t in self.tracks for n in t.notes), default=0), self.length)

    def copy(self) -> Score:
        """A copy whose tracks and lists can be edited without touching this score."""
        return replace(
            self,
            tracks=[t.copy() for t in self.tracks],
            tempos=list(self.tempos),
            time_signatures=list(self.time_signatures),
            beats=None if self.beats is None else list(self.beats),
            downbeats=None if self.downbeats is None else list(self.downbeats),
            chords=list(self.chords),
            key_signatures=list(self.key_signatures),
        )

    def first_bpm(self) -> float:
        return self.tempos[0].bpm if self.tempos else 120.0

    def tick_to_seconds(self, tick: int) -> float:
        """Seconds from the start at ``tick``, honouring every tempo change."""
        seconds, last_tick, bpm = 0.0, 0, 120.0
        for change in sorted(self.tempos, key=lambda t: t.tick):
            if change.tick >= tick:
                break
            seconds += (change.tick - last_tick) * 60.0 / (bpm * self.ticks_per_beat)
            last_tick, bpm = change.tick, change.bpm
        return seconds + (tick - last_tick) * 60.0 / (bpm * self.ticks_per_beat)

    def seconds_to_tick(self, seconds: float) -> int:
        """Inverse of ``tick_to_seconds`` (rounded to the nearest tick)."""
        elapsed, last_tick, bpm = 0.0, 0, 120.0
        for change in sorted(self.tempos, key=lambda t: t.tick):
            span = (change.tick - last_tick) * 60.0 / (bpm * self.ticks_per_beat)
            if elapsed + span > seconds:
                break
            elapsed += span
            last_tick, bpm = change.tick, change.bpm
        return int(round(last_tick + (seconds - elapsed) * bpm * self.ticks_per_beat / 60.0))
