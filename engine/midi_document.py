"""The song document: every event of a MIDI file, the ``Score`` view the model sees, and edits as patches.

Reading (``read_document``) keeps the whole file (``engine.smf``: channel events, SysEx and every meta
event, in track order) and derives the model-facing ``Score`` from it:

* a part (a ``Track`` of the Score) is the notes of one MTrk chunk on one channel with one program; the
  program of a note is its channel's program at its note-on, wherever that program change sits (another
  track, e.g. a set-up track, counts as well as its own; at the same tick a program change in another
  track comes first, inside one track the file's order decides);
* note-ons and note-offs pair first-in first-out per channel and key; a note-on with velocity 0 is a
  note-off; a note whose note-off never comes lasts to its track's end; a zero-length note stays so;
* the tempo map is every track's tempo events merged in time order (at one tick the later track wins),
  with the SMF default of 120 BPM before the first one; any tempo the file can hold is kept;
* time signatures likewise, with the SMF default 4/4 before the first one; key signatures are decoded for
  display, an undecodable one is skipped with a warning (and still written back).

Type-2 files (independent sequences) are read like type 1, their tracks side by side from tick 0, and
written back as type 2.

Writing (``document_bytes``) compares the edited Score with the view it came from and patches the file:
a track whose events did not change is written back as its original bytes; in a changed track only the
note events of removed notes are dropped and the events of new notes are added on the part's channel, so
controllers, pitch bends, lyrics and everything else stay at their ticks (a regenerated piano keeps its
pedal). A new track gets a free channel (drums channel 10); when none is free it shares a channel whose
program is its own, and only when none has its program is it put with another program, with a warning.
A Score without a document (a new song, a dataset song) is written fresh by the same channel rules.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field

import numpy as np

from engine import smf
from engine.score import ChordLabel, KeySignature, Note, Score, TempoChange, TimeSignature, Track

PartKey = tuple[int, int, int]  # (MTrk index, channel 0-15, program 0-127; -1 for drums)

N_CHANNELS = 16
DRUM_CHANNEL = 9
DEFAULT_BPM = 120.0  # SMF 1.0: "if no tempo is specified, 120 beats per minute is assumed"
TEMPO_META = 0x51
TIME_SIGNATURE_META = 0x58
KEY_SIGNATURE_META = 0x59
TRACK_NAME_META = 0x03
MARKER_META = 0x06
# Chords are written as marker events "Chord: Am7" in the first track (DAWs show markers on their
# timeline; the prefix keeps section markers such as "A" or "Verse" from being read as chords).
# "Chord: N.C." ends the chord before it.
CHORD_MARKER_PREFIX = "Chord: "
_KEYS_MAJOR = ("Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#")
_KEYS_MINOR = ("Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#")


@dataclass(slots=True)
class PartNotes:
    """The notes of one part as read, with the track-local sequence numbers of their events."""

    notes: list[Note]  # sorted like Track.sorted_notes
    on_seq: list[int]
    off_seq: list[int]  # -1: the note had no note-off (it lasts to the end of its track)
    name: str
    program: int  # program at the first note (the kit for drums)


@dataclass(eq=False, slots=True)
class MidiDocument:
    """A MIDI file as read: the parsed chunks plus the view it gave, to patch edits onto.

    Shared, never modified, by every Score derived from it (copies and undo states alike).
    """

    data: bytes  # the file's bytes as read (a project file stores them)
    smf: smf.SmfFile
    parts: dict[PartKey, PartNotes]
    tempos: list[TempoChange]
    time_signatures: list[TimeSignature]
    key_signatures: list[KeySignature]
    warnings: list[str] = field(default_factory=list)
    chords: list[ChordLabel] = field(default_factory=list)  # from "Chord: ..." markers
    chord_markers: dict[int, set[int]] = field(default_factory=dict)  # track -> seq of each chord marker

    @property
    def channels_in_use(self) -> set[int]:
        used: set[int] = set()
        for track in self.smf.tracks:
            used.update(np.unique(track.status & 0x0F).tolist())
        return used


# ------------------------------------------------------------------------------------------------ reading


def _text(data: bytes) -> str:
    """Meta text: UTF-8 when it decodes, else Latin-1 (what most MIDI software writes)."""
    try:
        return data.decode("utf-8").strip("\x00 ").strip()
    except UnicodeDecodeError:
        return data.decode("latin-1").strip("\x00 ").strip()


def _pair_notes(track: smf.TrackEvents) -> list[tuple[int, int, int, int, int, int, int]]:
    """(channel, pitch, start, end, velocity, on_seq, off_seq) for every note of a track, FIFO per key."""
    kind = track.status >> 4
    idx = np.flatnonzero((kind == 0x8) | (kind == 0x9))
    if len(idx) == 0:
        return []
    ticks = track.tick[idx].tolist()
    seqs = track.seq[idx].tolist()
    stats = track.status[idx].tolist()
    keys = track.data1[idx].tolist()
    vels = track.data2[idx].tolist()
    pending: dict[int, deque[tuple[int, int, int]]] = defaultdict(deque)
    notes = []
    for tick, seq, st, key, vel in zip(ticks, seqs, stats, keys, vels, strict=True):
        channel = st & 0x0F
        slot = (channel << 7) | key
        if st >= 0x90 and vel > 0:
            pending[slot].append((tick, vel, seq))
        else:
            queue = pending.get(slot)
            if queue:
                start, velocity, on_seq = queue.popleft()
                notes.append((channel, key, start, tick, velocity, on_seq, seq))
    for slot, queue in pending.items():
        for start, velocity, on_seq in queue:  # never released: lasts to the end of the track
            notes.append((slot >> 7, slot & 0x7F, start, max(track.end_tick, start), velocity, on_seq, -1))
    return notes


def _programs(tracks: list[smf.TrackEvents]) -> dict[int, tuple[np.ndarray, list[tuple[int, int, int]]]]:
    """Per channel: sorted ticks of its program changes and (track, seq, program) for each, from all tracks."""
    per_channel: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    for t, track in enumerate(tracks):
        idx = np.flatnonzero((track.status >> 4) == 0xC)
        for i in idx.tolist():
            per_channel[int(track.status[i]) & 0x0F].append((int(track.tick[i]), t, int(track.seq[i]), int(track.data1[i])))
    out = {}
    for channel, changes in per_channel.items():
        changes.sort()
        out[channel] = (np.asarray([c[0] for c in changes], dtype=np.int64), [c[1:] for c in changes])
    return out


def _programs_at(
    changes: tuple[np.ndarray, list[tuple[int, int, int]]] | None, starts: np.ndarray, track: int, seqs: np.ndarray
) -> np.ndarray:
    """The channel's program at each note-on (0, the GM default, before any program change)."""
    if changes is None:
        return np.zeros(len(starts), dtype=np.int64)
    ticks, info = changes
    programs = np.asarray([p for _, _, p in info], dtype=np.int64)
    before = np.searchsorted(ticks, starts, side="left")
    upto = np.searchsorted(ticks, starts, side="right")
    out = np.where(before > 0, programs[np.maximum(before - 1, 0)], 0)
    for i in np.flatnonzero(upto > before).tolist():  # changes at the note's own tick
        for k in range(int(before[i]), int(upto[i])):  # other tracks first, own track by file order
            t, s, p = info[k]
            if t != track or s < int(seqs[i]):
                out[i] = p
    return out


