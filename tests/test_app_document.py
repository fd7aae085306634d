"""The editor's Qt-free document model: edits, selection, requests, project files, the demo song."""

from __future__ import annotations

import numpy as np
import pytest

from app.document import (
    Document,
    ProjectState,
    PromptSettings,
    RegionSelection,
    TrackArrays,
    add_note,
    add_track,
    bar_at_tick,
    default_export_name,
    delete_notes,
    move_notes,
    notes_outside_region,
    region_ticks,
    remap_keys_after_track_removal,
    remove_track,
)
from engine.analysis.categories import DEFAULT_PROGRAM
from engine.analysis.grid import beat_grid
from engine.demo import demo_score
from engine.score import Note
from tests.midi_fixtures import pop_band, waltz


def test_edits_share_untouched_tracks_and_leave_the_original_alone() -> None:
    score = pop_band(4)
    first = score.tracks[0].notes[0]
    edited = delete_notes(score, [(0, first.start, first.pitch)])
    assert len(edited.tracks[0].notes) == len(score.tracks[0].notes) - 1
    assert first in score.tracks[0].notes  # the original score is a value, never mutated
    assert edited.tracks[1] is score.tracks[1]  # unchanged tracks are shared, so undo costs nothing

    added = add_note(score, 2, Note(0, 240, 40, 90))
    assert Note(0, 240, 40, 90) in added.tracks[2].notes
    moved, keys = move_notes(score, [(0, first.start, first.pitch)], 480, 2)
    assert (0, first.start + 480, first.pitch + 2) in keys
    assert any(n.start == first.start + 480 and n.pitch == first.pitch + 2 for n in moved.tracks[0].notes)


def test_add_and_remove_tracks_remap_locks() -> None:
    score = add_track(pop_band(2), "STRINGS")
    assert score.tracks[-1].category == "STRINGS" and score.tracks[-1].program == DEFAULT_PROGRAM["STRINGS"]
    assert len(remove_track(score, 1).tracks) == len(score.tracks) - 1
    assert remap_keys_after_track_removal({(0, 0, 60), (1, 0, 62), (3, 5, 64)}, 1) == frozenset({(0, 0, 60), (2, 5, 64)})


def test_region_ticks_and_bars_follow_the_grid() -> None:
    score = waltz(6)  # 3/4: a bar is 1440 ticks
    grid = beat_grid(score)
    assert region_ticks(grid, RegionSelection(1, 3)) == (1440, 4320)
    assert bar_at_tick(grid, 1500) == 1
    assert bar_at_tick(grid, 10**6) > grid.n_bars  # bars continue past the end for drawing
    with pytest.raises(ValueError):
        RegionSelection(2, 2)


def test_notes_outside_region() -> None:
    score = pop_band(4)
    sel = RegionSelection(1, 2, (0,))
    outside = notes_outside_region(score, beat_grid(score), sel)
    assert len(outside) == score.n_notes - sum(1 for n in score.tracks[0].notes if 1920 <= n.start < 3840)


def test_build_request_advances_the_seed_so_results_never_repeat() -> None:
    doc = Document(pop_band(4))
    with pytest.raises(ValueError):
        doc.build_request()
    doc.set_selection(RegionSelection(0, 2, (1, 2)))
    doc.set_prompts(PromptSettings(seed=10, n_variations=3, new_tracks=("STRINGS",)))
    first = doc.build_request()
    second = doc.build_request()
    assert first.prompts.seed == 10 and second.prompts.seed == 13
    assert first.instruments == ("PIANO", "BASS", "STRINGS")


def test_track_arrays_cull_by_time() -> None:
    notes = [Note(i * 100, i * 100 + 50, 60 + i % 12) for i in range(1000)] + [Note(0, 90_000, 40)]
    from engine.score import Track

    arrays = TrackArrays(Track("t", notes=notes))
    sl = arrays.visible(50_000, 50_200)
    starts = arrays.starts[sl]
    assert 0 in starts  # the long note that started at 0 still sounds at 50 000
    assert np.all(starts < 50_200)
    assert arrays.pitch_lo <= 40 and arrays.pitch_hi >= 71


def test_project_round_trip_keeps_locks_selection_and_prompts() -> None:
    state = ProjectState(demo_score(), "song.mid", frozenset({(0, 7680, 76)}), RegionSelection(2, 4, (1,)), PromptSettings(seed=42, new_tracks=("BRASS",)))
    back = ProjectState.from_json(state.to_json())
    assert back.score.tracks[0].notes == state.score.tracks[0].notes
    assert back.score.chords == state.score.chords
    assert back.locked == state.locked and back.selection == state.selection
    assert back.prompts.seed == 42 and back.prompts.new_tracks == ("BRASS",)
    with pytest.raises(ValueError, match="not a Pop-Diffuseq Studio project"):
        ProjectState.from_json(b"{\"hello\": 1}")
    with pytest.raises(ValueError):
        ProjectState.from_json(b"\xff\x00garbage")


def test_prompt_settings_clamp_bad_values() -> None:
    p = PromptSettings.from_dict({"n_variations": 99, "attributes": "bogus", "tempo_class": "warp", "new_tracks": ["STRINGS", "KAZOO"], "unknown": 1})
    assert p.n_variations == 8 and p.attributes == "all" and p.tempo_class is None and p.new_tracks == ("STRINGS",)


def test_default_export_name_never_proposes_the_original(tmp_path) -> None:  # noqa: ANN001
    assert default_export_name(tmp_path / "song.mid") == "song-edited.mid"
    assert default_export_name(tmp_path / "song-edited.mid") == "song-edited.mid"
    assert default_export_name(None, "Demo song") == "Demo song-edited.mid"


def test_demo_song_is_deterministic_and_a_full_band(tmp_path) -> None:  # noqa: ANN001
    from engine.demo import write_demo
    from engine.midi_io import read_midi

    a, b = demo_score(), demo_score()
    assert [t.notes for t in a.tracks] == [t.notes for t in b.tracks]
    names = [t.name for t in a.tracks]
    assert names == ["Melody", "Piano", "Bass", "Drums", "Strings"]
    assert a.first_bpm() == 100.0 and beat_grid(a).n_bars >= 16
    back = read_midi(write_demo(tmp_path / "demo.mid"))
    assert [len(t.notes) for t in back.tracks] == [len(t.notes) for t in a.tracks]
    assert back.tracks[3].is_drum
