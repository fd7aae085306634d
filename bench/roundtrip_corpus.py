"""Lossless round trip on files other people wrote: load, infill, write, compare with mido outside the region.

    .venv/bin/python -m bench.roundtrip_corpus [FOLDER ...] [--model DIR | --tiny] [--limit N]

Defaults: every folder of ../shared/data/midi-corpus (real/, damaged/, band-freedoom/, kinds/). For each
file: load it with ``read_midi`` (the song document), infill 2-4 bars of its busiest pitched track and of
its drum track (one variation, 10 steps; bars drawn with a seed per file), write it with ``write_midi``
and compare input and output event by event with mido (``engine.midi_compare``): every event outside
the regenerated bars x tracks must be there, at its tick, on its channel, with its data, and every note
outside must sound with the program it had. Prints files loaded / refused (reasons grouped), the share of
loaded files whose every event outside the region survives (target 100 %), outside notes whose sounding
program changed (target 0), and load and write time per file. Then the big-song figure: a 100-track,
65,000-note song made in code, bars 9-12 of one track replaced, written (target <= 1 s).
"""

from __future__ import annotations

import argparse
import platform
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np

from engine.analysis.grid import beat_grid
from engine.errors import MidiReadError, RepresentationError
from engine.midi_compare import Region, compare_outside
from engine.midi_io import encode_midi, read_midi
from engine.score import Note, Score, Track

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "midi-corpus"
SUFFIXES = {".mid", ".midi", ".kar", ".rmi", ".smf"}