def _merged_meta(tracks: list[smf.TrackEvents], meta_type: int) -> list[smf.OtherEvent]:
    found = [(e.tick, t, e.seq, e) for t, tr in enumerate(tracks) for e in tr.others if e.kind == smf.META and e.meta_type == meta_type]
    found.sort(key=lambda x: x[:3])
    return [x[3] for x in found]


def tempo_view(tracks: list[smf.TrackEvents], warnings: list[str]) -> list[TempoChange]:
    by_tick: dict[int, float] = {}
    for e in _merged_meta(tracks, TEMPO_META):
        us = int.from_bytes(e.data[:3], "big") if len(e.data) >= 3 else 0
        if len(e.data) != 3 or us == 0:
            warnings.append(f"a tempo event at tick {e.tick} holds no valid tempo; it was skipped")
            continue
        by_tick[e.tick] = 60_000_000.0 / us
    out = [TempoChange(t, b) for t, b in sorted(by_tick.items())]
    if not out or out[0].tick > 0:
        out.insert(0, TempoChange(0, DEFAULT_BPM))
    return out


def time_signature_view(tracks: list[smf.TrackEvents], warnings: list[str]) -> list[TimeSignature]:
    by_tick: dict[int, TimeSignature] = {}
    for e in _merged_meta(tracks, TIME_SIGNATURE_META):
        if len(e.data) < 2 or not 1 <= e.data[0] <= 64 or e.data[1] > 6:
            warnings.append(f"a time signature at tick {e.tick} cannot be read; it was skipped")
            continue
        by_tick[e.tick] = TimeSignature(e.tick, int(e.data[0]), 1 << int(e.data[1]))
    out = [by_tick[t] for t in sorted(by_tick)]
    if not out or out[0].tick > 0:
        out.insert(0, TimeSignature(0, 4, 4))
    return out


