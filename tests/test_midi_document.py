"""The song document: every event of a file survives an edit elsewhere, checked event by event with mido.

Files are written by tests/midi_kinds.py with mido (one per kind of input that broke the round trip);
``engine.midi_compare`` reads input and output with mido, not with our reader.
"""

from __future__ import annotations

import io

import mido
import pytest

from app.document import add_note, add_track, delete_notes, remove_track, set_track_instrument
from engine.analysis.grid import beat_grid
from engine.analysis.tempo import score_tempo_class
from engine.infill import Selection, infill
from engine.midi_compare import Region, compare_outside, sounding_programs
from engine.midi_io import encode_midi, load_warnings, read_midi, score_to_midi_bytes, write_midi
from engine.score import Note, Score, TempoChange, TimeSignature, Track
from tests import midi_kinds as kinds
from tests.model_fixtures import plausible_model

BAR = kinds.BAR


@pytest.fixture(scope="module")
def model():
    return plausible_model()


def _infilled(data: bytes, track: int, bars: tuple[int, int], model) -> tuple[Score, bytes, Region]:  # noqa: ANN001
    score = read_midi(data)
    out = infill(score, Selection(bars[0], bars[1], (track,)), n_variations=1, seed=1, model=model)[0]
    src = score.tracks[track].source
    assert src is not None
    tol = kinds.TPB // 16
    return out, score_to_midi_bytes(out), Region(src[0], src[1], bars[0] * BAR - tol, bars[1] * BAR - tol)


@pytest.mark.parametrize("kind", sorted(kinds.ALL_KINDS))
def test_unedited_song_is_written_back_byte_for_byte(kind: str) -> None:
    data = kinds.ALL_KINDS[kind]()
    assert score_to_midi_bytes(read_midi(data)) == data


@pytest.mark.parametrize("kind", sorted(kinds.ALL_KINDS))
def test_infill_changes_nothing_outside_the_region(kind: str, model) -> None:  # noqa: ANN001
    data = kinds.ALL_KINDS[kind]()
    score = read_midi(data)
    target = max(range(len(score.tracks)), key=lambda i: len(score.tracks[i].notes))
    out, written, region = _infilled(data, target, (1, 3), model)
    assert out.tracks[target].notes != score.tracks[target].notes  # the model did change the region
    cmp = compare_outside(data, written, [region])
    assert cmp.ok, cmp.summary()
    assert cmp.n_notes > 0 and cmp.n_events > 0


def test_a_regenerated_piano_keeps_its_pedal_and_the_bass_its_bends(model) -> None:  # noqa: ANN001
    data = kinds.controllers_and_bends()
    _, written, region = _infilled(data, 0, (2, 4), model)
    # no region exemption for controllers: every pedal, volume, pan, bend and aftertouch event is there
    before = [(m.type, getattr(m, "control", None)) for t in mido.MidiFile(file=io.BytesIO(data)).tracks for m in t
              if m.type in ("control_change", "pitchwheel", "aftertouch", "polytouch", "sysex")]
    after = [(m.type, getattr(m, "control", None)) for t in mido.MidiFile(file=io.BytesIO(written)).tracks for m in t
             if m.type in ("control_change", "pitchwheel", "aftertouch", "polytouch", "sysex")]
    assert sorted(before, key=str) == sorted(after, key=str) and len(before) == 2 + 16 + 24 + 1
    assert compare_outside(data, written, [region]).ok


def test_karaoke_keeps_lyrics_markers_and_every_meta_event(model) -> None:  # noqa: ANN001
    data = kinds.karaoke()
    score = read_midi(data)
    assert [k.name for k in score.key_signatures] == ["G"]
    _, written, region = _infilled(data, 0, (0, 2), model)  # the track that carries the lyrics
    metas = [m.type for t in mido.MidiFile(file=io.BytesIO(written)).tracks for m in t if m.is_meta]
    for kind in ("lyrics", "marker", "text", "key_signature", "copyright", "cue_marker", "smpte_offset",
                 "sequencer_specific", "instrument_name", "track_name"):
        assert kind in metas, kind
    assert metas.count("lyrics") == 32
    assert compare_outside(data, written, [region]).ok


