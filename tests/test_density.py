"""Part density condition (engine.model.density): the truth in training, the context scaled by the prompts
at sampling, and a network that follows it where the context says nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.diffusion import make_diffusion
from engine.diffusion.base import GuidedModel, drop_prompt
from engine.diffusion.batch import collate, with_density
from engine.model import ModelConfig, SAModel
from engine.model.checkpoint import init_weights_from, save_checkpoint
from engine.model.density import (
    BUCKET_EDGES,
    N_BUCKETS,
    UNKNOWN,
    bucket,
    context_density,
    drop_density,
    guided_factor,
    read_tempo_density,
    tempo_factor,
    truth_density,
)
from engine.representation import vocab as V
from engine.representation.example import SAExample
from tests.test_model import random_example, run

torch.set_num_threads(1)


def test_buckets_rise_with_density_and_zero_or_nan_is_unknown() -> None:
    values = [1, 2, 3, 4, 5, 7, 9, 11, 14, 18, 22, 30, 38, 60]
    got = [bucket(v) for v in values]
    assert got == sorted(got) and len(set(got)) == len(values) == N_BUCKETS - 1
    assert bucket(0) == bucket(float("nan")) == bucket(-2) == UNKNOWN
    assert bucket(BUCKET_EDGES[0]) == 1 and bucket(BUCKET_EDGES[0] + 0.01) == 2


def _part(bars: list[int], slots: int = 6) -> SAExample:
    """Piano (track 1) kept, bass (track 2) generated, in len(bars) bars: bar b's bass plays bars[b] notes
    in its ``slots`` slots (the rest are empty slots)."""
    piano, bass = V.category_token("PIANO"), V.category_token("BASS")
    rows, track, bar = [], [], []
    for b, n in enumerate(bars):
        rows.append([V.CHORD_ROW, V.FIRST_POS, V.chord_token(0, ""), V.bar_length_token(32)])
        track.append(0)
        rows.append([piano, V.FIRST_POS, V.pitch_token(60), V.duration_token(8)])
        track.append(1)
        for k in range(slots):
            rows.append([bass, V.FIRST_POS + 4 * k, V.pitch_token(36), V.duration_token(4)] if k < n
                        else [bass, V.PAD, V.PAD, V.PAD])
            track.append(2)
        bar += [b] * (2 + slots)
    tokens = np.array(rows, dtype=np.int64)
    track_a = np.array(track, dtype=np.int64)
    given = np.ones_like(tokens, dtype=bool)
    given[track_a == 2, 1:] = False
    return SAExample(tokens, given, track_a, np.array(bar, dtype=np.int64), tempo=1)


def test_truth_density_is_the_generated_part_notes_per_bar_it_plays_in() -> None:
    b = collate([_part([4, 2, 0]), _part([0, 0, 0])], 256)
    d = truth_density(b.tokens, b.generate, b.track_id, b.bar_index, b.valid)
    bass = (b.track_id == 2) & b.valid
    # 6 notes over the 2 bars in which the bass plays (the silent bar does not dilute it): bucket(3).
    assert set(d[0][bass[0]].tolist()) == {bucket(3.0)}
    # Kept parts, chord rows and a generated part with no note at all are unknown.
    assert (d[0][~bass[0]] == UNKNOWN).all() and (d[1] == UNKNOWN).all()


def test_density_is_dropped_at_random_and_always_with_the_prompt() -> None:
    d = torch.full((64, 5), 4)
    kept = drop_density(d, 0.3, generator=torch.Generator().manual_seed(0))[:, 0]
    assert 0.1 < (kept == UNKNOWN).float().mean() < 0.5
    assert (drop_density(d, 0.0, dropped_prompt=torch.arange(64) % 2 == 0)[::2] == UNKNOWN).all()
    b = replace(collate([_part([4, 2, 0])] * 8, 256), density=torch.full((8, 24), 5))
    dropped = drop_prompt(b, 1.0)
    assert (dropped.density == UNKNOWN).all() and (b.without_prompt().density == UNKNOWN).all()


def test_tempo_factor_follows_the_training_table() -> None:
    table = {"largo": 2.4, "andante": 2.3, "presto": 1.2}
    assert tempo_factor(table, "largo", "presto") == pytest.approx(0.5)
    assert tempo_factor(table, "presto", "largo") == pytest.approx(2.0)
    assert tempo_factor(table, "largo", None) == tempo_factor(table, "largo", "largo") == 1.0
    assert tempo_factor(None, "largo", "presto") == 1.0 and tempo_factor(table, "largo", "allegro") == 1.0


def test_tempo_density_file_is_read_back_and_a_broken_one_is_none(tmp_path: Path) -> None:
    (tmp_path / "tempo_density.json").write_text('{"notes_per_beat": {"largo": 2.5, "presto": 1.25}}')
    assert read_tempo_density(tmp_path) == {"largo": 2.5, "presto": 1.25}
    (tmp_path / "tempo_density.json").write_text("{not json")
    assert read_tempo_density(tmp_path) is None and read_tempo_density(tmp_path / "none") is None


def test_context_density_reads_the_bars_around_the_region() -> None:
    # Track 0 plays 2 notes in bar 0, 4 in bar 1, none in bar 2, (region bars 3-4: 9 notes), 6 in bar 5.
    bars = np.array([0, 0, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 5, 5, 5, 5, 5, 5])
    tracks = np.zeros(len(bars), dtype=np.int64)
    assert context_density(bars, tracks, 0, 3, 5) == pytest.approx(4.0)  # (2 + 4 + 6) / 3 playing bars
    assert context_density(bars, tracks, 0, 0, 2, near=1) == pytest.approx(7.5)  # bar 2 silent: bars 3, 5
    assert np.isnan(context_density(bars, tracks, 1, 3, 5))  # a part that plays nowhere else


def test_density_embedding_starts_at_zero_and_then_changes_the_output(tmp_path: Path) -> None:
    torch.manual_seed(0)
    old = SAModel(ModelConfig.tiny(pitch_classes=True))
    save_checkpoint(tmp_path / "old", old)
    new = SAModel(ModelConfig.tiny(pitch_classes=True, density_condition=True))
    assert "embedding.density.weight" in init_weights_from(new, tmp_path / "old")
    b = collate([random_example(3), random_example(5)], 256)
    dens = torch.full(b.track_id.shape, 6)
    new.eval()
    with torch.no_grad():
        same = new(b.tokens, b.given, b.track_id, b.bar_index, b.valid, b.tempo, b.instruments,
                   torch.full((2,), 500.0), density=dens)
    for la, lc in zip(run(old, b).logits, same.logits, strict=True):
        assert torch.equal(la, lc)
    with torch.no_grad():
        new.embedding.density.weight.normal_()
        moved = new(b.tokens, b.given, b.track_id, b.bar_index, b.valid, b.tempo, b.instruments,
                    torch.full((2,), 500.0), density=dens)
    assert not torch.allclose(moved.logits[V.COL_ONSET], same.logits[V.COL_ONSET])


def test_guided_model_gives_the_unconditional_half_no_density() -> None:
    model = SAModel(ModelConfig.tiny(density_condition=True))
    b = with_density(collate([_part([4, 2, 0])], 256), [np.full(24, 5)])
    g = GuidedModel(model, b, 2.0)
    assert g.density.shape == (2, 24) and (g.density[0] == 5).all() and (g.density[1] == UNKNOWN).all()


def _notes_sampled(model: SAModel, density: int, seed: int = 0) -> float:
    diffusion = make_diffusion(model.cfg)
    b = collate([_part([3, 3, 3, 3], slots=8)] * 8, 256)
    b = with_density(b, [np.where(np.asarray(b.track_id[0]) == 2, density, UNKNOWN)] * 8)
    tokens = diffusion.sample(model, b, steps=4, guidance=1.0, generator=torch.Generator().manual_seed(seed))
    bass = (b.track_id == 2) & b.valid
    return float(((tokens[..., V.COL_ONSET] >= V.FIRST_POS) & bass).sum()) / 8 / 4  # notes per bar


def test_a_trained_network_plays_as_many_notes_as_the_condition_asks() -> None:
    """Bass parts of 1 to 7 notes a bar under the same piano: only the condition tells them apart, so a
    model trained with it plays sparse or busy on demand, and one trained without it cannot."""
    def train(condition: bool) -> SAModel:
        torch.manual_seed(0)
        cfg = ModelConfig.tiny(density_condition=condition, cond_dropout=0.0)
        model, diffusion = SAModel(cfg), make_diffusion(cfg)
        diffusion.density_dropout = 0.1
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        gen = torch.Generator().manual_seed(0)
        rng = np.random.default_rng(0)
        for _ in range(150):
            counts = rng.integers(1, 8, size=8)
            b = collate([_part([int(n)] * 4, slots=8) for n in counts], 256)
            loss, _ = diffusion.loss(model, b, gen)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return model

    conditioned = train(True)
    sparse, busy = _notes_sampled(conditioned, bucket(1.0)), _notes_sampled(conditioned, bucket(7.0))
    assert busy - sparse > 3.0, (sparse, busy)
    plain = train(False)
    assert abs(_notes_sampled(plain, bucket(7.0)) - _notes_sampled(plain, bucket(1.0))) < 0.5


def test_infill_asks_the_part_density_of_its_context_scaled_by_the_tempo_prompt(monkeypatch) -> None:
    """100 BPM (andante) song: its own class asks the bass's density around the region; presto asks it
    x presto / andante from the model's table; a new part and a model without the option get none."""
    from engine.infill import InfillModel, Prompts, Selection, infill
    from engine.model.density import bucket as bucket_of
    from tests.midi_fixtures import pop_band

    cfg = ModelConfig.tiny(density_condition=True)
    model = InfillModel(SAModel(cfg).eval(), cfg, make_diffusion(cfg),
                        tempo_density={"andante": 2.0, "presto": 0.5, "largo": 4.0})
    seen: list[torch.Tensor | None] = []
    slots: list[int] = []
    real = model.diffusion.sample

    def spy(net, batch, **kw):  # noqa: ANN001, ANN003
        seen.append(None if batch.density is None else batch.density.clone())
        slots.append(int(batch.generate.any(-1).sum()))
        return real(net, batch, **kw)

    monkeypatch.setattr(model.diffusion, "sample", spy)
    score = pop_band(8)
    bass = 2
    own = len(score.tracks[bass].notes) / 8  # the fixture's bass plays the same every bar
    asked, rows = {}, {}
    for name, prompts in (("own", Prompts(novelty=1.0)), ("presto", Prompts(tempo_class="presto", novelty=1.0)),
                          ("largo", Prompts(tempo_class="largo", novelty=1.0)), ("busy", Prompts(density=2.0, novelty=1.0))):
        seen.clear()
        slots.clear()
        infill(score, Selection(2, 6, (bass,)), prompts, guidance=1.0, model=model)
        d = seen[0]
        assert d is not None
        asked[name], rows[name] = set(d[d != UNKNOWN].tolist()), slots[0]
    assert asked["own"] == {bucket_of(own)}
    assert asked["presto"] == {bucket_of(own * 0.25)} and asked["largo"] == {bucket_of(own * 2.0)}
    assert asked["busy"] == {bucket_of(own * 2.0)}
    # The slots follow the tempo class both ways (the network reads density from them above all).
    assert rows["presto"] < rows["own"] < rows["largo"]
    seen.clear()
    infill(score, Selection(2, 6, (), new_tracks=("STRINGS",)), Prompts(novelty=1.0), model=model)
    assert seen[0] is None  # a new part has no density of its own to keep
    plain = InfillModel(SAModel(ModelConfig.tiny()).eval(), ModelConfig.tiny(), make_diffusion(ModelConfig.tiny()))
    monkeypatch.setattr(plain.diffusion, "sample", spy)
    seen.clear()
    infill(score, Selection(2, 6, (bass,)), Prompts(novelty=1.0), model=plain)
    assert seen[0] is None


