"""Small MIDI files of the kinds real files hold, written with mido (not with our writer), one per kind.

They mirror ../shared/data/midi-corpus/kinds/ (whose README says what a correct editor does with each), so
the core suite checks the round trip without the shared data. Every builder returns the file's bytes.
Songs are 4/4 at 480 ticks per beat (a bar is 1,920 ticks) unless the kind is about meter.
"""

from __future__ import annotations

import io

import mido

TPB = 480
BAR = 4 * TPB


def _bytes(midi: mido.MidiFile) -> bytes:
    buf = io.BytesIO()
    midi.save(file=buf)
    return buf.getvalue()


def _track(name: str, events: list[tuple[int, mido.Message | mido.MetaMessage]]) -> mido.MidiTrack:
    """A track from (absolute tick, message) pairs; stable sort keeps the given order inside a tick."""
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    last = 0
    for tick, msg in sorted(events, key=lambda e: e[0]):
        track.append(msg.copy(time=tick - last))
        last = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _notes(channel: int, pitches: list[int], bars: int, per_bar: int, velocity: int = 90,
           off: str = "note_off") -> list[tuple[int, mido.Message]]:
    step = BAR // per_bar
    out = []
    for k in range(bars * per_bar):
        p = pitches[k % len(pitches)]
        out.append((k * step, mido.Message("note_on", channel=channel, note=p, velocity=velocity)))
        if off == "note_off":
            out.append((k * step + step - 20, mido.Message("note_off", channel=channel, note=p, velocity=64)))
        else:
            out.append((k * step + step - 20, mido.Message("note_on", channel=channel, note=p, velocity=0)))
    return out


def _conductor(*extra: tuple[int, mido.MetaMessage], bpm: float = 100.0) -> mido.MidiTrack:
    return _track("Song", [(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))),
                           (0, mido.MetaMessage("time_signature", numerator=4, denominator=4)), *extra])


def _band(bars: int = 8) -> list[mido.MidiTrack]:
    piano = [(0, mido.Message("program_change", channel=0, program=0))] + _notes(0, [60, 64, 67, 72], bars, 4)
    bass = [(0, mido.Message("program_change", channel=1, program=33))] + _notes(1, [36, 43], bars, 4, off="on0")
    drums = _notes(9, [36, 42, 38, 42], bars, 8, velocity=100)
    return [_track("Piano", piano), _track("Bass", bass), _track("Drums", drums)]


def controllers_and_bends(bars: int = 8) -> bytes:
    """Piano with sustain pedal, volume and pan; bass with pitch bends; SysEx (GM on) in the conductor."""
    midi = mido.MidiFile(ticks_per_beat=TPB)
    piano, bass, drums = _band(bars)
    conductor = _conductor((0, mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01])))
    extra_piano = [(0, mido.Message("control_change", channel=0, control=7, value=100)),
                   (0, mido.Message("control_change", channel=0, control=10, value=40))]
    for b in range(bars):
        extra_piano += [(b * BAR, mido.Message("control_change", channel=0, control=64, value=127)),
                        (b * BAR + BAR - 10, mido.Message("control_change", channel=0, control=64, value=0))]
    extra_bass = [(b * BAR + 240, mido.Message("pitchwheel", channel=1, pitch=1000 * (b % 4))) for b in range(bars)]
    extra_bass += [(b * BAR + 600, mido.Message("aftertouch", channel=1, value=50)) for b in range(bars)]
    extra_bass += [(b * BAR + 100, mido.Message("polytouch", channel=1, note=36, value=30)) for b in range(bars)]
    midi.tracks = [conductor, _with(piano, extra_piano), _with(bass, extra_bass), drums]
    return _bytes(midi)


def _with(track: mido.MidiTrack, extra: list[tuple[int, mido.Message]]) -> mido.MidiTrack:
    """``track`` with ``extra`` events merged in by tick (the extra ones first inside a tick)."""
    events = []
    tick = 0
    for msg in track:
        tick += msg.time
        if msg.type not in ("end_of_track", "track_name"):
            events.append((tick, msg))
    name = next(m.name for m in track if m.type == "track_name")
    return _track(name, extra + events)


