"""Evaluation: rebuilding test songs, task regions, baselines, and the evaluate command end to end on a
tiny dataset written by the test (with an untrained tiny checkpoint and without a model)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.analysis.grid import beat_grid
from engine.data.build import dataset_main
from engine.data.shards import SongStore
from engine.evaluate.baselines import BASELINES, copy_previous, random_in_key, run_baseline, source_bars
from engine.evaluate.cli import evaluate_main
from engine.evaluate.metrics import METRIC_NAMES, Region, chord_table, region_metrics, score_notes
from engine.evaluate.tasks import TASKS, bar_note_counts, load_song, make_selection, parse_tasks, plan_tasks
from engine.representation.encode import encode, note_positions
from engine.representation.masks import Selection
from engine.score import Note, Score
from tests.midi_fixtures import pop_band, waltz, write


def _transposed(score: Score, k: int) -> Score:
    s = score.copy()
    for t in s.tracks:
        if not t.is_drum:
            t.notes = [Note(n.start, n.end, n.pitch + k, n.velocity) for n in t.notes]
    return s


def _no_drums(score: Score) -> Score:
    s = score.copy()
    s.tracks = [t for t in s.tracks if not t.is_drum]
    return s


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four small songs (two band songs of 20 bars, one without drums, a waltz), all in 'test', and two
    more in 'valid' for the perplexity."""
    root = tmp_path_factory.mktemp("evalds")
    src = root / "midi"
    src.mkdir()
    write(_transposed(pop_band(bars=20), 2), src, "band_a.mid")
    write(_transposed(pop_band(bars=18), -3), src, "band_b.mid")
    write(_no_drums(pop_band(bars=12)), src, "nodrums.mid")
    write(waltz(bars=10), src, "waltz.mid")
    out = root / "ds"
    assert dataset_main(["build", "--midi-folder", str(src), "--out", str(out), "--workers", "1",
                         "--split", "0/0/100", "--quiet"]) == 0
    return out


def test_song_score_round_trips_the_stored_encoding(tiny_dataset: Path) -> None:
    store = SongStore(tiny_dataset, "test")
    assert len(store) == 4
    for i in range(len(store)):
        song = load_song(store, i)
        stored = store.encoding(i)
        again = encode(song.score)
        assert again.categories == stored.categories and again.tempo == stored.tempo
        assert np.array_equal(again.tokens, stored.tokens), store.meta(i)["id"]
        assert np.array_equal(again.track_of_row, stored.track_of_row)
        assert np.array_equal(again.velocity_of_row, stored.velocity_of_row)
        assert np.array_equal(beat_grid(song.score).bar_starts, stored.grid.bar_starts)


def test_tasks_are_seeded_and_skips_are_counted(tiny_dataset: Path) -> None:
    store = SongStore(tiny_dataset, "test")
    songs = [load_song(store, i) for i in range(len(store))]
    plan = plan_tasks(songs, TASKS, seed=0)
    again = plan_tasks(songs, TASKS, seed=0)
    assert [(c.task, c.song_id, c.selection) for c in plan.cases] == [(c.task, c.song_id, c.selection) for c in again.cases]
    by_task = {t: [c for c in plan.cases if c.task == t] for t in TASKS}
    assert len(by_task["drums"]) == 2 and plan.skipped["drums"]["no drums"] == 2
    assert len(by_task["whole_track"]) == 2  # only the two 18-20 bar songs have 17 full bars
    assert sum(plan.skipped["whole_track"].values()) == 2
    for case in plan.cases:
        song = songs[case.song]
        sel = case.selection
        assert sel.end_bar - sel.start_bar == {"whole_track": 16, "span": 4}.get(case.task, 8)
        assert song.first_bar <= sel.start_bar and sel.end_bar <= song.end_bar - 1
        cats = [song.categories[t] for t in sel.tracks]
        if case.task == "melody":
            assert cats == ["MELODY"]
        elif case.task == "accompaniment":
            assert "MELODY" not in cats and len(cats) == len(song.categories) - 1
        elif case.task == "drums":
            assert cats == ["DRUMS"]
        elif case.task == "whole_track":
            assert len(cats) == 1 and cats != ["MELODY"]
        else:
            assert 1 <= len(cats) <= 2
    # A song too short for any task is skipped with its reason.
    short = songs[0]
    from dataclasses import replace

    tiny = replace(short, end_bar=short.first_bar + 5)
    assert make_selection("melody", tiny, bar_note_counts(tiny), np.random.default_rng(0)) == "fewer than 9 full bars"
    assert parse_tasks("all") == TASKS and parse_tasks("melody, drums") == ("melody", "drums")
    with pytest.raises(ValueError):
        parse_tasks("melodies")