def test_the_comparison_can_say_bad() -> None:
    """The checker itself: a lost controller, a moved note and a part moved to another channel fail."""
    data = kinds.controllers_and_bends()
    midi = mido.MidiFile(file=io.BytesIO(data))
    lost_cc = mido.MidiFile(ticks_per_beat=midi.ticks_per_beat)
    for k, track in enumerate(midi.tracks):
        new = mido.MidiTrack()
        dropped = False
        for m in track:
            if k == 1 and m.type == "control_change" and m.control == 64 and not dropped:
                dropped = True
                new.append(mido.Message("note_on", channel=0, note=0, velocity=0, time=m.time))  # keep timing
                continue
            new.append(m)
        lost_cc.tracks.append(new)
    buf = io.BytesIO()
    lost_cc.save(file=buf)
    cmp = compare_outside(data, buf.getvalue())
    assert not cmp.ok and len(cmp.events_lost) == 1

    score = read_midi(data)
    moved = score.copy()
    n = moved.tracks[1].notes[0]
    moved.tracks[1].notes[0] = Note(n.start + 1, n.end + 1, n.pitch, n.velocity)
    assert compare_outside(data, score_to_midi_bytes(moved)).notes_lost == 1

    # the old writer's fault: parts given channels by track position, so the bass plays on the piano's
    # channel (program 0): the sounding-program check must see it
    fresh = score.copy()
    fresh.document = None
    fresh.tracks = [Track(t.name, 0 if i == 1 else t.program, t.is_drum, list(t.notes)) for i, t in enumerate(fresh.tracks)]
    cmp = compare_outside(data, score_to_midi_bytes(fresh))
    assert not cmp.ok


def test_a_note_edit_changes_only_that_note() -> None:
    data = kinds.controllers_and_bends()
    score = read_midi(data)
    first = score.tracks[1].notes[3]
    edited = delete_notes(score, [(1, first.start, first.pitch)])
    edited = add_note(edited, 0, Note(5 * BAR + 7, 5 * BAR + 400, 71, 77))
    written = score_to_midi_bytes(edited)
    cmp = compare_outside(data, written)
    assert cmp.notes_lost == 1 and cmp.notes_added == 1 and not cmp.events_lost and not cmp.events_added
    back = read_midi(written)
    assert Note(5 * BAR + 7, 5 * BAR + 400, 71, 77) in back.tracks[0].notes
    assert first not in back.tracks[1].notes


def test_programs_come_from_note_on_and_from_a_setup_track() -> None:
    score = read_midi(kinds.program_change_before_note_off())
    assert [(t.program, len(t.notes)) for t in score.tracks] == [(0, 8), (48, 8)]
    setup = read_midi(kinds.setup_track_programs())
    assert [(t.name, t.program, t.is_drum) for t in setup.tracks] == [("Bass", 33, False), ("Violin", 40, False), ("Drums", 0, True)]
    from engine.analysis.categories import track_category

    assert [track_category(t) for t in setup.tracks][:2] != ["PIANO", "PIANO"]


def test_program_switch_stays_on_its_channel(model) -> None:  # noqa: ANN001
    data = kinds.program_switch()
    score = read_midi(data)
    assert len(score.tracks) == 16 and {t.source[1] for t in score.tracks} == set(range(8))
    _, written, region = _infilled(data, 0, (1, 3), model)
    assert compare_outside(data, written, [region]).ok
    pcs = [(m.channel, m.program) for t in mido.MidiFile(file=io.BytesIO(written)).tracks for m in t if m.type == "program_change"]
    assert sorted(pcs) == sorted([(c, p) for c in range(8) for p in (48, 45)])


def test_tempo_map_merges_every_track_and_keeps_the_song_length(model) -> None:  # noqa: ANN001
    data = kinds.tempo_in_two_tracks()
    score = read_midi(data)
    assert [(t.tick, round(t.bpm)) for t in score.tempos] == [(0, 100), (2 * BAR, 60), (4 * BAR, 60)]
    length = mido.MidiFile(file=io.BytesIO(data)).length
    assert score.tick_to_seconds(8 * BAR) == pytest.approx(length, abs=0.05)
    _, written, region = _infilled(data, 2, (5, 7), model)
    assert mido.MidiFile(file=io.BytesIO(written)).length == pytest.approx(length, abs=1e-6)
    assert compare_outside(data, written, [region]).ok


