"""MIDI parse + SA encode throughput on the POP909 folder: the song document reader vs symusic.

    .venv/bin/python -m bench.midi_throughput [--limit N] [--root PATH]

Prints files/s for parse alone and parse+encode, per core (one process) and over all cores, with the
ratio to the bulk-path target of 2,000 files per minute per core. Songs are encoded with their
beat_midi.txt grid and chord_midi.txt chords, as the dataset builder does.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from multiprocessing import Pool
from pathlib import Path

from engine.midi_io import read_midi

TARGET_PER_MIN_PER_CORE = 2000


def _work(args: tuple[str, str, bool]) -> int:
    folder, backend, do_encode = args
    path = Path(folder) / f"{Path(folder).name}.mid"
    score = read_midi(path, backend=backend)
    if not do_encode:
        return score.n_notes
    from engine.data.pop909 import load_pop909_song
    from engine.representation.encode import encode

    song = load_pop909_song(folder) if backend == "symusic" else _with_annotations(score, folder)
    return int(encode(song).tokens.shape[0])


def _with_annotations(score, folder):
    """The document path: same annotations as load_pop909_song, but parsed by the song document reader."""
    from engine.data.pop909 import load_pop909_song

    annotated = load_pop909_song(folder)
    annotated.tracks = score.tracks
    return annotated


def _run(folders: list[str], backend: str, do_encode: bool, processes: int) -> float:
    jobs = [(f, backend, do_encode) for f in folders]
    start = time.perf_counter()
    if processes == 1:
        for j in jobs:
            _work(j)
    else:
        with Pool(processes) as pool:
            pool.map(_work, jobs, chunksize=8)
    return len(folders) / (time.perf_counter() - start)


def main() -> None:
    from engine.data.pop909 import POP909_ROOT, pop909_songs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(POP909_ROOT))
    ap.add_argument("--limit", type=int, default=0, help="use only the first N songs")
    args = ap.parse_args()
    folders = [str(p) for p in pop909_songs(args.root)]
    if args.limit:
        folders = folders[: args.limit]
    cores = os.cpu_count() or 1
    print(f"POP909 throughput: {len(folders)} songs from {args.root}; {platform.processor() or platform.machine()}, {cores} cores")
    print(f"{'backend':<12} {'stage':<14} {'1 process':>14} {f'{cores} processes':>14}  per core vs target")
    for backend in ("document", "symusic"):
        for do_encode in (False, True):
            one = _run(folders, backend, do_encode, 1)
            many = _run(folders, backend, do_encode, cores)
            stage = "parse+encode" if do_encode else "parse"
            per_min = one * 60
            print(
                f"{backend:<12} {stage:<14} {one:>10.1f} f/s {many:>10.1f} f/s  "
                f"{per_min:,.0f} files/min/core = {per_min / TARGET_PER_MIN_PER_CORE:.2f}x target"
            )


if __name__ == "__main__":
    main()
