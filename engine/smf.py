"""The Standard MIDI File byte format: chunks and track events, read and written without losing any.

Why our own codec and not a library's: the song document (``engine.midi_document``) must keep every event
of a file and write back, byte for byte, every track that an edit did not touch. Measured on the editor's
100k-note bench file (810 kB, 16 tracks; 2-core x86_64): mido builds a ``Message`` object per event and
takes 0.85 s to parse it (the editor's budget for opening *and drawing* it is 0.5 s); this scanner, which
keeps channel events as four integer columns and other events as raw bytes, takes 0.08 s. symusic parses
it in 5 ms but drops the channel of each note and ignores program changes that sit in another track, and
miditoolkit (on mido) drops tempo events outside track 0 and gives a note the program of its note-off.
mido stays the reference: the tests compare every event this module reads and writes with what mido
reads from the same bytes.

The format (Standard MIDI Files 1.0, MIDI Manufacturers Association, 1996): a header chunk ``MThd``
(format 0/1/2, track count, division) and chunks ``MTrk`` holding events, each a variable-length delta
time followed by a channel voice message (status 0x80-0xEF, running status allowed), a SysEx event
(0xF0 or 0xF7, then a variable length and the bytes) or a meta event (0xFF, type, variable length, data).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

META = 0xFF
SYSEX = 0xF0
ESCAPE = 0xF7
END_OF_TRACK = 0x2F
# System common and real-time messages have no place in a file, but real files hold them (a sequencer's
# 0xFC "stop" recorded into a track): they are kept as raw events with their data bytes, as mido reads
# them, instead of ending the track there. Data bytes per status (undefined ones take none).
SYSTEM_DATA_BYTES = {0xF1: 1, 0xF2: 2, 0xF3: 1}

# Data bytes after a channel status, by its high nibble 0x8-0xE (note off, note on, key pressure,
# control change, program change, channel pressure, pitch bend).
_DATA_BYTES = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}


class SmfError(ValueError):
    """The bytes are not a Standard MIDI File (the header is wrong); the message says why."""


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """A meta or SysEx event, kept as raw bytes so that even one nobody can decode is written back.

    ``kind`` is 0xFF (meta), 0xF0 (SysEx), 0xF7 (escape/SysEx continuation) or a system common/real-time
    status 0xF1-0xFE (kept from files that hold one); ``meta_type`` is the meta event's type byte (0x51
    tempo, 0x58 time signature, 0x05 lyric, ...) and 0 otherwise.
    """

    tick: int
    seq: int  # position among all events of the track, in file order
    kind: int
    meta_type: int
    data: bytes


@dataclass(slots=True)
class TrackEvents:
    """One ``MTrk`` chunk: channel events as columns (one row each, in file order), the rest as objects.

    ``seq`` numbers every event of the track in file order (channel and other events share the count),
    so the order inside one tick, which decides e.g. a program change before a note-on, is kept.
    The end-of-track meta event is not in ``others``: ``end_tick`` is its tick.
    """

    tick: np.ndarray  # int64 [E]
    seq: np.ndarray  # int64 [E]
    status: np.ndarray  # uint8 [E]: 0x80-0xEF (message type in the high nibble, channel in the low one)
    data1: np.ndarray  # uint8 [E]
    data2: np.ndarray  # uint8 [E] (0 for program change and channel pressure)
    others: list[OtherEvent] = field(default_factory=list)
    end_tick: int = 0
    problem: str = ""  # why reading stopped early ("" when the whole chunk was read)

    @property
    def n_events(self) -> int:
        return len(self.tick) + len(self.others)


@dataclass(slots=True)
class SmfFile:
    """A parsed file: the header and every chunk, the raw bytes of each kept for verbatim writing."""

    format: int
    ticks_per_beat: int
    chunks: list[tuple[bytes, bytes]]  # (chunk type, chunk data) in file order, MTrk and unknown ones
    tracks: list[TrackEvents]  # one per MTrk chunk, in order
    track_chunk: list[int]  # index into ``chunks`` of each track
    problems: list[str] = field(default_factory=list)  # damage found in the container (chunk lengths, ...)


def _read_vlq(data: bytes, i: int) -> tuple[int, int]:
    value = 0
    for _ in range(4):
        c = data[i]
        i += 1
        value = (value << 7) | (c & 0x7F)
        if c < 0x80:
            return value, i
    raise IndexError("variable-length quantity longer than 4 bytes")


def parse_track(data: bytes) -> TrackEvents:
    """Decode one track chunk's data. Never raises: damage stops the reading and is named in ``problem``.

    Running status persists across meta and SysEx events, as mido and most players read it.
    """
    ticks: list[int] = []
    seqs: list[int] = []
    stats: list[int] = []
    d1: list[int] = []
    d2: list[int] = []
    others: list[OtherEvent] = []
    n = len(data)
    i = tick = seq = status = 0
    end_tick: int | None = None
    problem = ""
    try:
        while i < n:
            delta = 0
            while True:  # inline VLQ: this loop runs once per event
                c = data[i]
                i += 1
                delta = (delta << 7) | (c & 0x7F)
                if c < 0x80:
                    break
            tick += delta
            c = data[i]
            if c >= 0xF0:
                i += 1
                if c == META:
                    mtype = data[i]
                    length, i = _read_vlq(data, i + 1)
                    if i + length > n:
                        raise IndexError("meta event runs past the end of the track")
                    if mtype == END_OF_TRACK:  # events after it (mido reads them too) are kept as well
                        end_tick = tick
                        i += length
                        continue
                    others.append(OtherEvent(tick, seq, META, mtype, bytes(data[i : i + length])))
                elif c in (SYSEX, ESCAPE):
                    length, i = _read_vlq(data, i)
                    if i + length > n:
                        raise IndexError("SysEx event runs past the end of the track")
                    others.append(OtherEvent(tick, seq, c, 0, bytes(data[i : i + length])))
                else:
                    length = SYSTEM_DATA_BYTES.get(c, 0)
                    if i + length > n or any(b > 0x7F for b in data[i : i + length]):
                        raise IndexError("a system message without its data")
                    others.append(OtherEvent(tick, seq, c, 0, bytes(data[i : i + length])))
                    if c < 0xF8:
                        status = 0  # system common cancels running status; real-time does not
                i += length
                seq += 1
                continue
            if c >= 0x80:
                status = c
                i += 1
            elif status == 0:
                problem = f"a data byte without a status at tick {tick}"
                break
            if _DATA_BYTES[status >> 4] == 2:
                a, b = data[i], data[i + 1]
                i += 2
            else:
                a, b = data[i], 0
                i += 1
            if a > 0x7F or b > 0x7F:
                problem = f"a status byte where data was expected at tick {tick}"
                break
            ticks.append(tick)
            seqs.append(seq)
            stats.append(status)
            d1.append(a)
            d2.append(b)
            seq += 1
    except IndexError:
        problem = "the track ends in the middle of an event"
    last = max(ticks[-1] if ticks else 0, others[-1].tick if others else 0)
    if end_tick is None:
        if not problem:
            problem = "no end-of-track event"
        end_tick = last
    end_tick = max(end_tick, last)
    return TrackEvents(
        np.asarray(ticks, dtype=np.int64),
        np.asarray(seqs, dtype=np.int64),
        np.asarray(stats, dtype=np.uint8),
        np.asarray(d1, dtype=np.uint8),
        np.asarray(d2, dtype=np.uint8),
        others,
        int(end_tick),
        problem,
    )


def parse_smf(data: bytes) -> SmfFile:
    """Split a file into its header and chunks and decode every track.

    Raises ``SmfError`` only when the header itself is unusable; damage inside or between track chunks
    (a chunk length past the end of the file, a broken event) is listed in ``problems`` and the readable
    part is kept, so a damaged file still opens where its notes can be read.
    """
    if data[:4] != b"MThd" or len(data) < 14:
        raise SmfError("no MIDI header ('MThd')")
    header_len = struct.unpack(">I", data[4:8])[0]
    if header_len < 6:
        raise SmfError(f"a MIDI header of {header_len} bytes (6 expected)")
    fmt, n_declared, division = struct.unpack(">HHH", data[8:14])
    if fmt > 2:
        raise SmfError(f"unknown MIDI format {fmt}")
    if division & 0x8000:
        raise SmfError("SMPTE (frame-based) timing is not supported; re-save it with ticks per beat")
    if division == 0:
        raise SmfError("a resolution of 0 ticks per beat")
    chunks: list[tuple[bytes, bytes]] = []
    tracks: list[TrackEvents] = []
    track_chunk: list[int] = []
    problems: list[str] = []
    i = 8 + header_len
    while i + 8 <= len(data):
        ctype = bytes(data[i : i + 4])
        length = struct.unpack(">I", data[i + 4 : i + 8])[0]
        body = bytes(data[i + 8 : i + 8 + length])
        if len(body) < length:
            problems.append(f"chunk {len(chunks) + 1} is cut short ({len(body)} of {length} bytes)")
        if not ctype.isalnum() and ctype != b"MTrk":
            problems.append(f"unreadable bytes after chunk {len(chunks)} (not a chunk header); ignored")
            break
        chunks.append((ctype, body))
        if ctype == b"MTrk":
            track = parse_track(body)
            track_chunk.append(len(chunks) - 1)
            tracks.append(track)
            if track.problem and track.problem != "no end-of-track event":
                problems.append(f"track {len(tracks)}: {track.problem}; the rest of that track is skipped")
        i += 8 + length
    if 0 < len(data) - i < 8 and data[i:].strip(b"\x00"):
        problems.append(f"{len(data) - i} stray bytes at the end of the file; ignored")
    if n_declared != len(tracks) and tracks:
        problems.append(f"the header announces {n_declared} tracks, the file holds {len(tracks)}")
    return SmfFile(fmt, division, chunks, tracks, track_chunk, problems)


def write_vlq(value: int) -> bytes:
    """A variable-length quantity (SMF 1.0 §1.1): 7 bits a byte, most significant first."""
    if value < 0 or value > 0x0FFFFFFF:
        raise ValueError(f"{value} does not fit a MIDI variable-length quantity")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def encode_other(event: OtherEvent) -> bytes:
    """The bytes of a meta or SysEx event after its delta time."""
    if event.kind == META:
        return bytes((META, event.meta_type)) + write_vlq(len(event.data)) + event.data
    if event.kind in (SYSEX, ESCAPE):
        return bytes((event.kind,)) + write_vlq(len(event.data)) + event.data
    return bytes((event.kind,)) + event.data  # a system common or real-time message


def serialise_events(events: list[tuple[int, bytes]], end_tick: int) -> bytes:
    """Track chunk data from (tick, message bytes) pairs already in playing order, plus end of track.

    Every channel message is written with its status byte (no running status): longer by a few percent,
    but each event stands alone, which is what a patched track needs.
    """
    out = bytearray()
    last = 0
    for tick, payload in events:
        out += write_vlq(tick - last)
        out += payload
        last = tick
    out += write_vlq(max(end_tick, last) - last) + b"\xff\x2f\x00"
    return bytes(out)


def chunk_bytes(ctype: bytes, body: bytes) -> bytes:
    return ctype + struct.pack(">I", len(body)) + body


def header_bytes(fmt: int, n_tracks: int, ticks_per_beat: int) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, fmt, n_tracks, ticks_per_beat)