def test_any_tempo_a_file_can_hold_is_kept_and_odd_events_survive(model) -> None:  # noqa: ANN001
    data = kinds.odd_events()
    score = read_midi(data)
    assert [round(t.bpm) for t in score.tempos] == [100, 2000, 4, 100]
    assert any("key signature" in w for w in load_warnings(score))  # skipped with a warning, not refused
    notes = score.tracks[0].notes
    assert any(n.start == n.end == BAR + 7 for n in notes)  # zero-length note kept
    assert any(n.pitch == 84 and n.end >= n.start for n in notes)  # never released: lasts to the track's end
    out = infill(score, Selection(2, 4, (0,)), n_variations=1, seed=2, model=model)[0]
    written = score_to_midi_bytes(out)
    raw = written[written.index(b"MTrk"):]
    assert b"\xff\x59\x02\x09\x00" in raw and b"\xff\x60\x03abc" in raw  # undecodable events written back
    tol = kinds.TPB // 16
    src = score.tracks[0].source
    assert compare_outside(data, written, [Region(src[0], src[1], 2 * BAR - tol, 4 * BAR - tol)]).ok


def test_meter_before_the_first_time_signature_is_4_4() -> None:
    score = read_midi(kinds.late_time_signature())
    assert score.time_signatures == [TimeSignature(0, 4, 4), TimeSignature(2 * BAR, 3, 4)]
    assert beat_grid(score).n_bars == 8


def test_tempo_class_is_what_a_listener_hears_longest() -> None:
    assert score_tempo_class(read_midi(kinds.slow_section())) == "largo"


def test_header_only_file_is_an_empty_song_with_a_plain_message() -> None:
    score = read_midi(kinds.header_only())
    assert score.tracks == [] and load_warnings(score) == ["the file holds no tracks: it opens as an empty song"]
    assert score_to_midi_bytes(score) == kinds.header_only()


def test_type0_file_edit_keeps_the_other_channels(model) -> None:  # noqa: ANN001
    data = kinds.type0()
    score = read_midi(data)
    assert sorted((t.source[1], t.program) for t in score.tracks) == [(0, 0), (1, 33), (9, 0)]
    piano = next(i for i, t in enumerate(score.tracks) if t.source[1] == 0)
    _, written, region = _infilled(data, piano, (1, 3), model)
    assert mido.MidiFile(file=io.BytesIO(written)).type == 0
    assert compare_outside(data, written, [region]).ok


def test_new_tracks_get_free_channels_and_drums_channel_10() -> None:
    data = kinds.controllers_and_bends()
    score = read_midi(data)
    grown = add_track(add_track(score, "STRINGS"), "DRUMS")
    grown.tracks[-2].notes = [Note(0, 480, 60, 80)]
    grown.tracks[-1].notes = [Note(0, 120, 36, 100)]
    written = score_to_midi_bytes(grown)
    assert compare_outside(data, written).ok
    midi = mido.MidiFile(file=io.BytesIO(written))
    channels = [{m.channel for m in t if hasattr(m, "channel")} for t in midi.tracks]
    assert channels[-2] == {2} and channels[-1] == {9}  # 0, 1 used by piano and bass; drums on 10
    progs = sounding_programs(written)
    assert progs[-2] == [(0, 60, grown.tracks[-2].program)]


def test_when_channels_run_out_only_same_program_parts_share_and_the_user_is_told() -> None:
    data = kinds.gm_16_channels()
    score = read_midi(data)
    same = add_track(score, "BASS")  # program 33 is part 5's (channel 5): share it, no warning
    same.tracks[-1].program = 33
    same.tracks[-1].notes = [Note(0, 480, 40, 80)]
    _, warnings = encode_midi(same)
    assert warnings == []
    written = score_to_midi_bytes(same)
    assert sounding_programs(written)[-1] == [(0, 40, 33)]
    assert compare_outside(data, written).ok
    other = add_track(score, "BRASS")
    other.tracks[-1].program = 61
    other.tracks[-1].notes = [Note(0, 480, 60, 80)]
    _, warnings = encode_midi(other)
    assert len(warnings) == 1 and "channels are taken" in warnings[0]
    assert compare_outside(data, encode_midi(other)[0]).ok  # the others still sound as they did


def test_removing_a_track_removes_only_its_notes() -> None:
    data = kinds.controllers_and_bends()
    score = read_midi(data)
    gone = remove_track(score, 1)  # the bass
    written = score_to_midi_bytes(gone)
    cmp = compare_outside(data, written)
    assert cmp.notes_lost == 32 and not cmp.events_lost  # its pitch bends stay (harmless, nothing sounds)
    assert len(read_midi(written).tracks) == 2


def test_changing_an_instrument_rewrites_that_parts_program_only() -> None:
    data = kinds.controllers_and_bends()
    score = read_midi(data)
    changed = set_track_instrument(score, 0, program=4)
    written = score_to_midi_bytes(changed)
    progs = sounding_programs(written)
    assert {p for _, _, p in progs[1]} == {4} and {p for _, _, p in progs[2]} == {33}