def _outside(score: Score, sel: Selection) -> list[list[Note]]:
    grid = beat_grid(score)
    lo, hi = grid.bar_starts[sel.start_bar], grid.bar_starts[sel.end_bar]
    out = []
    for t, tr in enumerate(score.tracks):
        pos = note_positions(grid, np.asarray([n.start for n in tr.notes], dtype=np.int64)) if tr.notes else np.zeros(0)
        selected = t in (sel.tracks or ())
        kept = [n for n, p in zip(tr.notes, pos.tolist(), strict=True) if not (selected and lo <= p < hi)]
        out.append(sorted(kept, key=lambda n: (n.start, n.pitch, n.end, n.velocity)))
    return out


@pytest.mark.parametrize("sel", [Selection(4, 8, (0, 2)), Selection(0, 3, (1,)), Selection(5, 11, (3,))])
@pytest.mark.parametrize("name", BASELINES)
def test_baselines_change_only_the_region(name: str, sel: Selection) -> None:
    song = pop_band(bars=12)
    grid = beat_grid(song)
    results = run_baseline(name, song, sel, n_variations=2, seed=3, grid=grid)
    assert len(results) == 2
    lo_tick, hi_tick = grid.position_to_tick(grid.bar_starts[sel.start_bar]), grid.position_to_tick(grid.bar_starts[sel.end_bar])
    for res in results:
        assert len(res.tracks) == len(song.tracks)
        assert _outside(res, sel) == _outside(song, sel)  # every other note is untouched
        for t in sel.tracks or ():
            region = [n for n in res.tracks[t].notes if n not in _outside(res, sel)[t]]
            assert region, "the baseline wrote no note"
            assert all(lo_tick <= n.start < hi_tick and n.end <= hi_tick for n in region)
        for t in range(len(song.tracks)):
            if t not in (sel.tracks or ()):
                assert res.tracks[t].notes == song.tracks[t].notes
    assert song.tracks[0].notes == pop_band(bars=12).tracks[0].notes  # the input is not modified


def test_copy_previous_repeats_a_periodic_song_exactly() -> None:
    song = pop_band(bars=12)  # a 4-bar loop: copying the previous 4 bars gives back the ground truth
    grid = beat_grid(song)
    sel = Selection(4, 8, (0, 1, 2, 3, 4))
    copied = copy_previous(song, sel, grid)
    region = Region(grid, (0, 1, 2, 3, 4), 4, 8, ("MELODY", "PIANO", "BASS", "DRUMS", "STRINGS"), chord_table([]))
    m = region_metrics(copied, song, region)
    assert m["groove_similarity"] == 1.0 and m["pch_overlap"] == pytest.approx(1.0) and m["density_error"] == 0.0
    assert m["pctm_l1"] == pytest.approx(0.0) and m["duration_overlap"] == pytest.approx(1.0)
    assert source_bars(Selection(4, 8), 12) == [0, 1, 2, 3]
    assert source_bars(Selection(2, 7), 12) == [0, 1, 0, 1, 0]  # fewer bars before: repeated
    assert source_bars(Selection(0, 3), 12) == [3, 4, 5]  # at the start: the following bars
    assert source_bars(Selection(0, 12), 12) == []


def test_random_in_key_follows_key_density_and_range() -> None:
    song = pop_band(bars=16)
    grid = beat_grid(song)
    sel = Selection(6, 10, (1,))  # piano: C G Am F chords, 12 notes per bar, range 53-67
    outs = [random_in_key(song, sel, seed=s, grid=grid) for s in range(4)]
    assert outs[0].tracks[1].notes != outs[1].tracks[1].notes  # seeded: different seeds differ
    assert random_in_key(song, sel, seed=0, grid=grid).tracks[1].notes == outs[0].tracks[1].notes
    notes = [score_notes(o, grid, (1,)) for o in outs]
    inside = [n.subset((n.onset >= grid.bar_starts[6]) & (n.onset < grid.bar_starts[10])) for n in notes]
    pcs = {int(p) % 12 for n in inside for p in n.pitch}
    assert pcs <= {0, 2, 4, 5, 7, 9, 11}  # C major
    assert all(53 <= p <= 67 for n in inside for p in n.pitch.tolist())
    per_bar = np.mean([n.n for n in inside]) / 4
    assert 8 <= per_bar <= 14  # ~12 a bar, minus onsets drawn twice for one key
    assert all(int(o) % 2 == 0 for n in inside for o in n.onset)  # the 16th grid


