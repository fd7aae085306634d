"""SA round trip over POP909: how much of each song the representation keeps, and how big songs are in rows.

    .venv/bin/python -m bench.roundtrip_pop909 [--limit N] [--root PATH] [--processes 2]

For every song (loaded with its beat_midi.txt grid and chord_midi.txt chords):
- exact: notes of decode(encode(s)) equal to quantise(s) (track, start, end, pitch, velocity), over quantise(s);
- what quantisation itself changes in the original notes: duplicates merged, onsets moved by more than a
  quarter of a 32nd, durations clipped to 32 16ths, pitches outside 21-108 (dropped by the encoder);
- encode throughput (songs/s per process, encode alone, quantisation included);
- rows per bar (mean, p95, max) and windows of 256 rows per song (overlap 2 bars).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

MAX_ROWS = 256


def _song(folder: str) -> dict:
    from engine.analysis.quantise import quantise, snap_duration16
    from engine.data.pop909 import load_pop909_song
    from engine.representation.decode import decode
    from engine.representation.encode import encode, note_positions
    from engine.representation.windows import windows

    score = load_pop909_song(folder)
    t0 = time.perf_counter()
    enc = encode(score)
    encode_s = time.perf_counter() - t0
    out = decode(enc.tokens, enc.track_of_row, score, enc.first_bar, enc.grid, velocity_of_row=enc.velocity_of_row, categories=enc.categories)
    q, qrep = quantise(score, enc.grid)

    def as_set(s):
        return {(i, n.start, n.end, n.pitch, n.velocity) for i, t in enumerate(s.tracks) for n in t.notes}

    expected, got = as_set(q), as_set(out)
    # Duration change from snapping to DURATIONS_16THS (clipping included), per original note.
    starts = np.asarray([n.start for t in score.tracks for n in t.notes], dtype=np.int64)
    ends = np.asarray([n.end for t in score.tracks for n in t.notes], dtype=np.int64)
    raw16 = (np.asarray(enc.grid.tick_to_position(ends)) - note_positions(enc.grid, starts)) / 2.0
    snapped = np.asarray(snap_duration16(raw16)).reshape(-1)
    rows_per_bar = np.bincount(enc.bar_of_row - enc.first_bar)
    return {
        "notes": score.n_notes,
        "quantised": len(expected),
        "exact": len(expected & got),
        "extra": len(got - expected),
        "dropped_pitch": sum(1 for _, r in enc.report.dropped if r.startswith("pitch")),
        "dropped_other": sum(1 for _, r in enc.report.dropped if not r.startswith("pitch")),
        "duplicates": qrep.n_duplicates_merged,
        "onset_moved": qrep.n_onset_moved,
        "clipped": qrep.n_duration_clipped,
        "dur_changed": int(np.count_nonzero(np.abs(snapped - raw16) > 0.5)),
        "bars_split": enc.report.n_bars_split,
        "encode_s": encode_s,
        "rows_per_bar": rows_per_bar,
        "rows": enc.n_rows,
        "windows": len(windows(enc, MAX_ROWS)),
        "truncated": sum(w.truncated_rows for w in windows(enc, MAX_ROWS)),
    }


def main() -> None:
    from engine.data.pop909 import POP909_ROOT, pop909_songs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="only the first N songs")
    ap.add_argument("--root", type=Path, default=POP909_ROOT)
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    folders = [str(p) for p in pop909_songs(args.root)][: args.limit]
    if not folders:
        sys.exit(f"no POP909 songs under {args.root} (set POPDIFFUSEQ_POP909)")
    print(f"command: {' '.join([os.path.relpath(sys.executable), '-m', 'bench.roundtrip_pop909', *sys.argv[1:]])}")
    print(f"machine: nproc={os.cpu_count()}, processes={args.processes}, songs={len(folders)}")
    start = time.perf_counter()
    with Pool(args.processes) as pool:
        res = pool.map(_song, folders, chunksize=4)
    wall = time.perf_counter() - start

    def total(key: str) -> int:
        return int(sum(r[key] for r in res))

    notes, quantised = total("notes"), total("quantised")
    rpb = np.concatenate([r["rows_per_bar"] for r in res])
    wins = np.asarray([r["windows"] for r in res])
    print(f"notes: {notes:,} original, {quantised:,} after quantise (duplicates merged: {total('duplicates'):,})")
    print(f"exact round trip decode(encode(s)) == quantise(s): {total('exact') / quantised:.4%} "
          f"({total('exact'):,}/{quantised:,}; extra notes {total('extra')}, dropped: pitch {total('dropped_pitch')}, other {total('dropped_other')})")
    print("original notes changed by quantisation (share of original notes):")
    for key, what in [("duplicates", "merged as duplicates"), ("onset_moved", "onset moved > 1/4 of a 32nd"),
                      ("clipped", "duration clipped to 32 16ths"), ("dur_changed", "duration snapped by > a 32nd"),
                      ("dropped_pitch", "pitch outside 21-108 (dropped)")]:
        print(f"  {what:34s} {total(key) / notes:.4%} ({total(key):,})")
    print(f"encode throughput: {len(res) / sum(r['encode_s'] for r in res):.1f} songs/s per process "
          f"(encode alone, incl. quantisation); whole bench {len(res) / wall:.1f} songs/s on {args.processes} processes")
    print(f"rows per bar: mean {rpb.mean():.1f}, p95 {np.percentile(rpb, 95):.0f}, max {rpb.max()} "
          f"({len(rpb):,} bars, {total('bars_split')} bars split)")
    print(f"windows of {MAX_ROWS} rows per song: mean {wins.mean():.1f}, median {np.median(wins):.0f}, max {wins.max()}, "
          f"rows per song mean {np.mean([r['rows'] for r in res]):.0f}; rows truncated {total('truncated')}")
    print(f"wall time: {wall:.1f} s")


if __name__ == "__main__":
    main()