def key_signature_view(tracks: list[smf.TrackEvents], warnings: list[str]) -> list[KeySignature]:
    out: list[KeySignature] = []
    for e in _merged_meta(tracks, KEY_SIGNATURE_META):
        sharps = int.from_bytes(e.data[:1], "big", signed=True) if e.data else 99
        if len(e.data) != 2 or not -7 <= sharps <= 7 or e.data[1] > 1:
            warnings.append(f"a key signature at tick {e.tick} cannot be read; it was skipped (and is kept in the file)")
            continue
        minor = e.data[1] == 1
        out.append(KeySignature(e.tick, (_KEYS_MINOR if minor else _KEYS_MAJOR)[sharps + 7] + ("m" if minor else "")))
    return out


def chord_view(tracks: list[smf.TrackEvents], end: int) -> tuple[list[ChordLabel], dict[int, set[int]]]:
    """Chord labels from "Chord: <symbol>" markers (any track), each lasting to the next marker or ``end``.

    Returns the labels and, per track, the seq numbers of those markers (so a chord edit replaces them).
    A marker whose symbol cannot be read is left alone as an ordinary marker.
    """
    from engine.analysis.chord_edit import parse_chord

    found: list[tuple[int, int | None, str]] = []
    seqs: dict[int, set[int]] = defaultdict(set)
    for t, track in enumerate(tracks):
        for e in track.others:
            if e.kind != smf.META or e.meta_type != MARKER_META:
                continue
            text = _text(e.data)
            if not text.startswith(CHORD_MARKER_PREFIX):
                continue
            try:
                root, quality = parse_chord(text[len(CHORD_MARKER_PREFIX):])
            except ValueError:
                continue
            found.append((e.tick, root, quality))
            seqs[t].add(e.seq)
    found.sort(key=lambda x: x[0])
    labels: list[ChordLabel] = []
    for k, (tick, root, quality) in enumerate(found):
        stop = found[k + 1][0] if k + 1 < len(found) else max(end, tick + 1)
        if root is not None and stop > tick:
            labels.append(ChordLabel(tick, stop, root, quality))
    return labels, dict(seqs)


def _chord_marker_events(chords: list[ChordLabel]) -> list[tuple[int, int, int, bytes]]:
    from engine.analysis.chord_vocab import chord_name

    real = sorted((c for c in chords if c.root is not None and c.end > c.start), key=lambda c: c.start)
    out: list[tuple[int, int, int, bytes]] = []
    for k, c in enumerate(real):
        out.append((c.start, _PH_OLD, 2 * k, _meta(MARKER_META, (CHORD_MARKER_PREFIX + chord_name(c.root, c.quality)).encode())))
        nxt = real[k + 1].start if k + 1 < len(real) else None
        if nxt is None or nxt > c.end:
            out.append((c.end, _PH_OLD, 2 * k + 1, _meta(MARKER_META, (CHORD_MARKER_PREFIX + "N.C.").encode())))
    return out