def test_guided_factor_is_the_log_normal_guidance_product() -> None:
    """factor ** w: w = 0 ignores the prompt, 1 follows it, 2 doubles its log; a prompt that agrees (1) or
    no number is left alone."""
    assert guided_factor(0.5, 0.0) == 1.0
    assert guided_factor(0.5, 1.0) == pytest.approx(0.5)
    assert guided_factor(0.5, 2.0) == pytest.approx(0.25) and guided_factor(2.0, 3.0) == pytest.approx(8.0)
    assert guided_factor(1.0, 3.0) == 1.0
    assert guided_factor(float("nan"), 2.0) == guided_factor(0.0, 2.0) == guided_factor(-1.0, 2.0) == 1.0
    assert guided_factor(0.5, -1.0) == 1.0  # below 0 is read as 0, the unconditional plan


def test_guidance_scales_the_tempo_prompts_density_plan_and_leaves_the_songs_own_alone(monkeypatch) -> None:
    """Presto asks fewer slots and a lower density bucket as guidance rises, largo more; the song's own
    class asks the same at every guidance; with guide_density off the plan ignores guidance (it fails if
    guidance does not reach the plan, or reaches it when the prompt agrees with the song)."""
    from engine.infill import InfillModel, Prompts, Selection, infill
    from tests.midi_fixtures import pop_band

    cfg = ModelConfig.tiny(density_condition=True)
    model = InfillModel(SAModel(cfg).eval(), cfg, make_diffusion(cfg),
                        tempo_density={"andante": 2.0, "presto": 1.6, "largo": 2.6})
    seen: list[tuple[int, int]] = []
    real = model.diffusion.sample

    def spy(net, batch, **kw):  # noqa: ANN001, ANN003
        d = batch.density
        seen.append((int(batch.generate.any(-1).sum()), int(d[d != UNKNOWN].max())))
        return real(net, batch, steps=1, **{k: v for k, v in kw.items() if k != "steps"})

    monkeypatch.setattr(model.diffusion, "sample", spy)
    score = pop_band(8)

    def plan(prompts: Prompts, g: float) -> tuple[int, int]:
        seen.clear()
        infill(score, Selection(2, 6, (1,)), prompts, guidance=g, steps=1, model=model)  # the piano, 12 a bar
        return sum(n for n, _ in seen), max(b for _, b in seen)  # all windows of the region

    presto = [plan(Prompts(tempo_class="presto", novelty=1.0), g) for g in (1.0, 2.0, 3.0)]
    largo = [plan(Prompts(tempo_class="largo", novelty=1.0), g) for g in (1.0, 2.0, 3.0)]
    own = [plan(Prompts(novelty=1.0), g) for g in (1.0, 2.0, 3.0)]
    assert presto[0][0] > presto[1][0] > presto[2][0] and presto[0][1] > presto[2][1]
    assert largo[0][0] < largo[1][0] < largo[2][0] and largo[0][1] < largo[2][1]
    assert own[0] == own[1] == own[2]
    assert plan(Prompts(tempo_class="presto", novelty=1.0), 0.0) == own[0]  # w = 0: the unconditional plan
    flat = [plan(Prompts(tempo_class="presto", novelty=1.0, guide_density=False), g) for g in (1.0, 3.0)]
    assert flat[0] == flat[1] == presto[0]


