"""MIDI loading and writing: round trips on files the tests write, and every kind of bad input."""

from __future__ import annotations

import io
import random
import time

import mido
import pytest

from engine.errors import MidiReadError
from engine.midi_io import read_midi, read_midi_fast, write_midi
from engine.score import Note, Score, Track
from tests import midi_fixtures as fx

ALL_FIXTURES = [fx.pop_band, fx.waltz, fx.six_eight, fx.pickup, fx.overlapping]


def _note_set(score: Score) -> set[tuple]:
    return {(i, n.start, n.end, n.pitch, n.velocity) for i, t in enumerate(score.tracks) for n in t.notes}


@pytest.mark.parametrize("build", ALL_FIXTURES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("backend", ["document", "symusic"])
def test_round_trip_keeps_everything(tmp_path, build, backend):
    score = build()
    path = fx.write(score, tmp_path, "song.mid")
    back = read_midi(path, backend=backend)
    assert back.ticks_per_beat == score.ticks_per_beat
    assert [(t.name, t.program, t.is_drum) for t in back.tracks] == [(t.name, t.program, t.is_drum) for t in score.tracks]
    # Exact duplicates (same pitch, same onset) cannot coexist on one MIDI channel; everything else must.
    expected = {(i, n.start, n.pitch) for i, t in enumerate(score.tracks) for n in t.notes}
    assert {(i, s, p) for i, s, _, p, _ in _note_set(back)} == expected
    assert [(round(t.bpm, 3), t.tick) for t in back.tempos] == [(round(t.bpm, 3), t.tick) for t in score.tempos]
    assert back.time_signatures == score.time_signatures


def test_parsers_agree_on_band(tmp_path):
    path = fx.write(fx.pop_band(), tmp_path, "band.mid")
    assert _note_set(read_midi(path, backend="document")) == _note_set(read_midi_fast(path))


def test_drums_are_written_on_channel_10(tmp_path):
    path = fx.write(fx.pop_band(), tmp_path, "band.mid")
    channels = {m.channel for m in mido.MidiFile(path).tracks[4] if m.type == "note_on"}
    assert channels == {9}


def test_type0_file_splits_channels_into_tracks(tmp_path):
    mf = mido.MidiFile(type=0, ticks_per_beat=96)
    tr = mido.MidiTrack()
    tr += [
        mido.Message("program_change", program=33, channel=1, time=0),
        mido.Message("note_on", note=40, velocity=90, channel=1, time=0),
        mido.Message("note_on", note=72, velocity=90, channel=0, time=0),
        mido.Message("note_on", note=36, velocity=90, channel=9, time=0),
        mido.Message("note_off", note=40, channel=1, time=96),
        mido.Message("note_off", note=72, channel=0, time=0),
        mido.Message("note_on", note=36, velocity=0, channel=9, time=0),  # note-on with velocity 0 = off
    ]
    mf.tracks.append(tr)
    path = tmp_path / "type0.mid"
    mf.save(path)
    for backend in ("document", "symusic"):
        score = read_midi(path, backend=backend)
        got = {(t.program, t.is_drum, tuple((n.pitch, n.start, n.end) for n in t.notes)) for t in score.tracks}
        assert got == {(33, False, ((40, 0, 96),)), (0, False, ((72, 0, 96),)), (0, True, ((36, 0, 96),))}, backend


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "out.mid"
    path.write_bytes(b"old contents")
    write_midi(fx.waltz(), path)
    assert read_midi(path).n_notes == fx.waltz().n_notes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mid"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "keep.mid"
    path.write_bytes(b"precious")
    import engine.midi_io as mio

    def boom(score):
        raise RuntimeError("serialiser crashed")

    monkeypatch.setattr(mio, "encode_midi", boom)
    with pytest.raises(RuntimeError):
        write_midi(fx.waltz(), path)
    assert path.read_bytes() == b"precious"


def test_zero_length_notes_stay_zero_length(tmp_path):
    """A file may hold a note-on and its note-off at one tick; it is read and written as it is."""
    score = Score(480, [Track("x", 0, False, [Note(0, 0, 60, 80), Note(10, 20, 62, 80)])])
    back = read_midi(fx.write(score, tmp_path, "z.mid"))
    assert [(n.start, n.end, n.pitch) for n in back.tracks[0].notes] == [(0, 0, 60), (10, 20, 62)]


# ---------------------------------------------------------------- bad input


def _valid_bytes() -> bytes:
    buf = io.BytesIO()
    from engine.midi_io import score_to_midi_bytes

    buf.write(score_to_midi_bytes(fx.pop_band(2)))
    return buf.getvalue()


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"", "empty"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "not a MIDI file"),
        (b"MThd\x00\x00", "truncated"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\xe7\x28", "SMPTE"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00\x00", "resolution"),
        (b"MThd\x00\x00\x00\x06\x00\x07\x00\x01\x01\xe0", "format"),
        (b"%PDF-1.4 hello", "not a MIDI file"),
    ],
)
def test_clear_errors(tmp_path, payload, reason):
    path = tmp_path / "bad.mid"
    path.write_bytes(payload)
    for backend in ("document", "symusic"):
        with pytest.raises(MidiReadError, match=reason):
            read_midi(path, backend=backend)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(MidiReadError, match="not found"):
        read_midi(tmp_path / "nope.mid")
    with pytest.raises(MidiReadError, match="folder"):
        read_midi(tmp_path)