def karaoke(bars: int = 8) -> bytes:
    """Lyrics on the melody, a marker, a text event, a key signature, copyright, cue point, SMPTE offset,
    a sequencer-specific event and an instrument name."""
    midi = mido.MidiFile(ticks_per_beat=TPB)
    piano, bass, drums = _band(bars)
    conductor = _conductor(
        (0, mido.MetaMessage("key_signature", key="G")),
        (0, mido.MetaMessage("text", text="@KMIDI KARAOKE FILE")),
        (0, mido.MetaMessage("copyright", text="(c) nobody")),
        (0, mido.MetaMessage("smpte_offset", hours=0, minutes=0, seconds=1, frames=0, sub_frames=0)),
        (BAR, mido.MetaMessage("marker", text="Verse")),
        (2 * BAR, mido.MetaMessage("cue_marker", text="cue")),
        (0, mido.MetaMessage("sequencer_specific", data=[0x00, 0x00, 0x41])),
    )
    lyrics = [(k * TPB, mido.MetaMessage("lyrics", text=f"la{k} ")) for k in range(bars * 4)]
    piano = _with(piano, lyrics + [(0, mido.MetaMessage("instrument_name", name="Grand"))])
    midi.tracks = [conductor, piano, bass, drums]
    return _bytes(midi)


def gm_16_channels(bars: int = 4) -> bytes:
    """Sixteen parts, one per channel (10 = drums), each in its own track with its own program."""
    midi = mido.MidiFile(ticks_per_beat=TPB)
    tracks = [_conductor()]
    for ch in range(16):
        if ch == 9:
            tracks.append(_track("Drums", _notes(9, [36, 38], bars, 4)))
        else:
            prog = (ch * 8 + 1) % 128
            tracks.append(_track(f"Part {ch + 1}", [(0, mido.Message("program_change", channel=ch, program=prog))]
                                 + _notes(ch, [48 + ch, 52 + ch], bars, 2)))
    midi.tracks = tracks
    return _bytes(midi)


def program_switch(bars: int = 8, parts: int = 8) -> bytes:
    """``parts`` string parts on their own channels switching arco (48) -> pizzicato (45) at bar 5."""
    midi = mido.MidiFile(ticks_per_beat=TPB)
    tracks = [_conductor()]
    for k in range(parts):
        ch = k if k < 9 else k + 1
        ev = [(0, mido.Message("program_change", channel=ch, program=48)),
              (4 * BAR, mido.Message("program_change", channel=ch, program=45))]
        tracks.append(_track(f"Strings {k + 1}", ev + _notes(ch, [55 + k], bars, 2)))
    midi.tracks = tracks
    return _bytes(midi)


def program_change_before_note_off(bars: int = 4) -> bytes:
    """A program change at the middle bar line written before the previous note's note-off (same tick)."""
    midi = mido.MidiFile(ticks_per_beat=TPB)
    ev: list[tuple[int, mido.Message]] = [(0, mido.Message("program_change", channel=0, program=0))]
    for k in range(4 * bars):
        t = k * TPB
        if k == 2 * bars:
            ev.append((t, mido.Message("program_change", channel=0, program=48)))
        ev.append((t, mido.Message("note_on", channel=0, note=60 + k, velocity=80)))
        ev.append((t + TPB, mido.Message("note_off", channel=0, note=60 + k, velocity=0)))
    # put the bar-line program change before the previous note's note-off (file order inside that tick)
    ordered = sorted(ev, key=lambda e: (e[0], 0 if e[1].type == "program_change" else 1 if e[1].type == "note_off" else 2))
    midi.tracks = [_conductor(), _track("Keys", ordered)]
    return _bytes(midi)


def tempo_in_two_tracks(bars: int = 8) -> bytes:
    """Tempo 100 in track 0, 60 from bar 3 in track 2, 60 again at bar 5 in track 0; 100 repeated at tick
    0 in track 1."""
    midi = mido.MidiFile(ticks_per_beat=TPB)
    piano, bass, drums = _band(bars)
    conductor = _conductor((4 * BAR, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60))))
    piano = _with(piano, [(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100)))])
    bass = _with(bass, [(2 * BAR, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60)))])
    midi.tracks = [conductor, piano, bass, drums]
    return _bytes(midi)


def late_time_signature(bars: int = 8) -> bytes:
    """No time signature for two bars (the SMF default 4/4), then 3/4 from tick 3,840: 8 bars in all."""
    midi = mido.MidiFile(ticks_per_beat=TPB)
    conductor = _track("Song", [(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100))),
                                (2 * BAR, mido.MetaMessage("time_signature", numerator=3, denominator=4))])
    notes = _notes(0, [60, 62, 64, 65], 2, 4)  # bars 1-2 in 4/4
    for k in range((bars - 2) * 3):  # bars 3-8 in 3/4
        t = 2 * BAR + k * TPB
        notes += [(t, mido.Message("note_on", channel=0, note=67, velocity=80)),
                  (t + TPB - 20, mido.Message("note_off", channel=0, note=67))]
    midi.tracks = [conductor, _track("Piano", notes)]
    return _bytes(midi)