def read_document(data: bytes) -> tuple[MidiDocument, Score]:
    """Parse a file into its document and Score view. Raises ``smf.SmfError`` for an unusable header."""
    parsed = smf.parse_smf(data)
    warnings = list(parsed.problems)
    tracks = parsed.tracks
    programs = _programs(tracks)
    parts: dict[PartKey, PartNotes] = {}
    order: list[PartKey] = []
    for t, track in enumerate(tracks):
        name = next((_text(e.data) for e in track.others if e.kind == smf.META and e.meta_type == TRACK_NAME_META), "")
        grouped: dict[PartKey, list[tuple[Note, int, int]]] = {}
        rows = _pair_notes(track)
        if rows:
            arr = np.asarray(rows, dtype=np.int64)
            program = np.full(len(arr), -1, dtype=np.int64)
            for channel in np.unique(arr[:, 0]).tolist():
                if channel != DRUM_CHANNEL:
                    m = arr[:, 0] == channel
                    program[m] = _programs_at(programs.get(channel), arr[m, 2], t, arr[m, 5])
            for (channel, pitch, start, end, velocity, on_seq, off_seq), prog in zip(rows, program.tolist(), strict=True):
                grouped.setdefault((t, channel, prog), []).append((Note(start, end, pitch, velocity), on_seq, off_seq))
        firsts = sorted(grouped, key=lambda k: (min(n.start for n, _, _ in grouped[k]), k[1], k[2]))
        channels = {k[1] for k in grouped}
        for key in firsts:
            items = sorted(grouped[key], key=lambda x: (x[0].start, x[0].pitch, x[0].end))
            part_name = name
            if len(channels) > 1:
                part_name = f"{name or 'Track'} · ch {key[1] + 1}"
            if sum(1 for k in grouped if k[1] == key[1]) > 1:
                part_name = f"{part_name or 'Track'} · program {key[2]}"
            first = items[0][0]
            kit = key[2]
            if kit < 0:
                kit = int(_programs_at(programs.get(key[1]), np.asarray([first.start]), t, np.asarray([items[0][1]]))[0])
            parts[key] = PartNotes([x[0] for x in items], [x[1] for x in items], [x[2] for x in items], part_name, kit)
            order.append(key)
    chords, chord_markers = chord_view(tracks, max((tr.end_tick for tr in tracks), default=0))
    doc = MidiDocument(
        bytes(data), parsed, parts,
        tempo_view(tracks, warnings), time_signature_view(tracks, warnings), key_signature_view(tracks, warnings),
        warnings, chords, chord_markers,
    )
    score = Score(
        ticks_per_beat=parsed.ticks_per_beat,
        tracks=[
            Track(parts[k].name, parts[k].program, k[2] < 0, list(parts[k].notes), source=k)
            for k in order
        ],
        tempos=list(doc.tempos),
        time_signatures=list(doc.time_signatures),
        key_signatures=list(doc.key_signatures),
        chords=list(doc.chords),
        document=doc,
    )
    if parsed.format == 2:
        warnings.append("a type-2 file (independent sequences): its tracks are shown side by side from the start")
    return doc, score


# ------------------------------------------------------------------------------------------------ writing


@dataclass
class _TrackPatch:
    removed: set[int] = field(default_factory=set)  # seq numbers of dropped events
    added: list[tuple[int, int, int, bytes]] = field(default_factory=list)  # (tick, phase, order, bytes)
    drop_meta: set[int] = field(default_factory=set)  # meta types removed from the whole track
    set_name: str | None = None


# Phase of an added event among the events already at its tick: note-offs first (a key released, then
# struck again), controller/program/meta events with the file's own, note-ons last, and the note-off of
# a zero-length note after its own note-on.
_PH_OFF, _PH_OLD, _PH_ON, _PH_ZERO_OFF = 0, 1, 2, 3


