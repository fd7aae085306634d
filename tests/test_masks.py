"""Mask specs: the editor's selection -> infill problem -> score, and the random training masks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from engine.analysis.grid import beat_grid
from engine.errors import RepresentationError
from engine.midi_io import read_midi, write_midi
from engine.representation.apply import apply_infill, apply_infill_with_report
from engine.representation.encode import encode, note_positions
from engine.representation.masks import (
    CATEGORY_SLOTS,
    InfillProblem,
    Selection,
    build_infill_problem,
    estimate_slots,
    split_selection,
)
from engine.representation.training_masks import (
    MAX_SPAN_BARS,
    STRATEGIES,
    random_training_mask,
    random_training_problem,
)
from engine.representation.vocab import (
    CHORD_ROW,
    FIRST_POS,
    MASK,
    PAD,
    category_token,
    duration_token,
    pitch_token,
)
from engine.representation.windows import windows
from engine.score import Note, Score
from tests import midi_fixtures as fx

TPB = fx.TPB
BAR = 4 * TPB


def band(bars: int = 12) -> Score:
    """pop_band with slightly sloppy timing, so 'untouched' has to mean the original ticks, not quantised ones."""
    score = fx.pop_band(bars=bars)
    for ti, track in enumerate(score.tracks):
        track.notes = [Note(n.start + (i * 7 + ti) % 11, n.end + (i * 5) % 13, n.pitch, n.velocity) for i, n in enumerate(track.notes)]
    return score


def fake_sample(problem: InfillProblem, per_block: int = 2, pitch: int = 50) -> np.ndarray:
    """What a sampler might return: the first ``per_block`` slots of each (bar, track) get notes, the rest PAD;
    pitch-only cells get ``pitch``; rhythm-only cells get onsets on beats."""
    tok = problem.example.tokens.copy()
    gen = ~problem.example.given
    k, last = 0, None
    for i in np.flatnonzero(gen.any(axis=1)):
        key = (int(problem.bar_of_row[i]), int(problem.track_of_row[i]))
        k = k + 1 if key == last else 0
        last = key
        if gen[i, 1]:
            tok[i, 1] = FIRST_POS + 8 * (k % 4)
        if gen[i, 2]:
            tok[i, 2] = pitch_token(pitch + k)
        if gen[i, 3]:
            tok[i, 3] = duration_token(2)
        if gen[i].all() or (gen[i, 1:].all() and k >= per_block):
            tok[i, 1:] = PAD
    return tok


def _outside(score: Score, track: int, lo: int, hi: int) -> list[Note]:
    grid = beat_grid(score)
    notes = score.tracks[track].notes
    pos = note_positions(grid, np.asarray([n.start for n in notes])) if notes else np.zeros(0)
    return [n for n, p in zip(notes, pos.tolist(), strict=True) if not lo <= p < hi]


def test_all_mode_replaces_rows_by_slots_with_only_the_instrument_given() -> None:
    enc = encode(band())
    sel = Selection(4, 6, (1,), new_tracks=("STRINGS",))
    p = build_infill_problem(enc, sel, max_rows=256)
    ex = p.example
    assert ex.n_rows <= 256 and p.truncated_rows == 0
    assert p.slots == {1: 15, 5: CATEGORY_SLOTS["STRINGS"]}  # 12 piano notes per bar x 1.25
    gen = p.generated_rows
    assert (ex.given[gen] == [True, False, False, False]).all()
    assert (ex.tokens[gen, 1:] == MASK).all()
    assert ex.given[~gen].all()
    for bar in (4, 5):
        rows = p.bar_of_row == bar
        assert (p.track_of_row[rows & gen] == 1).sum() == 15 and (p.track_of_row[rows & gen] == 5).sum() == 6
        assert not ((p.track_of_row == 1) & rows & ~gen).any()  # the old piano rows are gone
        assert p.track_of_row[rows][-1] == 5  # new tracks come last in the bar
    assert (ex.tokens[p.track_of_row == 5, 0] == category_token("STRINGS")).all()
    assert (ex.tokens[p.track_of_row == -1, 0] == CHORD_ROW).all()
    # context on both sides, balanced
    before, after = 4 - p.window_start_bar, p.window_end_bar - 6
    assert before >= 1 and after >= 1 and abs(before - after) <= 1
    assert ex.bar_index.min() == 0 and ex.bar_index.max() == p.window_end_bar - p.window_start_bar - 1
    assert ex.instruments.sum() == 6  # melody, piano, bass, drums, ensemble (program 48), strings (new)


def test_apply_all_changes_only_the_region(tmp_path: Path) -> None:
    score = band()
    enc = encode(score)
    sel = Selection(4, 6, (1, 3), new_tracks=("STRINGS",))
    p = build_infill_problem(enc, sel, max_rows=256)
    out, report = apply_infill_with_report(score, p, fake_sample(p))
    lo, hi = 4 * 32, 6 * 32
    for t in range(len(score.tracks)):
        if t in (1, 3):
            kept, orig = _outside(out, t, lo, hi), _outside(score, t, lo, hi)
            assert len(kept) == len(orig) and {id(n) for n in kept} == {id(n) for n in orig}  # the same objects
            inside = [n for n in out.tracks[t].notes if 4 * BAR <= n.start < 6 * BAR]
            assert len(inside) == 4  # two slots filled per bar, the rest PAD
            assert {n.pitch for n in inside} == {50, 51}
        else:
            assert out.tracks[t].notes == score.tracks[t].notes
            assert all(a is b for a, b in zip(out.tracks[t].notes, score.tracks[t].notes, strict=True))
    assert {n.velocity for n in out.tracks[1].notes if 4 * BAR <= n.start < 6 * BAR} == {70}  # the piano's median
    strings = out.tracks[5]
    assert (strings.program, strings.category, len(strings.notes)) == (40, "STRINGS", 4)
    assert report.n_notes == 12 and report.n_skipped == 0 and report.n_pad_rows == 2 * (15 + 15 + 6) - 12
    assert len(score.tracks) == 5  # the input is not modified
    # What a user exports: outside the region, the same notes as the original file.
    write_midi(score, tmp_path / "before.mid")
    write_midi(out, tmp_path / "after.mid")
    before, after = read_midi(tmp_path / "before.mid"), read_midi(tmp_path / "after.mid")
    for t in range(5):
        assert Counter(_outside(after, t, lo, hi)) == Counter(_outside(before, t, lo, hi))


def test_pitch_mode_keeps_ticks_and_velocities() -> None:
    score = band(6)
    p = build_infill_problem(encode(score), Selection(2, 3, (0,), "pitch"), max_rows=256)
    gen = p.generated_rows
    assert (p.example.given[gen] == [True, True, False, True]).all()
    out = apply_infill(score, p, fake_sample(p, pitch=60))
    old = [n for n in score.tracks[0].notes if 2 * BAR <= n.start < 3 * BAR]
    new = [n for n in out.tracks[0].notes if 2 * BAR <= n.start < 3 * BAR]
    assert [(n.start, n.end, n.velocity) for n in new] == [(n.start, n.end, n.velocity) for n in old]
    assert [n.pitch for n in new] == [60, 61, 62, 63]
    assert out.tracks[1].notes == score.tracks[1].notes


def test_rhythm_mode_keeps_pitches() -> None:
    score = band(6)
    p = build_infill_problem(encode(score), Selection(2, 3, (2,), "rhythm"), max_rows=256)
    assert (p.example.given[p.generated_rows] == [True, False, True, False]).all()
    out = apply_infill(score, p, fake_sample(p))
    old = sorted(n.pitch for n in score.tracks[2].notes if 2 * BAR <= n.start < 3 * BAR)
    new = [n for n in out.tracks[2].notes if 2 * BAR <= n.start < 3 * BAR]
    assert sorted(n.pitch for n in new) == old
    assert [n.start for n in new] == [2 * BAR + i * TPB for i in range(4)]
    assert {n.velocity for n in new} == {95}  # the original velocities


def test_locked_notes_stay_given_and_untouched() -> None:
    score = band(6)
    keep = score.tracks[1].notes[3 * 12 : 3 * 12 + 2]  # two piano notes of bar 3
    sel = Selection(3, 4, (1,), locked_notes=frozenset((1, n.start, n.pitch) for n in keep))
    p = build_infill_problem(encode(score), sel, max_rows=256)
    locked_rows = (p.track_of_row == 1) & (p.bar_of_row == 3) & ~p.generated_rows
    assert locked_rows.sum() == 2
    out = apply_infill(score, p, fake_sample(p))
    inside = [n for n in out.tracks[1].notes if 3 * BAR <= n.start < 4 * BAR]
    assert all(any(n is k for n in inside) for k in keep) and len(inside) == 4


def test_slot_estimates() -> None:
    enc = encode(band())
    sel = Selection(4, 6)
    assert estimate_slots(enc, 1, sel) == 15  # 12 chord notes per bar
    assert estimate_slots(enc, 0, sel) == 5  # 4 melody notes per bar -> 5
    assert estimate_slots(enc, 4, sel) == 4  # 3 string notes -> 4, the minimum
    assert estimate_slots(enc, enc.n_tracks, sel, "DRUMS") == CATEGORY_SLOTS["DRUMS"]
    p = build_infill_problem(enc, Selection(4, 5, (1,)), slots_per_bar={1: 7}, max_rows=256)
    assert p.generated_rows.sum() == 7


def test_invalid_selections_explain_themselves() -> None:
    enc = encode(band(4))
    for sel, words in [
        (Selection(2, 9), "outside"),
        (Selection(1, 2, (7,)), "do not all exist"),
        (Selection(1, 2, (0,), "pitch", new_tracks=("BRASS",)), "only be generated in full"),
        (Selection(1, 2, (0,), new_tracks=("KAZOO",)), "unknown instrument"),
        (Selection(0, 4), "split the selection"),
    ]:
        with pytest.raises(RepresentationError, match=words):
            build_infill_problem(enc, sel, max_rows=128)


def test_split_selection_chains_through_the_score() -> None:
    score = band(12)
    sel = Selection(1, 11, (0, 2), new_tracks=("BRASS",))
    parts = split_selection(encode(score), sel, max_rows=128)
    assert len(parts) > 1 and parts[0].start_bar == 1 and parts[-1].end_bar == 11
    assert all(a.end_bar == b.start_bar for a, b in zip(parts, parts[1:], strict=False))
    assert parts[0].new_tracks == ("BRASS",) and all(p.tracks == (0, 2, 5) and not p.new_tracks for p in parts[1:])
    for part in parts:
        problem = build_infill_problem(encode(score), part, max_rows=128)
        assert problem.example.n_rows <= 128
        assert problem.window_start_bar < part.start_bar or part.start_bar == 0  # earlier bars are context
        score = apply_infill(score, problem, fake_sample(problem, per_block=1))
    assert len(score.tracks) == 6
    brass_bars = {n.start // BAR for n in score.tracks[5].notes}
    assert brass_bars == set(range(1, 11))
    assert {n.start // BAR for n in score.tracks[0].notes if n.pitch in (50, 51)} == set(range(1, 11))


def test_sampled_garbage_is_skipped_and_counted() -> None:
    score = band(4)
    p = build_infill_problem(encode(score), Selection(1, 2, (2,)), max_rows=256)
    tok = fake_sample(p, per_block=8)
    gen = np.flatnonzero(p.generated_rows)
    tok[gen[0], 1] = FIRST_POS + 40  # beyond the 32-long bar
    tok[gen[1], 2] = PAD
    tok[gen[2], 0] = category_token("BRASS")  # a given cell: ignored, the problem's token wins
    out, report = apply_infill_with_report(score, p, tok)
    assert report.n_skipped == 2 and report.skipped["onset beyond the bar"] == 1
    assert len([n for n in out.tracks[2].notes if BAR <= n.start < 2 * BAR]) == 3


def _check_training_example(p: InfillProblem, max_rows: int) -> None:
    ex = p.example
    assert ex.n_rows <= max_rows
    patterns = {tuple(r) for r in ex.given.tolist()}
    assert patterns <= {(True,) * 4, (True, False, False, False), (True, True, False, True), (True, False, True, False)}
    assert (ex.tokens >= 0).all() and not (ex.tokens == MASK).any()  # targets everywhere
    slots = ex.given[:, 0] & ~ex.given[:, 1:].any(axis=1)
    for bar in np.unique(p.bar_of_row[slots]):
        for t in np.unique(p.track_of_row[slots & (p.bar_of_row == bar)]):
            block = ex.tokens[slots & (p.bar_of_row == bar) & (p.track_of_row == t)]
            is_pad = (block[:, 1:] == PAD).all(axis=1)
            assert not (np.diff(is_pad.astype(int)) < 0).any()  # real notes first, PAD after
            assert is_pad.sum() <= max(4, int(np.ceil(0.5 * (~is_pad).sum())))


def test_random_training_masks_are_deterministic_and_in_distribution() -> None:
    enc = encode(band(16))
    a = random_training_mask(enc, np.random.default_rng(7), 256)
    b = random_training_mask(enc, np.random.default_rng(7), 256)
    assert np.array_equal(a.tokens, b.tokens) and np.array_equal(a.given, b.given)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(150):
        p = random_training_problem(enc, rng, 256)
        _check_training_example(p, 256)
        seen.add((p.selection.attributes, len(p.selection.tracks or ()), bool(p.selection.locked_notes)))
    assert {a for a, _, _ in seen} == {"all", "pitch", "rhythm"}
    assert any(locked for _, _, locked in seen)
    assert len(STRATEGIES) == 6


def test_training_masks_for_each_strategy() -> None:
    enc = encode(band(10))
    for k, name in enumerate(STRATEGIES):
        weights = tuple(1.0 if i == k else 0.0 for i in range(len(STRATEGIES)))
        for seed in range(5):
            p = random_training_problem(enc, np.random.default_rng(seed), 200, weights)
            _check_training_example(p, 200)
            sel = p.selection
            if name == "melody":
                assert sel.tracks == (0,)
            elif name == "drums":
                assert sel.tracks == (3,)
            elif name == "accompaniment":
                assert sel.tracks == (1, 2, 3, 4)
            elif name == "attribute":
                assert sel.attributes in ("pitch", "rhythm")


def test_thin_context_reaches_further_into_the_regenerated_part() -> None:
    """Far bars keep only the chord rows and the selected part, so the same 256 rows hold more of the
    bass's own past; near bars and the region itself are exactly what the full layout gives."""
    score = band(24)
    enc = encode(score)
    sel = Selection(16, 18, (2,))  # the bass, bars 17-18
    full = build_infill_problem(enc, sel, max_rows=256)
    thin = build_infill_problem(enc, sel, max_rows=256, thin_context=True)
    assert thin.example.n_rows <= 256
    assert thin.window_start_bar <= full.window_start_bar - 4
    far = (thin.bar_of_row < sel.start_bar - 1) | (thin.bar_of_row >= sel.end_bar + 1)
    assert set(thin.track_of_row[far].tolist()) == {-1, 2}
    for b in range(sel.start_bar - 1, sel.end_bar + 1):  # near bars and the region: the full layout's rows
        rows_t, rows_f = thin.bar_of_row == b, full.bar_of_row == b
        assert np.array_equal(thin.example.tokens[rows_t], full.example.tokens[rows_f])
        assert np.array_equal(thin.example.given[rows_t], full.example.given[rows_f])
    out = apply_infill(score, thin, fake_sample(thin))  # the contract holds: only the region changes
    lo, hi = sel.start_bar * 32, sel.end_bar * 32
    for t in range(len(score.tracks)):
        if t == 2:
            assert _outside(out, t, lo, hi) == _outside(score, t, lo, hi)
        else:
            assert out.tracks[t].notes == score.tracks[t].notes