@pytest.mark.parametrize("backend", ["document", "symusic"])
def test_truncated_files_error_or_load(backend):
    data = _valid_bytes()
    for cut in range(14, len(data), max(1, len(data) // 60)):
        try:
            read_midi(data[:cut], backend=backend)
        except MidiReadError as exc:
            assert "<bytes>" in str(exc)


@pytest.mark.parametrize("backend", ["document", "symusic"])
def test_random_bytes_error_or_load_quickly(backend):
    rng = random.Random(7)
    valid = _valid_bytes()
    for i in range(150):
        if i % 3 == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        else:  # a valid file with bytes flipped after the header
            data = bytearray(valid)
            for _ in range(rng.randrange(1, 20)):
                data[rng.randrange(14, len(data))] = rng.randrange(256)
            data = bytes(data)
        start = time.perf_counter()
        try:
            read_midi(data, backend=backend)
        except MidiReadError:
            pass
        assert time.perf_counter() - start < 5.0, f"case {i} took too long"


def _track_chunk(events: bytes) -> bytes:
    events += b"\x00\xff\x2f\x00"
    return b"MTrk" + len(events).to_bytes(4, "big") + events


def _header(n_tracks: int, fmt: int = 1) -> bytes:
    return b"MThd\x00\x00\x00\x06" + fmt.to_bytes(2, "big") + n_tracks.to_bytes(2, "big") + (480).to_bytes(2, "big")


def test_ten_thousand_tracks_give_a_clear_error():
    note = b"\x00\x90\x3c\x50\x83\x60\x80\x3c\x00"
    data = _header(10_000) + _track_chunk(note) * 10_000
    with pytest.raises(MidiReadError, match="10000 tracks"):
        read_midi(data)


def test_ten_thousand_empty_tracks_load():
    data = _header(10_000) + _track_chunk(b"") * 9_999 + _track_chunk(b"\x00\x90\x3c\x50\x83\x60\x80\x3c\x00")
    assert read_midi(data).n_notes == 1


@pytest.mark.slow
def test_a_million_notes_load_with_the_fast_path():
    # Running status: note-on, then note-off 10 ticks later, 1e6 times (8 MB).
    body = b"\x00\x90\x3c\x50" + b"\x0a\x3c\x00\x00\x3c\x50" * 999_999 + b"\x0a\x3c\x00"
    data = _header(1, fmt=0) + _track_chunk(body)
    start = time.perf_counter()
    score = read_midi(data)  # "auto" picks symusic for a file this size
    assert score.n_notes == 1_000_000
    assert time.perf_counter() - start < 30


def test_note_limit_gives_a_clear_error():
    body = b"\x00\x90\x3c\x50" + b"\x0a\x3c\x00\x00\x3c\x50" * 999 + b"\x0a\x3c\x00"
    data = _header(1, fmt=0) + _track_chunk(body)
    for backend in ("document", "symusic"):
        with pytest.raises(MidiReadError, match="notes"):
            read_midi(data, backend=backend, max_notes=500)


def test_a_note_days_after_the_rest_is_a_clear_error():
    # One note at tick 0, one 2**27 ticks later (a corrupt delta time): ~78 hours at 120 BPM.
    late = b"\x00\x90\x3c\x50\x83\x60\x80\x3c\x00" + b"\xc0\x80\x80\x00\x90\x3e\x50\x10\x80\x3e\x00"
    with pytest.raises(MidiReadError, match="hours"):
        read_midi(_header(1, fmt=0) + _track_chunk(late))


def test_exported_files_get_normal_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        new = tmp_path / "new.mid"
        write_midi(fx.waltz(), new)
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        kept = tmp_path / "kept.mid"
        kept.write_bytes(b"x")
        kept.chmod(0o640)
        write_midi(fx.waltz(), kept)
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    finally:
        os.umask(old)