def _note_events(note: Note, channel: int, order: int) -> list[tuple[int, int, int, bytes]]:
    on = (note.start, _PH_ON, order, bytes((0x90 | channel, note.pitch, max(1, min(127, note.velocity)))))
    phase = _PH_ZERO_OFF if note.end <= note.start else _PH_OFF
    off = (max(note.end, note.start), phase, order, bytes((0x80 | channel, note.pitch, 0)))
    return [on, off]


def _meta(meta_type: int, data: bytes) -> bytes:
    return smf.encode_other(smf.OtherEvent(0, 0, smf.META, meta_type, data))


def _tempo_events(tempos: list[TempoChange]) -> list[tuple[int, int, int, bytes]]:
    out = []
    for k, t in enumerate(tempos):
        us = int(round(60_000_000.0 / t.bpm))
        out.append((int(t.tick), _PH_OLD, k, _meta(TEMPO_META, min(max(us, 1), 0xFFFFFF).to_bytes(3, "big"))))
    return out


def _signature_events(sigs: list[TimeSignature]) -> list[tuple[int, int, int, bytes]]:
    out = []
    for k, s in enumerate(sigs):
        power = max(int(s.denominator), 1).bit_length() - 1
        out.append((int(s.tick), _PH_OLD, k, _meta(TIME_SIGNATURE_META, bytes((int(s.numerator), power, 24, 8)))))
    return out


def _key_events(keys: list[KeySignature]) -> list[tuple[int, int, int, bytes]]:
    out = []
    for k, key in enumerate(keys):
        minor = key.name.endswith("m")
        table = _KEYS_MINOR if minor else _KEYS_MAJOR
        root = key.name[:-1] if minor else key.name
        if root in table:
            out.append((int(key.tick), _PH_OLD, k, _meta(KEY_SIGNATURE_META, bytes((table.index(root) - 7 & 0xFF, int(minor))))))
    return out


@dataclass(frozen=True)
class ChannelChoice:
    channel: int
    program_change: bool  # the channel is new to this part's program: write a program change at tick 0
    warning: str = ""


class ChannelAllocator:
    """Gives new parts a channel: drums on channel 10; else a free channel; else one already playing the
    part's program; else (with a warning) the least used one, so two programs never share a channel by
    accident. ``busy`` maps each channel already in use to the programs it plays."""

    def __init__(self, busy: dict[int, set[int]]) -> None:
        self.busy = {c: set(p) for c, p in busy.items()}
        self.load: Counter[int] = Counter({c: 1 for c in busy})

    def take(self, program: int, is_drum: bool, name: str) -> ChannelChoice:
        if is_drum:
            self.busy.setdefault(DRUM_CHANNEL, set())
            return ChannelChoice(DRUM_CHANNEL, False)
        free = [c for c in range(N_CHANNELS) if c != DRUM_CHANNEL and c not in self.busy]
        if free:
            self.busy[free[0]] = {program}
            self.load[free[0]] += 1
            return ChannelChoice(free[0], True)
        same = [c for c in range(N_CHANNELS) if c != DRUM_CHANNEL and program in self.busy.get(c, set())]
        if same:
            channel = min(same, key=lambda c: self.load[c])
            self.load[channel] += 1
            return ChannelChoice(channel, False)
        channel = min((c for c in range(N_CHANNELS) if c != DRUM_CHANNEL), key=lambda c: self.load[c])
        self.load[channel] += 1
        others = ", ".join(str(p) for p in sorted(self.busy[channel]))
        return ChannelChoice(channel, False, (
            f"all 15 melodic MIDI channels are taken: '{name or 'new track'}' (program {program}) plays on channel "
            f"{channel + 1}, which has program {others}, so it will sound with that instrument"
        ))


