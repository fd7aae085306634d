"""Dataset builder, split and shards: tiny MIDI folders written by the tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.data.build import dataset_main
from engine.data.shards import SongStore, TrainingExamples
from engine.data.split import SPLITS, split_of
from engine.midi_io import read_midi_fast
from engine.representation.encode import encode
from engine.representation.vocab import category_token
from engine.score import Note, Score, Track
from tests.midi_fixtures import pop_band, waltz, write

ROW_FIELDS = ("tokens", "track_of_row", "bar_of_row", "position_of_row", "velocity_of_row")


def _transposed(score: Score, k: int) -> Score:
    s = score.copy()
    for t in s.tracks:
        if not t.is_drum:
            t.notes = [Note(n.start, n.end, n.pitch + k, n.velocity) for n in t.notes]
    return s


def make_midi_folder(folder: Path, n: int = 12) -> Path:
    """``n`` small band songs (different lengths and keys) in two sub-folders, Lakh-style."""
    for i in range(n):
        sub = folder / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        write(_transposed(pop_band(bars=6 + i % 5), i % 7 - 3), sub, f"song{i:02d}.mid")
    return folder


def test_split_is_disjoint_stable_and_near_fractions() -> None:
    ids = [f"pop909/{i:03d}" for i in range(3000)]
    first = {s: split_of(s, seed=0) for s in ids}
    more = {s: split_of(s, seed=0) for s in ids + [f"midi/x/{i}" for i in range(500)]}
    assert all(more[s] == first[s] for s in ids)  # adding songs never moves existing ones
    counts = {name: sum(v == name for v in first.values()) for name in SPLITS}
    assert 2600 < counts["train"] < 2800 and 100 < counts["valid"] < 200 and 100 < counts["test"] < 200
    other_seed = {s: split_of(s, seed=1) for s in ids}
    assert sum(other_seed[s] != first[s] for s in ids) > 100  # the seed matters
    assert split_of("x", 0, (0, 0, 1)) == "test"
    with pytest.raises(ValueError):
        split_of("x", 0, (1, 1))  # type: ignore[arg-type]


def test_build_writes_disjoint_splits_and_round_trips(tmp_path: Path) -> None:
    src = make_midi_folder(tmp_path / "midi", 12)
    out = tmp_path / "ds"
    assert dataset_main(["build", "--midi-folder", str(src), "--out", str(out), "--workers", "2", "--seed", "0",
                         "--split", "50/25/25", "--quiet"]) == 0
    index = json.loads((out / "dataset.json").read_text())
    seen: dict[str, str] = {}
    for split in SPLITS:
        store = SongStore(out, split)
        for i in range(len(store)):
            meta = store.meta(i)
            assert meta["id"] not in seen, "a song is in two splits"
            seen[meta["id"]] = split
            assert split == meta["split"] == split_of(meta["split_key"], 0, (50, 25, 25))
            # Round trip: the stored encoding equals encode() of the same file.
            stored = store.encoding(i)
            fresh = encode(read_midi_fast(meta["path"]))
            for name in ROW_FIELDS:
                got, want = getattr(stored, name), getattr(fresh, name)
                assert got.dtype == np.int64 and np.array_equal(got, want), name
            assert stored.categories == fresh.categories and stored.tempo == fresh.tempo
            assert np.array_equal(stored.instruments, fresh.instruments)
            assert np.array_equal(stored.grid.beat_ticks, fresh.grid.beat_ticks)
            assert np.array_equal(stored.grid.bar_starts, fresh.grid.bar_starts)
            assert (stored.first_bar, stored.end_bar) == (fresh.first_bar, fresh.end_bar)
            assert [t["generated"] for t in meta["tracks"]] == [False] * 5
    assert len(seen) == 12 and sum(index["counts"][s]["songs"] for s in SPLITS) == 12
    assert {v for v in seen.values()} == set(SPLITS)  # 12 songs at 50/25/25 fill every split


def test_valid_folder_songs_only_reach_the_validation_split(tmp_path: Path) -> None:
    train_src = make_midi_folder(tmp_path / "midi", 6)
    real = make_midi_folder(tmp_path / "band", 6)
    out = tmp_path / "ds"
    assert dataset_main(["build", "--midi-folder", str(train_src), "--valid-folder", str(real), "--out", str(out),
                         "--workers", "1", "--split", "100/0/0", "--quiet"]) == 0
    by_split = {s: [SongStore(out, s).meta(i)["id"] for i in range(len(SongStore(out, s)))] for s in SPLITS}
    assert len(by_split["train"]) == 6 and all(i.startswith("midi/midi/") for i in by_split["train"])
    assert len(by_split["valid"]) == 6 and all(i.startswith("midi/band/") for i in by_split["valid"])
    assert by_split["test"] == []
    sources = json.loads((out / "dataset.json").read_text())["sources"]
    assert sources["midi/band"].endswith("(validation only)")


def test_build_is_independent_of_worker_count(tmp_path: Path) -> None:
    src = make_midi_folder(tmp_path / "midi", 6)
    for w in (1, 2):
        assert dataset_main(["build", "--midi-folder", str(src), "--out", str(tmp_path / f"w{w}"), "--workers", str(w),
                             "--quiet"]) == 0
    for split in SPLITS:
        for name in ("tokens", "row_offsets"):
            a, b = (tmp_path / f"w{w}" / split / "shard-00000" / f"{name}.npy" for w in (1, 2))
            assert a.exists() == b.exists()
            if a.exists():
                assert np.array_equal(np.load(a), np.load(b))


def test_report_lists_dropped_songs_by_reason(tmp_path: Path) -> None:
    src = make_midi_folder(tmp_path / "midi", 2)
    (src / "broken.mid").write_bytes(b"MThd garbage")
    write(Score(tracks=[Track("Empty", 0, False, [])]), src, "empty.mid")
    write(Score(tracks=[Track("Piano", 0, False, [Note(0, 480, 60)])]), src, "short.mid")
    write(Score(tracks=[Track("Piano", 0, False, [Note(i * 480, i * 480 + 400, 5) for i in range(32)])]), src, "low.mid")
    out = tmp_path / "ds"
    assert dataset_main(["build", "--midi-folder", str(src), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["n_jobs"] == 6 and report["n_kept"] == 2
    by_song = {Path(d["song_id"]).name: d["reason"] for d in report["dropped_songs"]}
    assert by_song["broken"] == "unreadable file"
    assert by_song["empty"] in ("no notes", "unreadable file")  # a file without notes may not parse at all
    assert by_song["short"].startswith("fewer than")
    assert by_song["low"].startswith("no encodable notes")
    assert sum(report["dropped"].values()) == 4


def test_training_examples_are_a_pure_function_of_the_index(tmp_path: Path) -> None:
    src = tmp_path / "midi"
    src.mkdir()
    write(pop_band(bars=12), src, "band.mid")
    write(waltz(bars=12), src, "waltz.mid")
    out = tmp_path / "ds"
    assert dataset_main(["build", "--midi-folder", str(src), "--out", str(out), "--split", "1/0/0", "--quiet"]) == 0
    store = SongStore(out, "train")
    assert len(store) == 2 and len(SongStore(out, "valid")) == 0
    ds = TrainingExamples(store, seed=3, max_rows=64, max_bars=8)
    again = TrainingExamples(store, seed=3, max_rows=64, max_bars=8)
    for k in (0, 1, 5, 17):
        a, b = ds[k], again[k]
        assert np.array_equal(a.tokens, b.tokens) and np.array_equal(a.given, b.given)
        assert a.n_rows <= 64 and int(a.bar_index.max()) < 8
    assert sorted(ds.song_of(k) for k in range(2)) == [0, 1]  # each epoch visits every song once
    # Key transposition: the same masks and rows, pitches moved by one seeded interval per example,
    # reproducibly; over a few examples both up and down shifts occur.
    moved = TrainingExamples(store, seed=3, max_rows=64, max_bars=8, transpose=True)
    shifts = set()
    for k in range(12):
        a, t = ds[k], moved[k]
        assert np.array_equal(t.tokens, moved[k].tokens) and np.array_equal(a.given, t.given)
        assert np.array_equal(a.tokens[:, [0, 1, 3]], t.tokens[:, [0, 1, 3]])
        pitched = (a.tokens[:, 2] >= 2) & (a.tokens[:, 2] < 90) & (a.tokens[:, 0] != category_token("DRUMS"))
        d = np.unique(t.tokens[pitched, 2] - a.tokens[pitched, 2])
        assert len(d) == 1 and -11 <= d[0] <= 11
        shifts.add(int(np.sign(d[0])))
    assert {-1, 1} <= shifts


@pytest.mark.data
def test_build_a_few_pop909_songs(tmp_path: Path, pop909_root: Path) -> None:
    out = tmp_path / "pop"
    assert dataset_main(["build", "--pop909", str(pop909_root), "--out", str(out), "--limit", "3", "--quiet"]) == 0
    index = json.loads((out / "dataset.json").read_text())
    assert sum(index["counts"][s]["songs"] for s in SPLITS) == 3
    store = SongStore(out, "train")
    enc = store.encoding(0)
    assert enc.categories[0] == "MELODY" and enc.report.chord_source == "score"


def test_mma_band_layer(tmp_path: Path, pop909_root: Path) -> None:
    if shutil.which("mma") is None:
        pytest.skip("mma is not installed (apt-get install mma)")
    from engine.data.mma import add_band, available_grooves
    from engine.data.pop909 import load_pop909_song, pop909_songs

    grooves = available_grooves()
    assert grooves
    song = load_pop909_song(pop909_songs(pop909_root)[0])
    band = add_band(song, grooves[0], seed=1)
    new = band.tracks[len(song.tracks):]
    assert new and all(t.generated for t in new) and any(t.is_drum for t in new)
    assert [t.name for t in band.tracks[: len(song.tracks)]] == [t.name for t in song.tracks]
    # The band follows the song's beats: drum onsets sit close to annotated beats.
    beats = np.asarray(song.beats)
    onsets = np.asarray([n.start for t in new if t.is_drum for n in t.notes])
    err = np.abs(onsets[:, None] - beats[None, :]).min(1)
    assert np.median(err) < song.ticks_per_beat // 4
    out = tmp_path / "ds"
    assert dataset_main(["build", "--pop909", str(pop909_root), "--out", str(out), "--limit", "2",
                         "--mma-grooves", "1", "--quiet"]) == 0
    index = json.loads((out / "dataset.json").read_text())
    metas = [SongStore(out, s).meta(i) for s in SPLITS for i in range(len(SongStore(out, s)))]
    assert sum(index["counts"][s]["songs"] for s in SPLITS) == 4
    by_key: dict[str, set[str]] = {}
    for m in metas:
        by_key.setdefault(m["split_key"], set()).add(m["split"])
    assert all(len(v) == 1 for v in by_key.values())  # a band version shares its source's split
    assert any(any(t["generated"] for t in m["tracks"]) for m in metas)


def test_mma_grooves_without_mma_fail_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Asking for band layers where MMA cannot make them is an error, not a dataset without band layers."""
    import engine.data.mma as mma

    monkeypatch.setattr(mma, "mma_executable", lambda: None)
    out = tmp_path / "ds"
    assert dataset_main(["build", "--pop909", str(tmp_path), "--out", str(out), "--mma-grooves", "2", "--quiet"]) == 2
    assert "mma, which is not installed" in capsys.readouterr().err and not out.exists()
    # installed, but its library defines none of the grooves
    monkeypatch.setattr(mma, "mma_executable", lambda: "/usr/bin/mma")
    monkeypatch.setattr(mma, "available_grooves", lambda candidates=(): [])
    assert dataset_main(["build", "--pop909", str(tmp_path), "--out", str(out), "--mma-grooves", "1", "--quiet"]) == 2
    assert "defines none of the grooves" in capsys.readouterr().err and not out.exists()
