"""Did a written file keep everything outside the edited region? An independent check, read with mido.

The song document (``engine.midi_document``) promises that an edit changes nothing outside its region:
every event keeps its track, tick, channel, type and data (only the order the file format leaves free
inside one tick may change). This module checks that promise with a second reader, mido, so that a bug
in our own reader cannot hide itself: the tests, ``bench.roundtrip_corpus`` and anyone doubting a file
can compare an input and an output event by event.

What is compared, per track of the input (tracks the output adds are new parts and are not compared):
* every non-note event (controllers, pitch bends, aftertouch, program changes, SysEx, every meta event)
  as a multiset of (tick, message) - equal, or the difference is reported;
* notes (note-on paired first-in first-out with its note-off per channel and key) outside the regions
  as a multiset of (channel, key, start, end, velocity, how the note-off was written) - equal;
* the program each outside note sounds with (its channel's program at its note-on, over all tracks) -
  equal, so no part was moved to a channel playing another instrument.
"""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

_NOTE_TYPES = ("note_on", "note_off")


@dataclass(frozen=True)
class Region:
    """Notes of ``track`` (MTrk index) on ``channel`` whose note-on lies in [start, end) ticks may change."""

    track: int
    channel: int
    start: int
    end: int


@dataclass
class Comparison:
    """What differs outside the regions; ``ok`` when nothing does."""

    tracks_missing: int = 0  # input tracks the output lacks
    events_lost: list[str] = field(default_factory=list)  # non-note events of the input not in the output
    events_added: list[str] = field(default_factory=list)  # non-note events the output gained (input tracks)
    notes_lost: int = 0  # outside notes of the input not in the output
    notes_added: int = 0  # outside notes the output gained in input tracks
    program_changed: int = 0  # outside notes sounding with another program than in the input
    n_events: int = 0  # events of the input compared
    n_notes: int = 0  # outside notes of the input compared

    @property
    def ok(self) -> bool:
        return not (self.tracks_missing or self.events_lost or self.events_added or self.notes_lost
                    or self.notes_added or self.program_changed)

    def summary(self) -> str:
        if self.ok:
            return f"identical outside the regions ({self.n_events} events, {self.n_notes} notes)"
        parts = []
        if self.tracks_missing:
            parts.append(f"{self.tracks_missing} tracks missing")
        if self.events_lost:
            parts.append(f"{len(self.events_lost)} events lost (e.g. {self.events_lost[0]})")
        if self.events_added:
            parts.append(f"{len(self.events_added)} events added (e.g. {self.events_added[0]})")
        if self.notes_lost or self.notes_added:
            parts.append(f"{self.notes_lost} notes lost, {self.notes_added} added")
        if self.program_changed:
            parts.append(f"{self.program_changed} notes sound with another program")
        return "; ".join(parts)


def _readable(data: bytes) -> bytes:
    """The same bytes with every key signature (meta 0x59) retyped as sequencer-specific (0x7F, same
    length): mido refuses a file with one key signature it cannot decode (e.g. 9 sharps), which real
    files hold. Both files of a comparison get the same change, so nothing is hidden by it."""
    return re.sub(rb"\xff\x59\x02", b"\xff\x7f\x02", data)


def _tracks(data: bytes) -> list[list[tuple[int, object]]]:
    import mido

    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except mido.midifiles.meta.KeySignatureError:
        midi = mido.MidiFile(file=io.BytesIO(_readable(data)))
    out = []
    for track in midi.tracks:
        tick = 0
        events = []
        for msg in track:
            tick += msg.time
            events.append((tick, msg))
        out.append(events)
    return out


