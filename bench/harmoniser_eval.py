"""How well chords chosen for a bare melody match POP909's annotated chords (issue 16).

For each song of a split, one seeded 8-bar region where the melody sings (every bar but at most one) is
harmonised by: the learned harmoniser without context, the harmoniser with the annotated chords outside
the region clamped (what the editor has when a user selects a few bars of a song with chords), and the
rule-based detector on the melody alone. Per condition: root and family match per beat against the
annotated chords, and the share of the chosen chord's tones that are annotated chord tones (a band
playing the chosen chords' tones scores about this against the annotated ones; ``harmoniser.chord_match``),
and the melody's own chord-tone ratio against the chosen
chords (the annotated chords' ratio is the reference row).

    .venv/bin/python -m bench.harmoniser_eval --data /work/main/runs/data-v3 --split test
    .venv/bin/python -m bench.harmoniser_eval --pop909 ../shared/data/pop909 --split valid --model DIR
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from engine.analysis.chords import detect_chords
from engine.analysis.harmoniser import HarmoniserModel, chord_match, harmonise, load, melody_arrays
from engine.data.harmony_corpus import AnnotatedSong, corpus_songs
from engine.data.split import unit_hash
from engine.evaluate.metrics import chord_table, chord_tone_ratio
from engine.score import ChordLabel

BARS = 8
CONDITIONS = ("harmoniser", "harmoniser + context", "detector (melody alone)", "annotated")


def pick_bars(song: AnnotatedSong, seed: int, bars: int = BARS) -> int | None:
    """A seeded start bar (a function of seed and song id) of ``bars`` bars where the melody sounds in all
    but at most one, avoiding the first and last bar; None when there is none."""
    start, _, _ = melody_arrays(song.melody, song.grid)
    played = np.zeros(song.grid.n_bars, dtype=np.int64)
    np.add.at(played, np.asarray(song.grid.bar_of_position(start), dtype=np.int64).reshape(-1), 1)
    ok = [s for s in range(1, song.grid.n_bars - 1 - bars + 1) if (played[s:s + bars] > 0).sum() >= bars - 1]
    if not ok:
        return None
    rng = np.random.default_rng([seed, int(unit_hash(song.song_id, 0) * 2**31), 16])
    return int(ok[int(rng.integers(len(ok)))])


def melody_ratio(song: AnnotatedSong, chords: list[ChordLabel], start: int, end: int) -> float:
    """Duration-weighted chord-tone ratio of the melody's notes starting in bars [start, end)."""
    s, e, pitch = melody_arrays(song.melody, song.grid)
    lo, hi = song.grid.bar_starts[start], song.grid.bar_starts[end]
    keep = (s >= lo) & (s < hi)
    if not keep.any():
        return float("nan")
    ticks = np.asarray(song.grid.position_to_tick(s[keep])).reshape(-1)
    return chord_tone_ratio(pitch[keep], ticks, (e - s)[keep], chord_table(chords))


def evaluate_song(song: AnnotatedSong, model: HarmoniserModel, seed: int) -> dict[str, dict[str, float]] | None:
    start = pick_bars(song, seed)
    if start is None:
        return None
    end = start + BARS
    truth = song.chords
    t0, t1 = (int(song.grid.position_to_tick(int(song.grid.bar_starts[b]))) for b in (start, end))
    chosen = {
        "harmoniser": harmonise(song.melody, song.grid, start, end, None, model),
        "harmoniser + context": harmonise(song.melody, song.grid, start, end, truth, model),
        "detector (melody alone)": [c for c in detect_chords(song.melody, song.grid) if c.end > t0 and c.start < t1],
        "annotated": truth,
    }
    out = {}
    for name, chords in chosen.items():
        m = chord_match(chords, truth, song.grid, start, end)
        out[name] = {"root": m.root, "family": m.family, "tones": m.tones,
                     "melody_chord_tones": melody_ratio(song, chords, start, end)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="built dataset (its POP909 originals)")
    src.add_argument("--pop909", help="raw POP909 folder (split by the builder's hash)")
    ap.add_argument("--split", default="valid", choices=("train", "valid", "test"))
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--model", help="harmoniser tables (default: the shipped ones)")
    ap.add_argument("--songs", type=int, default=0, help="at most this many songs (0 = all)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    model = load(args.model)
    t = time.perf_counter()
    rows: list[dict[str, dict[str, float]]] = []
    skipped = 0
    for k, song in enumerate(corpus_songs(args.data, args.pop909, args.split, args.split_seed)):
        if args.songs and k >= args.songs:
            break
        r = evaluate_song(song, model, args.seed)
        if r is None:
            skipped += 1
        else:
            rows.append(r)
    print(f"| chords ({args.split} split, {BARS}-bar regions) | root match per beat | "
          "family match | tone overlap | melody chord-tone ratio |")
    print("| --- | --- | --- | --- | --- |")
    for name in CONDITIONS:
        vals = [np.nanmean([r[name][k] for r in rows]) for k in ("root", "family", "tones", "melody_chord_tones")]
        print(f"| {name} | {vals[0]:.3f} | {vals[1]:.3f} | {vals[2]:.3f} | {vals[3]:.3f} |")
    print(f"songs: {len(rows)} scored, {skipped} without {BARS} sung bars; {time.perf_counter() - t:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
