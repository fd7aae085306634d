"""The infill API: only the selection changes, seeds are deterministic, cancel and progress work, long
selections are done in parts, and a tiny model that memorised a song gives its hidden track back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.diffusion import SamplingCancelled, collate
from engine.errors import CheckpointError, RepresentationError
from engine.infill import Prompts, Selection, infill, load_model
from engine.midi_io import read_midi, write_midi
from engine.model.checkpoint import save_checkpoint
from engine.representation.encode import encode
from engine.representation.masks import build_problem
from tests.midi_fixtures import pop_band
from tests.model_fixtures import plausible_model, tiny_model

BASS = 2


_model = tiny_model
_plausible_model = plausible_model


def _notes(score, track):
    return sorted((n.start, n.end, n.pitch, n.velocity) for n in score.tracks[track].notes)


def _bar_ticks(bars: int) -> int:
    return bars * 4 * 480


@pytest.mark.parametrize("kind", ["absorbing", "embedding"])
def test_only_the_selected_region_changes_and_survives_export(tmp_path, kind):
    score = pop_band(8)
    sel = Selection(2, 6, (BASS, 3))
    model = _model(kind) if kind == "embedding" else _plausible_model()
    out = infill(score, sel, n_variations=2, seed=3, model=model)
    assert any(_notes(v, BASS) != _notes(score, BASS) for v in out)
    assert len(out) == 2
    for variation in out:
        path = tmp_path / "v.mid"
        write_midi(variation, path)
        back = read_midi(path)
        for t in range(len(score.tracks)):
            outside_old = [n for n in _notes(score, t) if not (t in (BASS, 3) and _bar_ticks(2) <= n[0] < _bar_ticks(6))]
            outside_new = [n for n in _notes(back, t) if not (t in (BASS, 3) and _bar_ticks(2) <= n[0] < _bar_ticks(6))]
            assert outside_new == outside_old, f"track {t} changed outside the selection"
    assert _notes(score, BASS) == _notes(pop_band(8), BASS), "the input score was modified"


def test_same_seed_same_result_other_seed_other_result():
    model, score, sel = _plausible_model(), pop_band(6), Selection(1, 5, (BASS,))
    a = infill(score, sel, seed=11, model=model, temperature=1.0)
    b = infill(score, sel, seed=11, model=model, temperature=1.0)
    c = infill(score, sel, seed=12, model=model, temperature=1.0)
    assert _notes(a[0], BASS) and _notes(a[0], BASS) == _notes(b[0], BASS)
    assert _notes(a[0], BASS) != _notes(c[0], BASS)


def test_variations_differ_from_each_other():
    out = infill(pop_band(6), Selection(0, 6, (0,)), n_variations=3, seed=5, model=_plausible_model())
    assert all(_notes(v, 0) for v in out), "the biased model should produce notes"
    assert len({tuple(_notes(v, 0)) for v in out}) == 3


def test_progress_reaches_the_total_and_cancel_stops():
    calls: list[tuple[int, int]] = []
    infill(pop_band(4), Selection(0, 4, (BASS,)), steps=6, model=_model(), progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (6, 6) and [d for d, _ in calls] == list(range(1, 7))
    seen = []

    def cancel() -> bool:
        seen.append(1)
        return len(seen) > 2

    with pytest.raises(SamplingCancelled):
        infill(pop_band(4), Selection(0, 4, (BASS,)), steps=10, model=_model(), cancel=cancel)
    assert len(seen) == 3


def test_long_selection_is_done_in_parts_and_keeps_the_rest():
    score = pop_band(48)  # piano alone has 48 rows per bar: far more than one 256-row window
    calls: list[tuple[int, int]] = []
    out = infill(score, Selection(0, 48, (1,)), steps=2, model=_model(), progress=lambda d, t: calls.append((d, t)))
    total = calls[-1][1]
    assert total > 2 and total % 2 == 0, "the selection should have been split into several parts"
    for t in (0, 2, 3, 4):
        assert _notes(out[0], t) == _notes(score, t)


def test_new_track_is_added_with_its_category():
    out = infill(pop_band(4), Selection(0, 4, None, new_tracks=("STRINGS",)), model=_model())
    assert len(out[0].tracks) == 6
    assert out[0].tracks[-1].program == 40 and not out[0].tracks[-1].is_drum


def test_bad_requests_give_clear_errors(tmp_path):
    with pytest.raises(RepresentationError, match="outside"):
        infill(pop_band(4), Selection(2, 9, (BASS,)), model=_model())
    with pytest.raises(ValueError, match="tempo class"):
        Prompts(tempo_class="fast")
    with pytest.raises(CheckpointError, match="no model"):
        load_model(tmp_path)


def test_checkpoint_round_trip_through_load_model(tmp_path):
    m = _plausible_model()
    save_checkpoint(tmp_path / "ckpt", m.model)
    loaded = load_model(tmp_path / "ckpt", "cpu", "fp32")  # the weights round trip: no int8 rounding
    a = infill(pop_band(4), Selection(0, 4, (BASS,)), seed=1, model=m)
    b = infill(pop_band(4), Selection(0, 4, (BASS,)), seed=1, model=loaded)
    assert _notes(a[0], BASS) and _notes(a[0], BASS) == _notes(b[0], BASS)


def test_tiny_model_memorises_a_song_and_gives_the_hidden_track_back():
    """Train on 'everything given but the bass' for one 4-bar song, then ask the infill API for the bass."""
    torch.manual_seed(0)
    score = pop_band(4)
    enc = encode(score)
    sel = Selection(0, 4, (BASS,))
    slots = 8  # what the editor path estimates for a bass with no context (CATEGORY_SLOTS["BASS"])
    problem = build_problem(enc, sel, lambda bar, track: slots, 256, targets=True)
    model = _model()
    model.model.train()
    batch = collate([problem.example] * 8, 256)
    opt = torch.optim.AdamW(model.model.parameters(), lr=1e-3, weight_decay=0.0)
    g = torch.Generator().manual_seed(0)
    for _ in range(600):
        loss, _ = model.diffusion.loss(model.model, batch, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.model.eval()
    out = infill(score, sel, n_variations=1, guidance=1.0, temperature=0.0, seed=0, model=model)
    want = {(n.start, n.pitch) for n in score.tracks[BASS].notes}
    got = {(n.start, n.pitch) for n in out[0].tracks[BASS].notes}
    recall = len(want & got) / len(want)
    precision = len(want & got) / max(len(got), 1)
    assert recall >= 0.9 and precision >= 0.9, f"recall {recall:.2f}, precision {precision:.2f}"
    assert np.isfinite(loss.item())


def test_thin_context_follows_the_training_run_and_keeps_the_contract(tmp_path):
    """A checkpoint trained with thinned far context is infilled with it (unless asked otherwise); either
    way only the selection changes. The window really differs: the two layouts give other samples."""
    m = _plausible_model()
    save_checkpoint(tmp_path / "plain", m.model, {"train_config": {"thin_context": 0.0}})
    save_checkpoint(tmp_path / "thin", m.model, {"train_config": {"thin_context": 0.5}})
    assert not load_model(tmp_path / "plain").thin_context
    thin = load_model(tmp_path / "thin")
    assert thin.thin_context
    score = pop_band(24)
    sel = Selection(16, 18, (BASS,))
    auto = infill(score, sel, seed=4, model=thin)[0]
    on = infill(score, sel, seed=4, model=thin, thin_context=True)[0]
    off = infill(score, sel, seed=4, model=thin, thin_context=False)[0]
    assert _notes(auto, BASS) == _notes(on, BASS) != _notes(off, BASS)
    lo, hi = _bar_ticks(16), _bar_ticks(18)
    for out in (on, off):
        for t in range(len(score.tracks)):
            kept = [n for n in _notes(out, t) if t != BASS or not lo <= n[0] < hi]
            orig = [n for n in _notes(score, t) if t != BASS or not lo <= n[0] < hi]
            assert kept == orig


def test_long_band_request_uses_one_slot_count_for_all_its_parts():
    """Melody -> band over 16 bars of the demo song (its last bar is denser than the rest): before, each
    part re-estimated its slots from its own outside bars, more than the split had planned for, and the
    first part overflowed the window (RepresentationError). Slots are now fixed once per request; the
    melody and the bar after the selection are untouched."""
    from engine.demo import demo_score

    score = demo_score()
    bar = 4 * score.ticks_per_beat
    calls: list[tuple[int, int]] = []
    out = infill(score, Selection(0, 16, (1, 2, 3, 4)), n_variations=2, steps=1, model=_plausible_model(),
                 progress=lambda d, t: calls.append((d, t)))
    assert len(out) == 2 and all(len(v.tracks) == 5 for v in out)
    assert calls[-1][0] == calls[-1][1] >= 2, "16 bars of this band take more than one window"
    for v in out:
        assert _notes(v, 0) == _notes(score, 0)
        for t in (1, 2, 3, 4):
            assert [n for n in _notes(v, t) if n[0] >= 16 * bar] == [n for n in _notes(score, t) if n[0] >= 16 * bar]


def test_many_parts_share_rounds_and_new_tracks_come_first():
    score = pop_band(48)
    calls: list[tuple[int, int]] = []
    out = infill(score, Selection(0, 48, (1,), new_tracks=("BRASS",)), steps=1, model=_model(),
                 progress=lambda d, t: calls.append((d, t)))
    from engine.representation.encode import encode
    from engine.representation.masks import split_selection

    n_parts = len(split_selection(encode(score), Selection(0, 48, (1,), new_tracks=("BRASS",)), None, 256))
    rounds = calls[-1][1]
    assert n_parts >= 4 and rounds < n_parts, f"{n_parts} parts should share rounds, got {rounds}"
    assert len(out[0].tracks) == 6 and out[0].tracks[5].category == "BRASS"
    for t in (0, 2, 3, 4):
        assert _notes(out[0], t) == _notes(score, t)
