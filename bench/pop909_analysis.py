"""Measure the music analysis on POP909: chord agreement, melody detection, quantisation totals.

    .venv/bin/python -m bench.pop909_analysis [--limit N] [--workers 2] [--root PATH]

(a) Chords: ``chords_per_beat`` on the song's annotated beat grid against ``chord_midi.txt`` at the middle
    of each beat: root exact, and root + major/minor family (``is_minor_family``). Beats annotated N and
    sus chords are reported separately (our families do not cover them).
(b) Melody: all track names blanked, ``detect_melody_track`` against the track originally named MELODY;
    the confusion says which track was picked instead.
(c) Quantisation: the summed ``QuantiseReport``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from engine.analysis.chord_vocab import is_minor_family
from engine.analysis.chords import chords_per_beat
from engine.analysis.grid import POSITIONS_PER_BEAT, beat_grid
from engine.analysis.melody import detect_melody_track
from engine.analysis.quantise import QuantiseReport, quantise_notes
from engine.data.pop909 import POP909_ROOT, load_pop909_song, pop909_songs


@dataclass
class SongResult:
    song: str
    beats: int = 0  # annotated beats with a major/minor-family chord (not N, not sus)
    root_ok: int = 0
    family_ok: int = 0
    quality_ok: int = 0
    n_beats: int = 0  # annotated N beats
    n_detected_nc: int = 0  # ... of which we call N.C.
    detected_nc_on_chord: int = 0  # chord beats we call N.C.
    sus_beats: int = 0
    sus_root_ok: int = 0
    melody_truth: str = ""  # original name of the track picked ("" = none picked)
    melody_ok: bool = False
    quantise: QuantiseReport = field(default_factory=lambda: QuantiseReport(0, 0, 0, 0))


def analyse_song(folder: Path) -> SongResult:
    score = load_pop909_song(folder)
    result = SongResult(folder.name)
    grid = beat_grid(score)
    _, result.quantise = quantise_notes(score, grid)

    # (a) chords, compared at the middle of each beat
    detected = chords_per_beat(score, grid)
    if score.chords:
        mids = np.asarray(
            grid.position_to_tick(np.arange(len(detected)) * POSITIONS_PER_BEAT + POSITIONS_PER_BEAT // 2)
        )
        starts = np.asarray([c.start for c in score.chords])
        idx = np.searchsorted(starts, mids, side="right") - 1
        for k, (root, quality) in enumerate(detected):
            i = int(idx[k])
            if i < 0 or not score.chords[i].start <= mids[k] < score.chords[i].end:
                continue
            truth = score.chords[i]
            if truth.root is None:
                result.n_beats += 1
                result.n_detected_nc += root is None
            elif truth.quality in ("sus2", "sus4"):
                result.sus_beats += 1
                result.sus_root_ok += root == truth.root
            else:
                result.beats += 1
                result.detected_nc_on_chord += root is None
                if root == truth.root:
                    result.root_ok += 1
                    result.family_ok += is_minor_family(quality) == is_minor_family(truth.quality)
                    result.quality_ok += quality == truth.quality

    # (b) melody with the names blanked
    names = [t.name for t in score.tracks]
    blind = score.copy()
    for t in blind.tracks:
        t.name = ""
    picked = detect_melody_track(blind)
    result.melody_truth = names[picked] if picked is not None else ""
    result.melody_ok = picked is not None and names[picked].upper() == "MELODY"
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N songs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--root", type=Path, default=POP909_ROOT)
    args = parser.parse_args(argv)
    songs = pop909_songs(args.root)[: args.limit]
    if not songs:
        print(f"no POP909 songs under {args.root} (set POPDIFFUSEQ_POP909)", file=sys.stderr)
        return 1
    print(
        "command:",
        " ".join([os.path.relpath(sys.executable), "-m", "bench.pop909_analysis", *(argv or sys.argv[1:])]),
    )
    print(f"machine: nproc={os.cpu_count()}, workers={args.workers}, songs={len(songs)} from {args.root}")
    t0 = time.perf_counter()
    with Pool(args.workers) as pool:
        results = pool.map(analyse_song, songs, chunksize=8)
    wall = time.perf_counter() - t0

    total = lambda attr: sum(getattr(r, attr) for r in results)  # noqa: E731
    beats = max(total("beats"), 1)
    print("\n(a) chords per beat vs chord_midi.txt")
    print(f"  major/minor-family beats: {total('beats'):,}")
    print(f"    root exact            {total('root_ok') / beats:.3f}")
    print(f"    root + maj/min family {total('family_ok') / beats:.3f}")
    print(
        f"    root + exact quality  {total('quality_ok') / beats:.3f}  (annotations mapped by harte_to_quality)"
    )
    print(f"    detected N.C.         {total('detected_nc_on_chord') / beats:.3f}")
    print(
        f"  sus beats: {total('sus_beats'):,}, root exact {total('sus_root_ok') / max(total('sus_beats'), 1):.3f}"
    )
    print(
        f"  N beats:   {total('n_beats'):,}, detected N.C. {total('n_detected_nc') / max(total('n_beats'), 1):.3f}"
    )

    n = len(results)
    picked = Counter(r.melody_truth or "(none)" for r in results)
    print("\n(b) melody track with names blanked")
    print(f"  accuracy {sum(r.melody_ok for r in results) / n:.3f} ({sum(r.melody_ok for r in results)}/{n})")
    print("  picked:", ", ".join(f"{name} {count}" for name, count in picked.most_common()))

    q = sum((r.quantise for r in results), QuantiseReport(0, 0, 0, 0))
    print("\n(c) quantisation totals")
    print(
        f"  notes {q.n_notes:,}; duplicates merged {q.n_duplicates_merged:,}; durations clipped to 32 16ths "
        f"{q.n_duration_clipped:,}; onsets moved > 1/4 of a 32nd {q.n_onset_moved:,} ({q.n_onset_moved / max(q.n_notes, 1):.3f})"
    )
    print(f"\nwall time: {wall:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
