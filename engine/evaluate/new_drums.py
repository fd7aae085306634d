"""The evaluation task "new drum track" (issue 17): a drum part added to a song that has none.

What a pop musician checks first in a new drum part: a kick on beat 1 of every bar and the backbeat (a
snare or clap on beats 2 and 4 of a 4/4 bar). The task takes test songs, removes their drum track if they
have one (its kick and backbeat shares are then the truth to compare with), and adds a DRUMS part over
8 bars where at least two pitched parts play (``Selection.new_tracks``), with the song's own tempo
class. Scores (``engine.evaluate.musician``): share of the region's bars with a kick on beat 1, share of
its 4/4 bars with the backbeat, drum notes per bar. Sources: POP909 originals (pop songs with no drums:
the issue's case; their MMA band versions are left out) and songs read from MIDI folders (real band
songs, whose own drums are the truth).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from engine.evaluate.metrics import NoteArray, region_notes
from engine.evaluate.musician import backbeat, kick_on_one
from engine.evaluate.tasks import Song, bar_note_counts

BARS = 8
FOUR_FOUR = 32  # a 4/4 bar in 32nds


def drum_checks(notes: NoteArray, bar_starts: np.ndarray) -> dict[str, float]:
    """Kick-on-1 share over the bars of ``bar_starts`` (positions in 32nds, last entry = end), backbeat
    share over its 4/4 bars (NaN without one), and drum notes per bar. ``notes``: one drum part."""
    bars = len(bar_starts) - 1
    hit, valid = backbeat(notes.onset, notes.pitch, bar_starts)
    return {"kick_on_one": float(kick_on_one(notes.onset, notes.pitch, bar_starts).mean()) if bars else math.nan,
            "backbeat": float(hit[valid].mean()) if valid.any() else math.nan,
            "notes_per_bar": notes.n / bars if bars else math.nan}


@dataclass
class DrumCase:
    song_id: str
    source: str
    start_bar: int
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # "model" / "truth" -> checks


def pick_region(song: Song, rng: np.random.Generator) -> int | str:
    """The first bar of 8 bars in 4/4 where at least two pitched parts play in every bar, or why none."""
    counts = bar_note_counts(song)
    pitched = [t for t, c in enumerate(song.categories) if c != "DRUMS"]
    lengths = np.diff(song.grid.bar_starts)
    starts = [s for s in range(song.first_bar + 1, song.end_bar - BARS)
              if (lengths[s : s + BARS] == FOUR_FOUR).all() and ((counts[pitched, s : s + BARS] > 0).sum(0) >= 2).all()]
    if not starts:
        return "no 8 bars of 4/4 where two parts play"
    return int(starts[int(rng.integers(len(starts)))])


def run_case(song: Song, source: str, model, rng: np.random.Generator, steps: int = 10, guidance: float = 1.5,  # noqa: ANN001
             seed: int = 0) -> DrumCase | str:
    """The song without its drums, a new DRUMS part over the picked 8 bars; the model's checks and, where
    the song had drums, the truth's."""
    from engine.infill import Prompts, infill
    from engine.representation.masks import Selection

    start = pick_region(song, rng)
    if isinstance(start, str):
        return start
    end = start + BARS
    bar_starts = np.asarray(song.grid.bar_starts[start : end + 1])
    case = DrumCase(song.song_id, source, start)
    drums = [t for t, c in enumerate(song.categories) if c == "DRUMS"]
    if drums:
        case.scores["truth"] = drum_checks(region_notes(song.score, song.grid, (drums[0],), start, end), bar_starts)
    keep = [t for t, c in enumerate(song.categories) if c != "DRUMS"]
    bare = replace(song.score.copy(), tracks=[song.score.tracks[t].copy() for t in keep])
    out = infill(bare, Selection(start, end, (), new_tracks=("DRUMS",)), Prompts(), 1, guidance, steps, seed, model=model)[0]
    case.scores["model"] = drum_checks(region_notes(out, song.grid, (len(keep),), start, end), bar_starts)
    return case


def summarise(cases: list[DrumCase]) -> dict[str, dict[str, float]]:
    """Mean of each check per (source, model/truth) over the cases that have it (NaNs left out)."""
    out: dict[str, dict[str, float]] = {}
    for source in sorted({c.source for c in cases}):
        for who in ("model", "truth"):
            rows = [c.scores[who] for c in cases if c.source == source and who in c.scores]
            if rows:
                out[f"{source} {who}"] = {k: float(np.nanmean([r[k] for r in rows])) if any(not math.isnan(r[k]) for r in rows)
                                          else math.nan for k in rows[0]} | {"cases": float(len(rows))}
    return out


def run_new_drums(data: str, model_dir: str | None, songs: int = 20, seed: int = 0, steps: int = 10,
                  guidance: float = 1.5, progress: bool = True, split: str = "test") -> tuple[list[DrumCase], dict[str, int]]:
    """The task over ``songs`` POP909 originals and ``songs`` songs from MIDI folders of a split (a seeded
    choice of each); returns the cases and the skip reasons with their counts."""
    from engine.data.shards import SongStore
    from engine.evaluate.song_task import run_songs, task_model
    from engine.evaluate.tasks import choose_songs

    store = SongStore(data, split)
    model = task_model(model_dir)
    groups: dict[str, list[int]] = {}
    for i in range(len(store)):
        meta = store.meta(i)
        if not meta.get("groove"):  # band versions of POP909 songs already have MMA's drums
            groups.setdefault(str(meta.get("source")), []).append(i)
    chosen = [(src, idx[k]) for src, idx in sorted(groups.items()) for k in choose_songs(len(idx), songs, seed)]
    return run_songs(store, chosen, lambda song, source, rng: run_case(song, source, model, rng, steps, guidance, seed),
                     seed, 17, "new drum track", progress)


def format_summary(summary: dict[str, dict[str, float]]) -> str:
    lines = ["| songs | kick on beat 1 | backbeat (4/4 bars) | drum notes a bar | cases |", "| --- | --- | --- | --- | --- |"]
    for name, m in summary.items():
        lines.append(f"| {name} | {m['kick_on_one']:.3f} | {m['backbeat']:.3f} | {m['notes_per_bar']:.1f} | {m['cases']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import time

    from engine.evaluate.song_task import task_parser, write_report

    ap = task_parser("New drum track: kick on beat 1 and backbeat of a drum part added to a song", "dataset folder",
                     "songs per source (POP909 originals, MIDI folders)")
    ap.add_argument("--split", choices=("train", "valid", "test"), default="test")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    cases, skipped = run_new_drums(args.data, args.model, args.songs, args.seed, args.steps, args.guidance, not args.quiet, args.split)
    summary = summarise(cases)
    print(format_summary(summary))
    print(f"songs: {len(cases)} scored, skipped {skipped or 'none'}; {time.perf_counter() - t0:.0f} s")
    if args.out:
        write_report(args.out, summary, skipped, [
            {"song_id": c.song_id, "source": c.source, "start_bar": c.start_bar, "scores": c.scores} for c in cases])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