def test_tempo_and_meter_edits_replace_the_map() -> None:
    data = kinds.tempo_in_two_tracks()
    score = read_midi(data)
    edited = score.copy()
    edited.tempos = [TempoChange(0, 90.0)]
    edited.time_signatures = [TimeSignature(0, 3, 4)]
    back = read_midi(score_to_midi_bytes(edited))
    assert [(t.tick, round(t.bpm)) for t in back.tempos] == [(0, 90)]
    assert back.time_signatures == [TimeSignature(0, 3, 4)]
    assert [t.notes for t in back.tracks] == [t.notes for t in score.tracks]


def test_a_song_made_in_memory_is_written_fresh_with_one_program_per_channel(tmp_path) -> None:
    tracks = [Track(f"P{k}", program=k, notes=[Note(0, 480, 60, 80)]) for k in range(17)]
    tracks.append(Track("D", is_drum=True, notes=[Note(0, 60, 36, 100)]))
    score = Score(480, tracks)
    warnings = write_midi(score, tmp_path / "x.mid")
    assert len(warnings) == 2  # programs 15 and 16 find no channel of their own
    progs = sounding_programs((tmp_path / "x.mid").read_bytes())
    assert [p[0][2] for p in progs[1:16]] == list(range(15))


def test_damaged_track_loads_what_it_can_with_a_warning() -> None:
    data = bytearray(kinds.controllers_and_bends())
    cut = bytes(data[: len(data) - 40])  # the last track ends in the middle of an event
    score = read_midi(cut)
    assert load_warnings(score) and score.n_notes > 0


def test_a_saved_and_reopened_project_is_the_same_document(model) -> None:  # noqa: ANN001
    from app.document import ProjectState

    data = kinds.karaoke()
    out, written, region = _infilled(data, 0, (1, 3), model)
    edited = delete_notes(out, [(1, out.tracks[1].notes[0].start, out.tracks[1].notes[0].pitch)])
    back = ProjectState.from_json(ProjectState(edited, "song.mid").to_json()).score
    assert back.document is not None and back == edited
    assert [t.source for t in back.tracks] == [t.source for t in edited.tracks]
    assert score_to_midi_bytes(back) == score_to_midi_bytes(edited)  # every lyric, marker, pedal kept
    cmp = compare_outside(data, score_to_midi_bytes(back), [region])
    assert cmp.notes_lost == 1 and not cmp.events_lost and not cmp.events_added


def test_a_version_1_project_still_opens_and_a_damaged_document_is_named() -> None:
    import base64
    import json

    from app.document import ProjectState

    score = read_midi(kinds.karaoke())
    doc = json.loads(ProjectState(score, "song.mid").to_json())
    doc["version"] = 1
    del doc["document_midi"]
    v1 = ProjectState.from_json(json.dumps(doc).encode(), "old.pdsproj").score
    assert v1.document is None and [t.notes for t in v1.tracks] == [t.notes for t in score.tracks]
    doc["version"] = 2
    doc["document_midi"] = base64.b64encode(b"MThd\x00\x00\x00\x06\x00").decode()
    with pytest.raises(ValueError, match="new.pdsproj: "):
        ProjectState.from_json(json.dumps(doc).encode(), "new.pdsproj")


def test_events_after_end_of_track_and_system_messages_are_kept() -> None:
    """Real files hold a pedal release after a track's end-of-track event, or a sequencer's 0xFC "stop"
    recorded into a track: mido reads both and so must we, and an edit elsewhere keeps them."""
    from engine import smf

    body = bytes([0x00, 0xC0, 0x00, 0x00, 0x90, 60, 90, 0x83, 0x60, 0x80, 60, 0, 0x00, 0xFC,  # a 'stop' byte
                  0x00, 0x90, 62, 90, 0x83, 0x60, 0x80, 62, 0, 0x00, 0xFF, 0x2F, 0x00,
                  0x00, 0xB0, 64, 0])  # a pedal release after the end of track
    data = smf.header_bytes(0, 1, 480) + smf.chunk_bytes(b"MTrk", body)
    score = read_midi(data)
    assert [n.pitch for n in score.tracks[0].notes] == [60, 62] and not load_warnings(score)
    assert score_to_midi_bytes(score) == data
    edited = add_note(score, 0, Note(1920, 2400, 64, 80))
    cmp = compare_outside(data, score_to_midi_bytes(edited))
    assert cmp.notes_added == 1 and not cmp.events_lost and not cmp.notes_lost, cmp.summary()