def test_evaluate_cli_baselines_only(tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "eval"
    assert evaluate_main(["--data", str(tiny_dataset), "--out", str(out), "--songs", "4", "--tasks", "all",
                          "--seed", "0", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "| metric |" in printed and "copy previous bars" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["methods"] == ["copy_previous", "random_in_key", "ground_truth"]
    assert results["n_cases"]["drums"] == 2 and results["skipped"]["drums"] == {"no drums": 2}
    assert set(results["summary"]["overall"]["copy_previous"]) == set(METRIC_NAMES)
    assert results["summary"]["overall"]["copy_previous"]["groove_similarity"]["n"] > 0
    md = (out / "results.md").read_text()
    overall = results["summary"]["overall"]
    for name in METRIC_NAMES:
        assert name in json.dumps(results["metrics"])
        # a row shows where some method has the metric (pop_band has no toms: that row is left out)
        assert (name in md) == any(overall[m][name]["n"] > 0 for m in results["methods"])
    assert "drum_toms_similarity" not in md and "checks a musician would make" in md
    # the musician checks reach the table: the truth's drums keep their kick and backbeat, copying keeps the kit
    drums = results["summary"]["drums"]
    assert drums["ground_truth"]["kick_on_one"]["mean"] == 1.0 and drums["ground_truth"]["backbeat"]["mean"] == 1.0
    assert drums["copy_previous"]["kit_adherence"]["mean"] == 1.0
    assert drums["random_in_key"]["kick_on_one"]["mean"] < 1.0
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "pch_overall.png" in pngs and "pctm_overall.png" in pngs and "rhythm_overall.png" in pngs
    # Same seed, same numbers.
    out2 = tmp_path / "eval2"
    assert evaluate_main(["--data", str(tiny_dataset), "--out", str(out2), "--songs", "4", "--tasks", "span,melody",
                          "--seed", "0", "--quiet", "--no-plots"]) == 0
    again = json.loads((out2 / "results.json").read_text())
    assert again["summary"]["span"] == results["summary"]["span"]
    assert not list(out2.glob("*.png"))


def test_evaluate_cli_with_a_tiny_model(tiny_dataset: Path, tmp_path: Path) -> None:
    import torch

    from engine.model.checkpoint import save_checkpoint
    from engine.model.config import ModelConfig
    from engine.model.network import SAModel

    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "ckpt", SAModel(ModelConfig.tiny()))
    out = tmp_path / "eval"
    assert evaluate_main(["--data", str(tiny_dataset), "--model", str(ckpt), "--out", str(out), "--songs", "3",
                          "--tasks", "span,accompaniment", "--variations", "2", "--steps", "2", "--seed", "1",
                          "--quiet", "--ppl", "--no-plots"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["thin_context"] is False  # a checkpoint without a training run: the full layout
    assert results["methods"] == ["model", "copy_previous", "random_in_key", "ground_truth"]
    assert results["n_cases"]["span"] == 3
    assert set(results["summary"]["span"]["model"]) == set(METRIC_NAMES)
    assert results["summary"]["span"]["model"]["range_adherence"]["n"] == 3
    assert results["perplexity"] == {}  # this dataset has no validation songs
    md = (out / "results.md").read_text()
    assert "| metric | model |" in md and "groove_similarity" in md

    # Perplexity on the training code's validation masks: a dataset whose songs are all 'valid'.
    src = tmp_path / "midi"
    src.mkdir()
    for k in range(2):
        write(_transposed(pop_band(bars=10), k), src, f"v{k}.mid")
    valid = tmp_path / "valid_ds"
    assert dataset_main(["build", "--midi-folder", str(src), "--out", str(valid), "--workers", "1",
                         "--split", "0/100/0", "--quiet"]) == 0
    out2 = tmp_path / "eval_valid"
    assert evaluate_main(["--data", str(valid), "--model", str(ckpt), "--out", str(out2), "--split", "valid",
                          "--tasks", "melody", "--steps", "1", "--quiet", "--ppl", "--no-plots"]) == 0
    ppl = json.loads((out2 / "results.json").read_text())["perplexity"]
    assert ppl["val_ppl"] > 1.0 and np.isfinite(ppl["val_loss"])
    assert "perplexity" in (out2 / "results.md").read_text()

    # The same weights inside a training run folder (whose own seed is 7) are scored on the same masks.
    run = tmp_path / "run"
    shutil.copytree(ckpt, run / "model")
    (run / "train_config.json").write_text(json.dumps({"seed": 7}))
    out3 = tmp_path / "eval_run"
    assert evaluate_main(["--data", str(valid), "--model", str(run / "model"), "--out", str(out3), "--split", "valid",
                          "--tasks", "melody", "--steps", "1", "--quiet", "--ppl", "--no-plots"]) == 0
    assert json.loads((out3 / "results.json").read_text())["perplexity"] == ppl

    # --thin-context on/off overrides the model's own layout and is recorded with the results.
    out4 = tmp_path / "eval_thin"
    assert evaluate_main(["--data", str(valid), "--model", str(ckpt), "--out", str(out4), "--split", "valid",
                          "--tasks", "melody", "--steps", "1", "--quiet", "--no-plots", "--thin-context", "on"]) == 0
    assert json.loads((out4 / "results.json").read_text())["config"]["thin_context"] is True


def test_evaluate_cli_prompt_adherence(tiny_dataset: Path, tmp_path: Path) -> None:
    import torch

    from engine.model.checkpoint import save_checkpoint
    from engine.model.config import ModelConfig
    from engine.model.network import SAModel

    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "ckpt", SAModel(ModelConfig.tiny()))
    out = tmp_path / "eval"
    assert evaluate_main(["--data", str(tiny_dataset), "--model", str(ckpt), "--out", str(out), "--songs", "4",
                          "--tasks", "drums", "--steps", "1", "--seed", "0", "--quiet", "--no-plots",
                          "--prompt-regions", "1"]) == 0
    results = json.loads((out / "results.json").read_text())
    pa = results["prompt_adherence"]
    assert len(pa["regions"]) == 1 and sorted(pa["values"]) == ["1.0", "2.0", "3.0"]
    assert set(pa["values"]["2.0"]) == {"own", "largo", "andante", "moderato", "allegro", "presto", "band"}
    assert all(len(v) == 1 for v in pa["values"]["1.0"].values())
    assert all(v is not None and v >= 0 for v in pa["values"]["3.0"]["presto"])
    assert results["config"]["guide_density"] is True  # guidance scales the tempo class's density plan
    from engine.evaluate.cli import build_parser

    assert build_parser().parse_args(["--data", "d", "--out", "o", "--no-guided-density"]).no_guided_density
    md = (out / "results.md").read_text()
    assert "## prompt adherence (1 whole-track region," in md and "presto − largo" in md
    # without a model there is nothing to prompt
    assert evaluate_main(["--data", str(tiny_dataset), "--out", str(out), "--prompt-regions", "2", "--quiet"]) == 2


def test_evaluate_cli_rejects_bad_arguments(tiny_dataset: Path, tmp_path: Path) -> None:
    assert evaluate_main(["--data", str(tiny_dataset), "--out", str(tmp_path / "o"), "--tasks", "nope", "--quiet"]) == 2
    assert evaluate_main(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert evaluate_main(["--data", str(tiny_dataset), "--out", str(tmp_path / "o"), "--ppl", "--quiet"]) == 2


def test_band_from_melody_runs_from_evaluate(tiny_dataset: Path, tmp_path: Path) -> None:
    import torch

    from engine.evaluate.band_from_melody import run_band_from_melody, summarise
    from engine.model.checkpoint import save_checkpoint
    from engine.model.config import ModelConfig
    from engine.model.network import SAModel

    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "ckpt", SAModel(ModelConfig.tiny()))
    cases, skipped = run_band_from_melody(str(tiny_dataset), str(ckpt), songs=4, steps=1, progress=False, sources=("midi",))
    assert cases and sum(skipped.values()) + len(cases) == 4
    summary = summarise(cases)
    assert summary["original band"]["chord_tone_ratio"] > 0.9  # the songs' own bands on their own chords
    assert "model chords" not in summary  # an untrained-for-chords model keeps the detector's
    out = tmp_path / "eval"
    assert evaluate_main(["--data", str(tiny_dataset), "--model", str(ckpt), "--out", str(out), "--songs", "1",
                          "--tasks", "span", "--steps", "1", "--quiet", "--no-plots", "--band-from-melody", "2"]) == 0
    assert json.loads((out / "band_from_melody.json").read_text())["skipped"] == {}