def _files(folders: list[Path]) -> list[Path]:
    return sorted(p for f in folders for p in f.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def _reason(message: str) -> str:
    """A refusal message without the file name and numbers, to group them."""
    text = message.split(": ", 1)[-1]
    return re.sub(r"\d[\d,.]*", "N", text)[:90]


def _targets(score: Score) -> list[int]:
    pitched = [i for i, t in enumerate(score.tracks) if not t.is_drum and t.notes]
    drums = [i for i, t in enumerate(score.tracks) if t.is_drum and t.notes]
    out = []
    if pitched:
        out.append(max(pitched, key=lambda i: len(score.tracks[i].notes)))
    if drums:
        out.append(max(drums, key=lambda i: len(score.tracks[i].notes)))
    return out


def _infill_regions(score: Score, model, rng: np.random.Generator) -> tuple[Score, list[Region]]:  # noqa: ANN001
    from engine.infill import Selection, infill

    grid = beat_grid(score)
    regions: list[Region] = []
    for t in _targets(score):
        track = score.tracks[t]
        bars = np.unique(grid.bar_of_position(np.asarray(grid.tick_to_position(np.asarray([n.start for n in track.notes])))))
        bars = bars[(bars >= 0) & (bars < grid.n_bars)]
        if len(bars) == 0:
            continue
        length = int(rng.integers(2, 5))
        first = int(rng.choice(bars))
        first = max(0, min(first, grid.n_bars - length))
        last = min(first + length, grid.n_bars)
        score = infill(score, Selection(first, last, (t,)), n_variations=1, steps=10, seed=int(rng.integers(1 << 30)),
                       model=model)[0]
        tol = score.ticks_per_beat // 16  # a note may be quantised into the region from just before it
        start, end = int(grid.position_to_tick(grid.bar_starts[first])), int(grid.position_to_tick(grid.bar_starts[last]))
        if track.source is not None:
            regions.append(Region(track.source[0], track.source[1], start - tol, end - tol))
    return score, regions


def big_song_write(n_tracks: int = 100, n_notes: int = 65_000, repeats: int = 3) -> tuple[float, float, int]:
    """Read a 100-track song through the document and write it after a 4-bar edit of one track.

    Returns (best read seconds, best write seconds, file size in bytes). The edit stands in for an
    accepted infill: the writer's cost does not depend on where the new notes came from.
    """
    rng = np.random.default_rng(0)
    per = n_notes // n_tracks
    tracks = []
    for k in range(n_tracks):
        starts = np.sort(rng.integers(0, 120 * 1920, per))
        notes = [Note(int(s), int(s) + int(rng.integers(60, 960)), int(rng.integers(36, 90)), 90) for s in starts]
        tracks.append(Track(f"T{k}", k % 128, k % 10 == 9, notes))
    data, _ = encode_midi(Score(tracks=tracks))
    reads, writes = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        score = read_midi(data)
        reads.append(time.perf_counter() - t0)
        target = max(range(len(score.tracks)), key=lambda i: len(score.tracks[i].notes))
        lo, hi = 8 * 1920, 12 * 1920
        edited = score.copy()
        edited.tracks[target].notes = sorted(
            [n for n in score.tracks[target].notes if not lo <= n.start < hi]
            + [Note(n.start, n.end, n.pitch + 2, n.velocity) for n in score.tracks[target].notes if lo <= n.start < hi],
            key=lambda n: (n.start, n.pitch))
        t0 = time.perf_counter()
        encode_midi(edited)
        writes.append(time.perf_counter() - t0)
    return min(reads), min(writes), len(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="*", type=Path)
    ap.add_argument("--model", default=None, help="checkpoint folder (default: the bundled model)")
    ap.add_argument("--tiny", action="store_true", help="an untrained tiny model: tests the write path only, fast")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", action="store_true", help="print every file that changed outside its region")
    args = ap.parse_args()
    folders = args.folders or [CORPUS / f for f in ("real", "damaged", "band-freedoom", "kinds")]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        raise SystemExit(f"no such folder: {', '.join(missing)} (the corpus lives in ../shared/data/midi-corpus)")
    files = _files(folders)[: args.limit or None]

    import torch

    torch.set_num_threads(1)
    if args.tiny:
        from engine.diffusion import make_diffusion
        from engine.infill import InfillModel
        from engine.model.config import ModelConfig
        from engine.model.network import SAModel

        cfg = ModelConfig.tiny()
        model = InfillModel(SAModel(cfg).eval(), cfg, make_diffusion(cfg), "tiny")
    else:
        from engine.infill import load_default_model, load_model

        model = load_model(args.model) if args.model else load_default_model()

    print(f"Round trip over {len(files)} files in {', '.join(str(f) for f in folders)}")
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}; model: {model.source or 'tiny'}; torch threads 1")
    refused: Counter[str] = Counter()
    loaded = survived = unchecked = no_infill = 0
    program_changed = notes_checked = events_checked = 0
    load_s: list[float] = []
    write_s: list[float] = []
    failures: list[str] = []
    for k, path in enumerate(files):
        data = path.read_bytes()
        t0 = time.perf_counter()
        try:
            score = read_midi(path)
        except MidiReadError as exc:
            refused[_reason(str(exc))] += 1
            continue
        load_s.append(time.perf_counter() - t0)
        loaded += 1
        rng = np.random.default_rng([args.seed, k])
        try:
            edited, regions = _infill_regions(score, model, rng)
        except RepresentationError as exc:
            no_infill += 1
            edited, regions = score, []
            if args.verbose:
                print(f"  no infill: {path.name}: {exc}")
        t0 = time.perf_counter()
        out, _warnings = encode_midi(edited)
        write_s.append(time.perf_counter() - t0)
        start = data.find(b"MThd")
        try:
            cmp = compare_outside(data[start:], out, regions)
        except Exception as exc:  # noqa: BLE001 - mido cannot read some damaged inputs: not checkable
            unchecked += 1
            if args.verbose:
                print(f"  mido cannot read {path.name}: {type(exc).__name__}: {exc}")
            continue
        events_checked += cmp.n_events
        notes_checked += cmp.n_notes
        program_changed += cmp.program_changed
        if cmp.ok:
            survived += 1
        else:
            failures.append(f"{path.relative_to(path.parents[1])}: {cmp.summary()}")
    checked = loaded - unchecked
    print(f"files: {len(files)}; loaded {loaded}, refused {sum(refused.values())}")
    for reason, n in refused.most_common():
        print(f"  refused {n:>4}: {reason}")
    print(f"infilled: {loaded - no_infill} (no bars to infill in {no_infill})")
    print(f"checked against mido: {checked} (mido cannot read {unchecked} of the loaded files)")
    share = 100.0 * survived / checked if checked else float("nan")
    print(f"every event outside the region survives: {survived}/{checked} files = {share:.1f} % (target 100 %)")
    print(f"events compared: {events_checked:,}; notes outside regions compared: {notes_checked:,}")
    print(f"outside notes whose sounding program changed: {program_changed} (target 0)")
    if load_s:
        print(f"load per file: median {1000 * np.median(load_s):.1f} ms, max {1000 * max(load_s):.0f} ms")
        print(f"write per file: median {1000 * np.median(write_s):.1f} ms, max {1000 * max(write_s):.0f} ms")
    for line in failures[: None if args.verbose else 10]:
        print(f"  changed outside: {line}")
    read_big, write_big, size = big_song_write()
    print(f"big song (100 tracks, 65,000 notes, {size / 1e3:.0f} kB), 4 bars of one track edited: "
          f"read {read_big:.3f} s, write {write_big:.3f} s (target <= 1 s; best of 3)")


if __name__ == "__main__":
    main()