def test_loose_slots_give_more_empty_slots_and_only_when_asked() -> None:
    """With ``loose_slots`` the slot count says less of the density (up to 150 % extra empty slots instead
    of 50 %); runs without it see exactly the examples they saw before."""
    from engine.representation.encode import encode
    from engine.representation.training_masks import random_training_problem
    from tests.midi_fixtures import pop_band

    enc = encode(pop_band(16))

    def fill(problem) -> float:  # noqa: ANN001 - notes / slots of the regenerated slot rows
        ex = problem.example
        slot = (problem.source_row < 0) & (problem.track_of_row >= 0) & ~ex.given.all(1)
        return float((ex.tokens[slot, V.COL_ONSET] >= V.FIRST_POS).sum() / max(slot.sum(), 1)) if slot.any() else float("nan")

    tight, loose = [], []
    for k in range(60):
        plain = random_training_problem(enc, np.random.default_rng([3, k]))
        same = random_training_problem(enc, np.random.default_rng([3, k]), loose_slots=0.0)
        assert np.array_equal(plain.example.tokens, same.example.tokens)
        tight.append(fill(plain))
        loose.append(fill(random_training_problem(enc, np.random.default_rng([3, k]), loose_slots=1.0)))
    tight_a, loose_a = np.asarray(tight), np.asarray(loose)
    assert np.nanmin(tight_a) >= 0.6  # notes fill at least 1 / 1.5 of the slots (rounding aside)
    assert np.nanmean(loose_a) < np.nanmean(tight_a) - 0.1 and np.nanmin(loose_a) < 0.55