def slow_section() -> bytes:
    """4 bars at 120 BPM (8 s), then 3 bars at 60 BPM (12 s): heard mostly at 60 (largo)."""
    midi = mido.MidiFile(ticks_per_beat=TPB)
    piano, bass, drums = _band(7)
    conductor = _conductor((4 * BAR, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60))), bpm=120)
    midi.tracks = [conductor, piano, bass, drums]
    return _bytes(midi)


def header_only() -> bytes:
    return b"MThd\x00\x00\x00\x06\x00\x01\x00\x00\x01\xe0"


def setup_track_programs(bars: int = 8) -> bytes:
    """Program changes for channels 1, 2 and 3 in a set-up track with no notes; the notes in other tracks."""
    midi = mido.MidiFile(ticks_per_beat=TPB)
    setup = _track("Setup", [(0, mido.Message("program_change", channel=0, program=0)),
                             (0, mido.Message("program_change", channel=1, program=33)),
                             (0, mido.Message("program_change", channel=2, program=40))])
    midi.tracks = [_conductor(), setup, _track("Bass", _notes(1, [36, 43], bars, 4)),
                   _track("Violin", _notes(2, [76, 79], bars, 2)), _track("Drums", _notes(9, [36, 38], bars, 4))]
    return _bytes(midi)


def odd_events(bars: int = 4) -> bytes:
    """Zero-length notes, a tempo of 2,000 BPM and one of 4 BPM, an undecodable key signature (sharps = 9),
    a meta event of an unknown type, a note-on that is never released, running status."""
    midi = mido.MidiFile(ticks_per_beat=TPB)
    conductor = _conductor(
        (BAR, mido.MetaMessage("set_tempo", tempo=30_000)),  # 2,000 BPM
        (2 * BAR, mido.MetaMessage("set_tempo", tempo=15_000_000)),  # 4 BPM
        (3 * BAR, mido.MetaMessage("set_tempo", tempo=600_000)),
    )
    notes = _notes(0, [60, 64], bars, 4)
    notes += [(BAR + 7, mido.Message("note_on", channel=0, note=72, velocity=70)),
              (BAR + 7, mido.Message("note_off", channel=0, note=72, velocity=0)),
              (2 * BAR, mido.Message("note_on", channel=0, note=84, velocity=50))]  # never released
    midi.tracks = [conductor, _track("Piano", notes)]
    raw = bytearray(_bytes(midi))
    # Splice an undecodable key signature (sharps 9) and an unknown meta type 0x60 into the conductor
    # track by hand: mido refuses to write them, as real files sometimes have them.
    start = raw.index(b"MTrk")
    length = int.from_bytes(raw[start + 4 : start + 8], "big")
    body = bytes(raw[start + 8 : start + 8 + length])
    extra = b"\x00\xff\x59\x02\x09\x00" + b"\x00\xff\x60\x03abc"
    body = extra + body
    raw[start : start + 8 + length] = b"MTrk" + len(body).to_bytes(4, "big") + body
    return bytes(raw)


def type0(bars: int = 4) -> bytes:
    """One track, three channels (piano 0, bass 33, drums), with a volume controller per channel."""
    midi = mido.MidiFile(type=0, ticks_per_beat=TPB)
    ev = [(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(110))),
          (0, mido.Message("program_change", channel=0, program=0)),
          (0, mido.Message("program_change", channel=1, program=33)),
          (0, mido.Message("control_change", channel=0, control=7, value=90)),
          (0, mido.Message("control_change", channel=1, control=7, value=80))]
    ev += _notes(0, [60, 64, 67], bars, 4) + _notes(1, [36], bars, 4) + _notes(9, [36, 42], bars, 8)
    midi.tracks = [_track("All", ev)]
    return _bytes(midi)


ALL_KINDS = {
    "controllers_and_bends": controllers_and_bends,
    "karaoke": karaoke,
    "gm_16_channels": gm_16_channels,
    "program_switch": program_switch,
    "program_change_before_note_off": program_change_before_note_off,
    "tempo_in_two_tracks": tempo_in_two_tracks,
    "late_time_signature": late_time_signature,
    "slow_section": slow_section,
    "setup_track_programs": setup_track_programs,
    "odd_events": odd_events,
    "type0": type0,
}