def _new_track_body(track: Track, choice: ChannelChoice) -> list[tuple[int, int, int, bytes]]:
    events: list[tuple[int, int, int, bytes]] = []
    if track.name:
        events.append((0, _PH_OLD, -2, _meta(TRACK_NAME_META, track.name.encode("utf-8"))))
    if choice.program_change:
        events.append((0, _PH_OLD, -1, bytes((0xC0 | choice.channel, int(track.program) & 0x7F))))
    for k, n in enumerate(track.sorted_notes()):
        events.extend(_note_events(n, choice.channel, k))
    return events


def _body(events: list[tuple[int, int, int, bytes]], end_tick: int = 0) -> bytes:
    events.sort(key=lambda e: e[:3])
    return smf.serialise_events([(t, b) for t, _, _, b in events], end_tick)


def fresh_bytes(score: Score) -> tuple[bytes, list[str]]:
    """A type-1 file for a Score with no document: a conductor track (tempo, meter, key), then one track
    per part on the channels ``ChannelAllocator`` gives in track order."""
    warnings: list[str] = []
    conductor = _tempo_events(score.tempos) + _signature_events(score.time_signatures) + _key_events(score.key_signatures)
    conductor += _chord_marker_events(score.chords)
    chunks = [smf.chunk_bytes(b"MTrk", _body(conductor))]
    alloc = ChannelAllocator({})
    for track in score.tracks:
        choice = alloc.take(int(track.program), track.is_drum, track.name)
        if choice.warning:
            warnings.append(choice.warning)
        chunks.append(smf.chunk_bytes(b"MTrk", _body(_new_track_body(track, choice))))
    return smf.header_bytes(1, len(chunks), score.ticks_per_beat) + b"".join(chunks), warnings


def _event_bytes(track: smf.TrackEvents) -> list[tuple[int, int, int, bytes]]:
    """Every event of a parsed track as (tick, phase, seq, bytes), the form patches merge into."""
    out: list[tuple[int, int, int, bytes]] = []
    kinds = (track.status >> 4).tolist()
    for tick, seq, st, a, b, kind in zip(
        track.tick.tolist(), track.seq.tolist(), track.status.tolist(), track.data1.tolist(), track.data2.tolist(), kinds,
        strict=True,
    ):
        out.append((tick, _PH_OLD, seq, bytes((st, a, b)) if kind not in (0xC, 0xD) else bytes((st, a))))
    out.extend((e.tick, _PH_OLD, e.seq, smf.encode_other(e)) for e in track.others)
    return out


def _busy_channels(doc: MidiDocument) -> dict[int, set[int]]:
    busy: dict[int, set[int]] = defaultdict(set)
    for key, part in doc.parts.items():
        busy[key[1]].add(part.program)
    for track in doc.smf.tracks:
        for channel in np.unique(track.status & 0x0F).tolist():
            busy.setdefault(int(channel), set())
        pcs = np.flatnonzero((track.status >> 4) == 0xC)
        for i in pcs.tolist():
            busy[int(track.status[i]) & 0x0F].add(int(track.data1[i]))
    return busy