def test_training_masks_thin_only_when_asked() -> None:
    """thin_context=0 draws nothing extra (old runs see the very same examples); 1 thins every example."""
    enc = encode(band(24))
    span = tuple(1.0 if s == "span" else 0.0 for s in STRATEGIES)
    grew = []
    for seed in range(6):
        a = random_training_problem(enc, np.random.default_rng(seed), 256, span)
        b = random_training_problem(enc, np.random.default_rng(seed), 256, span, thin_context=0.0)
        assert np.array_equal(a.example.tokens, b.example.tokens)
        t = random_training_problem(enc, np.random.default_rng(seed), 256, span, thin_context=1.0)
        _check_training_example(t, 256)
        sel = t.selection
        far = (t.bar_of_row < sel.start_bar - 1) | (t.bar_of_row >= sel.end_bar + 1)
        assert set(t.track_of_row[far].tolist()) <= {-1, *sel.tracks}
        grew.append(len(np.unique(t.bar_of_row)) - len(np.unique(a.bar_of_row)))
    assert min(grew) >= 0 and max(grew) >= 4, grew  # never fewer bars; a one-track span reaches far


def test_part_spans_cut_whole_part_selections_only_when_asked() -> None:
    """With part_spans the tracks/melody/accompaniment/drums strategies sometimes select a shorter span of
    the window, so the part is heard around the region; at 0 the examples are the ones drawn before."""
    enc = encode(band(24))
    whole_parts = tuple(0.0 if s in ("span", "attribute") else 1.0 for s in STRATEGIES)
    shorter = 0
    for seed in range(8):
        a = random_training_problem(enc, np.random.default_rng(seed), 256, whole_parts)
        b = random_training_problem(enc, np.random.default_rng(seed), 256, whole_parts, part_spans=0.0)
        assert np.array_equal(a.example.tokens, b.example.tokens) and a.selection == b.selection
        c = random_training_problem(enc, np.random.default_rng(seed), 256, whole_parts, part_spans=1.0)
        _check_training_example(c, 256)
        wins = windows(enc, 256)
        win = wins[int(np.random.default_rng(seed).integers(len(wins)))]  # the draw both examples start with
        sa, sc = a.selection, c.selection
        assert sa.start_bar == win.start_bar  # the whole window (shortened from its end if too many rows)
        assert win.start_bar <= sc.start_bar and sc.end_bar <= win.end_bar  # a span of the same window
        assert 1 <= sc.end_bar - sc.start_bar <= min(MAX_SPAN_BARS, win.end_bar - win.start_bar - 1)
        selected = np.isin(c.track_of_row, sc.tracks)
        outside = (c.bar_of_row < sc.start_bar) | (c.bar_of_row >= sc.end_bar)
        shorter += bool((selected & outside).any())  # the selected part is heard outside the region
    assert shorter >= 6, shorter
