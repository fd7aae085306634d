"""Annotated songs for the melody harmoniser (``analysis/harmoniser.py``): melody, grid and chords per song.

Two sources give the same POP909 songs. A built dataset (``--data``) is what the evaluation tasks read:
its melodies are quantised as the model sees them and its splits are the ones the model was trained and
tested on; only POP909 originals are taken (their chords are annotated; the MMA copies repeat a song's
melody and chords and other sources' chords were detected). The raw POP909 folder (``--pop909``) needs no
build: a song's split is the builder's hash of its id (``split.split_of``), so the same songs fall in each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.analysis.grid import BeatGrid, beat_grid
from engine.score import ChordLabel, Score


@dataclass
class AnnotatedSong:
    song_id: str  # 'pop909/001'
    melody: Score  # the song reduced to its MELODY track(s)
    grid: BeatGrid
    chords: list[ChordLabel]  # annotated, in ticks


def dataset_songs(data: str | Path, split: str) -> Iterator[AnnotatedSong]:
    """The POP909 originals of one split of a built dataset (MMA band copies left out)."""
    from dataclasses import replace

    from engine.data.shards import SongStore
    from engine.evaluate.tasks import load_song

    store = SongStore(data, split)
    for i in range(len(store)):
        meta = store.meta(i)
        if meta.get("source") != "pop909" or meta.get("groove"):
            continue
        song = load_song(store, i)
        tracks = [t for t, c in zip(song.score.tracks, song.categories, strict=True) if c == "MELODY"]
        if not tracks:
            continue
        yield AnnotatedSong(song.song_id, replace(song.score, tracks=tracks, chords=[]), song.grid, list(song.score.chords))


def pop909_folder_songs(root: str | Path, split: str, seed: int = 0) -> Iterator[AnnotatedSong]:
    """Songs of a raw POP909 folder whose id ('pop909/<folder>') the builder would put in ``split``."""
    from dataclasses import replace

    from engine.data.pop909 import load_pop909_song, pop909_songs
    from engine.data.split import split_of

    for folder in pop909_songs(root):
        sid = f"pop909/{folder.name}"
        if split_of(sid, seed) != split:
            continue
        score = load_pop909_song(folder)
        tracks = [t for t in score.tracks if t.name.upper() == "MELODY"]
        if tracks and score.chords:
            yield AnnotatedSong(sid, replace(score, tracks=tracks, chords=[]), beat_grid(score), list(score.chords))


def corpus_songs(data: str | Path | None, pop909: str | Path | None, split: str, seed: int = 0,
                 ) -> Iterator[AnnotatedSong]:
    """Songs of ``split`` from a built dataset when ``data`` is given, else from a raw POP909 folder."""
    if data:
        return dataset_songs(data, split)
    if pop909:
        return pop909_folder_songs(pop909, split, seed)
    raise ValueError("give a built dataset or a POP909 folder")