def document_bytes(score: Score) -> tuple[bytes, list[str]]:
    """The file for ``score``: its document patched with the score's edits, or a fresh file without one.

    Returns (bytes, warnings); warnings say what could not be written as asked (channels running out).
    """
    doc: MidiDocument | None = score.document
    if doc is not None and not doc.smf.tracks and not score.tracks:
        return smf.header_bytes(doc.smf.format, 0, doc.smf.ticks_per_beat), []
    if doc is None or not doc.smf.tracks or doc.smf.ticks_per_beat != score.ticks_per_beat:
        return fresh_bytes(score)
    warnings: list[str] = []
    patches: dict[int, _TrackPatch] = defaultdict(_TrackPatch)
    seen: set[PartKey] = set()
    new_tracks: list[Track] = []
    for track in score.tracks:
        key = track.source
        part = doc.parts.get(key) if key is not None else None
        if part is None or key in seen:
            new_tracks.append(track)
            continue
        seen.add(key)
        t, channel, program = key
        if track.name != part.name and sum(1 for k in doc.parts if k[0] == t) == 1:
            patches[t].set_name = track.name
        if program >= 0 and int(track.program) != program:
            _reprogram(doc, patches[t], t, channel, program, int(track.program), track)
        if track.notes == part.notes or (len(track.notes) == len(part.notes) and sorted(track.notes, key=_nkey) == part.notes):
            continue
        wanted = Counter(track.notes)
        patch = patches[t]
        for note, on, off in zip(part.notes, part.on_seq, part.off_seq, strict=True):
            if wanted[note] > 0:
                wanted[note] -= 1
            else:
                patch.removed.add(on)
                if off >= 0:
                    patch.removed.add(off)
        for k, note in enumerate(sorted(wanted.elements(), key=_nkey)):
            patch.added.extend(_note_events(note, channel, k))
    for key, part in doc.parts.items():  # parts the score no longer has: their notes go
        if key not in seen:
            patch = patches[key[0]]
            patch.removed.update(part.on_seq)
            patch.removed.update(s for s in part.off_seq if s >= 0)
    conductor = 0
    if score.tempos != doc.tempos:
        for t in range(len(doc.smf.tracks)):
            patches[t].drop_meta.add(TEMPO_META)
        patches[conductor].added.extend(_tempo_events(score.tempos))
    if score.time_signatures != doc.time_signatures:
        for t in range(len(doc.smf.tracks)):
            patches[t].drop_meta.add(TIME_SIGNATURE_META)
        patches[conductor].added.extend(_signature_events(score.time_signatures))

    if score.chords != doc.chords:
        for t, seqs in doc.chord_markers.items():
            patches[t].removed.update(seqs)
        patches[conductor].added.extend(_chord_marker_events(score.chords))

    chunks = list(doc.smf.chunks)
    for t, patch in patches.items():
        track = doc.smf.tracks[t]
        events = [
            e for e in _event_bytes(track)
            if e[2] not in patch.removed and not (e[3][0] == smf.META and e[3][1] in patch.drop_meta)
        ]
        if patch.set_name is not None:
            events = [e for e in events if not (e[3][0] == smf.META and e[3][1] == TRACK_NAME_META)]
            events.append((0, _PH_OLD, -1, _meta(TRACK_NAME_META, patch.set_name.encode("utf-8"))))
        events.extend(patch.added)
        chunks[doc.smf.track_chunk[t]] = (b"MTrk", _body(events, track.end_tick))
    alloc = ChannelAllocator(_busy_channels(doc))
    for track in new_tracks:
        choice = alloc.take(int(track.program), track.is_drum, track.name)
        if choice.warning:
            warnings.append(choice.warning)
        chunks.append((b"MTrk", _body(_new_track_body(track, choice))))
    fmt = doc.smf.format if not new_tracks or doc.smf.format != 0 else 1
    n_tracks = sum(1 for c, _ in chunks if c == b"MTrk")
    out = smf.header_bytes(fmt, n_tracks, doc.smf.ticks_per_beat) + b"".join(smf.chunk_bytes(c, b) for c, b in chunks)
    return out, warnings


def _nkey(n: Note) -> tuple[int, int, int]:
    return (n.start, n.pitch, n.end)


def _reprogram(doc: MidiDocument, patch: _TrackPatch, t: int, channel: int, old: int, new: int, track: Track) -> None:
    """The user gave a part another instrument: its channel's program changes to ``old`` in its own track
    become ``new``; without one there, a program change to ``new`` goes just before its first note."""
    raw = doc.smf.tracks[t]
    idx = np.flatnonzero((raw.status == (0xC0 | channel)) & (raw.data1 == old))
    for i in idx.tolist():
        patch.removed.add(int(raw.seq[i]))
        patch.added.append((int(raw.tick[i]), _PH_OLD, int(raw.seq[i]), bytes((0xC0 | channel, new & 0x7F))))
    if len(idx) == 0 and track.notes:
        first = min(n.start for n in track.notes)
        patch.added.append((first, _PH_OFF, -1, bytes((0xC0 | channel, new & 0x7F))))