def test_metrical_depth_follows_the_bar_hierarchy() -> None:
    from engine.representation.training_masks import metrical_depth

    got = metrical_depth(np.array([0, 16, 8, 24, 4, 12, 2, 1, 31]))
    assert got.tolist() == [0, 1, 2, 2, 3, 3, 4, 5, 5]


def test_shift_density_thins_one_side_of_the_region_on_its_weakest_onsets() -> None:
    """A part loses its weakest onsets (30-70 % of its notes) either inside the region (the truth gets sparser than
    its context) or around it (the truth is busier); downbeats stay, other parts and chords do not move."""
    from engine.representation.encode import encode
    from engine.representation.masks import Selection
    from engine.representation.training_masks import metrical_depth, shift_density, thin_rows
    from tests.midi_fixtures import pop_band

    enc = encode(pop_band(16))
    track = max(range(enc.n_tracks), key=lambda t: int((enc.track_of_row == t).sum()))
    sel = Selection(4, 8, (track,))
    bar_start = np.asarray(enc.grid.bar_starts)[enc.bar_of_row.clip(0)]
    depth = metrical_depth(enc.position_of_row - bar_start)

    def per_bar(e, inside: bool) -> float:  # noqa: ANN001 - mean notes per bar of the part on one side
        part = e.track_of_row == track
        side = (e.bar_of_row >= 4) & (e.bar_of_row < 8)
        rows = part & (side if inside else ~side)
        return float(rows.sum() / max(len(np.unique(e.bar_of_row[rows])), 1))

    seen = set()
    for k in range(12):
        out = shift_density(enc, sel, np.random.default_rng(k))
        assert out.n_rows < enc.n_rows
        others = enc.track_of_row != track
        assert np.array_equal(out.tokens[out.track_of_row != track], enc.tokens[others])
        thinned_inside = per_bar(out, True) < per_bar(enc, True)
        thinned_outside = per_bar(out, False) < per_bar(enc, False)
        assert thinned_inside != thinned_outside  # exactly one side
        seen.add(thinned_inside)
        # what was dropped is the weakest level the part used on that side; bar starts never go
        kept = {(int(p), int(b)) for p, b, t in zip(out.position_of_row, out.bar_of_row, out.track_of_row, strict=True) if t == track}
        lost = [i for i in np.flatnonzero(enc.track_of_row == track) if (int(enc.position_of_row[i]), int(enc.bar_of_row[i])) not in kept]
        assert lost and all(depth[i] > 0 for i in lost)
        side = (enc.bar_of_row >= 4) & (enc.bar_of_row < 8)
        side = side if thinned_inside else ~side
        kept_rows = [i for i in np.flatnonzero((enc.track_of_row == track) & side) if i not in set(lost)]
        assert max(depth[kept_rows]) < min(depth[lost])  # whole levels go, weakest first
        assert 0.3 <= len(lost) / int(((enc.track_of_row == track) & side).sum()) <= 0.7
    assert seen == {True, False}
    # a part with notes on bar starts only is left alone (thinning would keep nothing)
    only_downbeats = (enc.track_of_row == track) & (depth == 0)
    assert not thin_rows(enc, only_downbeats).any()


def test_density_shift_is_drawn_only_when_asked() -> None:
    from engine.representation.encode import encode
    from engine.representation.training_masks import random_training_problem
    from tests.midi_fixtures import pop_band

    enc = encode(pop_band(16))
    changed = 0
    for k in range(40):
        plain = random_training_problem(enc, np.random.default_rng([5, k]))
        same = random_training_problem(enc, np.random.default_rng([5, k]), density_shift=0.0)
        assert np.array_equal(plain.example.tokens, same.example.tokens)
        shifted = random_training_problem(enc, np.random.default_rng([5, k]), density_shift=1.0)
        changed += int(shifted.example.tokens.shape != plain.example.tokens.shape
                       or not np.array_equal(shifted.example.tokens, plain.example.tokens))
    assert changed >= 10