def _notes(events: list[tuple[int, object]]) -> list[tuple[int, int, int, int, int, str, int]]:
    """(channel, key, start, end, velocity, note-off form, index of the note-on) per note, FIFO per key."""
    pending: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    notes = []
    for i, (tick, msg) in enumerate(events):
        if msg.type == "note_on" and msg.velocity > 0:
            pending[(msg.channel, msg.note)].append((tick, msg.velocity, i))
        elif msg.type in _NOTE_TYPES:
            queue = pending.get((msg.channel, msg.note))
            if queue:
                start, velocity, index = queue.pop(0)
                form = f"off{msg.velocity}" if msg.type == "note_off" else "on0"
                notes.append((msg.channel, msg.note, start, tick, velocity, form, index))
    for (channel, key), queue in pending.items():
        for start, velocity, index in queue:
            notes.append((channel, key, start, -1, velocity, "none", index))
    return notes


def _program_changes(tracks: list[list[tuple[int, object]]]) -> dict[int, list[tuple[int, int, int, int]]]:
    changes: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    for t, events in enumerate(tracks):
        for i, (tick, msg) in enumerate(events):
            if msg.type == "program_change":
                changes[msg.channel].append((tick, t, i, msg.program))
    for c in changes.values():
        c.sort()
    return changes


def _sounding(changes: dict[int, list[tuple[int, int, int, int]]], channel: int, tick: int, track: int, index: int) -> int:
    program = 0
    for t, tr, i, p in changes.get(channel, ()):
        if t > tick:
            break
        if t < tick or tr != track or i < index:
            program = p
    return program


def _inside(regions: list[Region], track: int, channel: int, start: int) -> bool:
    return any(r.track == track and r.channel == channel and r.start <= start < r.end for r in regions)


def _event_key(msg: object) -> str:
    return str(msg.copy(time=0)) if hasattr(msg, "copy") else str(msg)


def compare_outside(before: bytes, after: bytes, regions: list[Region] | None = None) -> Comparison:
    """Compare two MIDI files outside ``regions`` (see the module docstring). Raises what mido raises for
    a file it cannot read (such a file cannot be checked this way)."""
    regions = regions or []
    a_tracks, b_tracks = _tracks(before), _tracks(after)
    a_changes, b_changes = _program_changes(a_tracks), _program_changes(b_tracks)
    result = Comparison(tracks_missing=max(0, len(a_tracks) - len(b_tracks)))
    for t, a_events in enumerate(a_tracks[: len(b_tracks)]):
        b_events = b_tracks[t]
        a_other = Counter((tick, _event_key(m)) for tick, m in a_events if m.type not in _NOTE_TYPES and m.type != "end_of_track")
        b_other = Counter((tick, _event_key(m)) for tick, m in b_events if m.type not in _NOTE_TYPES and m.type != "end_of_track")
        result.n_events += sum(a_other.values())
        result.events_lost += [f"track {t}, tick {k[0]}: {k[1]}" for k in (a_other - b_other).elements()]
        result.events_added += [f"track {t}, tick {k[0]}: {k[1]}" for k in (b_other - a_other).elements()]
        a_notes = [n for n in _notes(a_events) if not _inside(regions, t, n[0], n[2])]
        b_notes = [n for n in _notes(b_events) if not _inside(regions, t, n[0], n[2])]
        a_set, b_set = Counter(n[:6] for n in a_notes), Counter(n[:6] for n in b_notes)
        result.n_notes += len(a_notes)
        result.notes_lost += sum((a_set - b_set).values())
        result.notes_added += sum((b_set - a_set).values())
        a_prog = Counter(n[:6] + (_sounding(a_changes, n[0], n[2], t, n[6]),) for n in a_notes)
        b_prog = Counter(n[:6] + (_sounding(b_changes, n[0], n[2], t, n[6]),) for n in b_notes)
        common = a_set & b_set  # notes present in both: did their program change?
        result.program_changed += sum(min(c, (a_prog - b_prog)[k]) for k, c in
                                      ((k, common.get(k[:6], 0)) for k in (a_prog - b_prog)))
    return result


def sounding_programs(data: bytes) -> list[list[tuple[int, int, int]]]:
    """Per track: (start tick, key, program it sounds with) of every note, read with mido."""
    tracks = _tracks(data)
    changes = _program_changes(tracks)
    return [[(n[2], n[1], _sounding(changes, n[0], n[2], t, n[6])) for n in _notes(ev)] for t, ev in enumerate(tracks)]
