"""The evaluation task "band from melody" (issue 16): does a band generated for a bare melody follow the song?

A POP909 test song is reduced to its melody (no other track, no chords: what a songwriter brings), and a
band of the song's own accompaniment instruments is generated over 8 bars where the melody sings. The band
is scored against the song's annotated chords (POP909 ``chord_midi.txt``, stored in the dataset) by
chord-tone ratio (duration-weighted share of band notes on a tone of the chord sounding at their onset)
and by clash rate against the melody (share of sounding band-melody note pairs a minor second, major
seventh or tritone apart, as pitch classes). The conditions:

- ``model chords``: the network writes the region's chords with the band (``Selection.chords``, the chord
  lane selected); only for a model trained with chord masks;
- ``detector chords``: the band is conditioned on chords the rule-based detector finds in the melody alone
  (what the seed did);
- ``harmoniser chords``: the bare melody as it is, so ``infill`` takes the region's chords from the learned
  harmoniser (``analysis/harmoniser.py``, tables fitted on POP909's train split): what a user without
  chords gets; only when its tables are installed;
- ``annotated chords``: the band is given the true chords (an upper bound the user does not have);
- ``original band``: the song's own accompaniment in the same bars.

"Follows edited chords" keeps the whole song, moves the region's annotated chords up a fourth (a new
progression in the same rhythm), regenerates the accompaniment there and scores it against the edited
chords.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from engine.evaluate.metrics import NoteArray, chord_table, chord_tone_ratio, region_notes
from engine.evaluate.tasks import Song, bar_note_counts
from engine.representation.masks import Selection
from engine.score import ChordLabel, Score

BARS = 8
CLASH_INTERVALS = (1, 6, 11)  # pitch-class distance: minor second, tritone, major seventh
CONDITIONS = ("model chords", "detector chords", "harmoniser chords", "annotated chords", "original band")
MAX_BAND = 4  # instruments asked for at most (the song's accompaniment categories, most notes first)


def clash_rate(band: NoteArray, melody: NoteArray) -> float:
    """Share of (band note, melody note) pairs sounding together whose pitch classes are a minor second,
    tritone or major seventh apart. Positions in 32nds; drum notes are ignored. NaN without any pair."""
    b, m = band.pitched, melody.pitched
    if b.n == 0 or m.n == 0:
        return float("nan")
    b_end = b.onset + b.duration
    m_end = m.onset + m.duration
    overlap = (b.onset[:, None] < m_end[None, :]) & (m.onset[None, :] < b_end[:, None])
    if not overlap.any():
        return float("nan")
    interval = np.abs(b.pitch[:, None] - m.pitch[None, :]) % 12
    clash = np.isin(interval, CLASH_INTERVALS) & overlap
    return float(clash.sum() / overlap.sum())


def band_scores(score: Score, song: Song, band_tracks: tuple[int, ...], melody_track: int, start: int, end: int,
                chords: list[ChordLabel]) -> dict[str, float]:
    """Chord-tone ratio of ``band_tracks``' notes in bars [start, end) against ``chords``, their clash
    rate with ``melody_track``, and their number of notes."""
    band = region_notes(score, song.grid, band_tracks, start, end).pitched
    melody = region_notes(score, song.grid, (melody_track,), start, end)
    ratio = chord_tone_ratio(band.pitch, band.start_tick, band.duration, chord_table(chords)) if band.n else float("nan")
    return {"chord_tone_ratio": ratio, "clash_rate": clash_rate(band, melody), "notes": float(band.n)}


@dataclass
class BandCase:
    song_id: str
    start_bar: int
    instruments: tuple[str, ...]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # condition -> metrics


def pick_region(song: Song, rng: np.random.Generator) -> tuple[int, int, tuple[str, ...]] | str:
    """(melody track, start bar, band instruments) for ``song``, or why it cannot take the task."""
    cats = song.categories
    counts = bar_note_counts(song)
    melody = [t for t, c in enumerate(cats) if c == "MELODY" and counts[t].sum() > 0]
    band = [t for t, c in enumerate(cats) if c not in ("MELODY", "DRUMS") and counts[t].sum() > 0]
    if not melody or not band:
        return "needs a melody and a pitched accompaniment"
    lo, hi = song.first_bar + 1, song.end_bar - 1
    starts = [s for s in range(lo, hi - BARS + 1)
              if (counts[melody[0], s : s + BARS] > 0).sum() >= BARS - 1 and counts[band, s : s + BARS].sum() >= BARS]
    if not starts:
        return "no 8 bars where the melody and the band both play"
    order = sorted(band, key=lambda t: -int(counts[t].sum()))
    instruments = tuple(dict.fromkeys(cats[t] for t in order))[:MAX_BAND]
    if any(c == "DRUMS" for c in cats):
        instruments = instruments + ("DRUMS",)
    return melody[0], int(starts[int(rng.integers(len(starts)))]), instruments


def melody_only(song: Song, melody: int) -> Score:
    """The song as a songwriter brings it: its melody on the song's grid, no other track, no chords."""
    return replace(song.score.copy(), tracks=[song.score.tracks[melody].copy()], chords=[])


def fourth_up(chords: list[ChordLabel], t0: int, t1: int) -> list[ChordLabel]:
    """The labels overlapping ticks [t0, t1), clipped to it, with their roots a perfect fourth higher."""
    out = []
    for c in chords:
        s, e = max(c.start, t0), min(c.end, t1)
        if e > s:
            out.append(ChordLabel(s, e, None if c.root is None else (c.root + 5) % 12, c.quality))
    return out


def run_case(song: Song, model, rng: np.random.Generator, steps: int = 10, guidance: float = 1.5,  # noqa: ANN001
             seed: int = 0, chord_temperature: float | None = None) -> BandCase | str:
    """Every condition on one song (one variation each, the same seed)."""
    from engine.analysis.chord_edit import replace_chords
    from engine.analysis.chords import detect_chords
    from engine.analysis.harmoniser import available as harmoniser_available
    from engine.infill import Prompts, harmonised, infill
    from engine.representation.encode import score_categories

    picked = pick_region(song, rng)
    if isinstance(picked, str):
        return picked
    melody, start, instruments = picked
    end = start + BARS
    truth = song.score
    annotated = list(truth.chords)
    case = BandCase(song.song_id, start, instruments)
    band_truth = tuple(t for t, c in enumerate(song.categories) if c not in ("MELODY", "DRUMS"))
    case.scores["original band"] = band_scores(truth, song, band_truth, melody, start, end, annotated)
    bare = melody_only(song, melody)
    prompts = Prompts(instruments=instruments)
    new = tuple(range(1, 1 + len(instruments)))
    pitched_new = tuple(t for t, c in zip(new, instruments, strict=True) if c != "DRUMS")
    sel = Selection(start, end, (), new_tracks=instruments)
    writes = getattr(model, "writes_chords", False)
    detected = replace(bare, chords=list(detect_chords(bare, song.grid)))
    runs: list[tuple[str, Score, Selection]] = [("detector chords", detected, sel), ("annotated chords", replace(bare, chords=annotated), sel)]
    if harmoniser_available():
        runs.insert(1, ("harmoniser chords", bare, sel))
    if writes:
        runs.insert(0, ("model chords", bare, replace(sel, chords=True)))
    for name, score, selection in runs:
        out = infill(score, selection, prompts, 1, guidance, steps, seed, model=model, chord_temperature=chord_temperature)[0]
        case.scores[name] = band_scores(out, song, pitched_new, 0, start, end, annotated)
        given = harmonised(bare, song.grid, score_categories(bare), sel)[1] if name == "harmoniser chords" else out.chords
        case.scores[name]["chord_root_match"] = root_match(given, annotated, song, start, end)
    # follows edited chords: the whole song, the region's chords a fourth up, the accompaniment regenerated
    t0, t1 = (int(song.grid.position_to_tick(int(song.grid.bar_starts[b]))) for b in (start, end))
    edited = fourth_up(annotated, t0, t1)
    moved = replace(truth, chords=replace_chords(annotated, t0, t1, edited))
    model.writes_chords = False
    try:
        out = infill(moved, Selection(start, end, band_truth), None, 1, guidance, steps, seed, model=model)[0]
    finally:
        model.writes_chords = writes
    case.scores["edited chords"] = band_scores(out, song, band_truth, melody, start, end, moved.chords)
    return case


def root_match(chords: list[ChordLabel], truth: list[ChordLabel], song: Song, start: int, end: int) -> float:
    """Share of beats in bars [start, end) whose chord root equals the annotated one (N.C. never matches)."""
    from engine.analysis.grid import POSITIONS_PER_BEAT

    lo, hi = int(song.grid.bar_starts[start]), int(song.grid.bar_starts[end])
    beats = np.arange(lo, hi, POSITIONS_PER_BEAT)
    ticks = np.asarray(song.grid.position_to_tick(beats)).reshape(-1)

    def roots(labels: list[ChordLabel]) -> list[int | None]:
        out: list[int | None] = []
        for t in ticks.tolist():
            hit = [c.root for c in labels if c.start <= t < c.end]
            out.append(hit[-1] if hit else None)
        return out

    a, b = roots(chords), roots(truth)
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if y is not None]
    return float(np.mean([x == y for x, y in pairs])) if pairs else float("nan")


def summarise(cases: list[BandCase]) -> dict[str, dict[str, float]]:
    """Mean of each metric per condition over the cases that have it (NaNs left out)."""
    out: dict[str, dict[str, float]] = {}
    for name in (*CONDITIONS, "edited chords"):
        rows = [c.scores[name] for c in cases if name in c.scores]
        if not rows:
            continue
        keys = sorted({k for r in rows for k in r})
        out[name] = {k: float(np.nanmean([r.get(k, math.nan) for r in rows])) if any(not math.isnan(r.get(k, math.nan)) for r in rows) else math.nan
                     for k in keys}
        out[name]["cases"] = float(len(rows))
    return out


def run_band_from_melody(data: str, model_dir: str | None, songs: int = 20, seed: int = 0, steps: int = 10,
                         guidance: float = 1.5, progress: bool = True,
                         sources: tuple[str, ...] = ("pop909",),
                         chord_temperature: float | None = None) -> tuple[list[BandCase], dict[str, int]]:
    """The task over ``songs`` test songs of a dataset from ``sources`` (default POP909, whose chords are
    annotated; other sources' stored chords were detected from their band), a seeded choice; returns the
    cases and the skip reasons with their counts."""
    from engine.data.shards import SongStore
    from engine.evaluate.song_task import run_songs, task_model
    from engine.evaluate.tasks import choose_songs

    store = SongStore(data, "test")
    model = task_model(model_dir)
    pop909 = [i for i in range(len(store)) if store.meta(i).get("source") in sources]
    chosen = [(None, pop909[i]) for i in choose_songs(len(pop909), songs, seed)]
    return run_songs(store, chosen, lambda song, _key, rng: run_case(song, model, rng, steps, guidance, seed, chord_temperature),
                     seed, 16, "band from melody", progress)


def format_summary(summary: dict[str, dict[str, float]]) -> str:
    lines = ["| condition | chord-tone ratio (annotated chords) | clash rate vs melody | notes | root match | cases |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, m in summary.items():
        target = " (vs the edited chords)" if name == "edited chords" else ""
        lines.append(f"| {name}{target} | {m.get('chord_tone_ratio', math.nan):.3f} | {m.get('clash_rate', math.nan):.3f} | "
                     f"{m.get('notes', math.nan):.0f} | {m.get('chord_root_match', math.nan):.3f} | {m['cases']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import time

    from engine.evaluate.song_task import task_parser, write_report

    ap = task_parser("Band from melody: chord-tone ratio and clashes of a band generated for a bare melody",
                     "dataset folder (POP909 test songs with annotated chords)")
    ap.add_argument("--chord-temperature", type=float, default=None,
                    help="temperature of the chords-only stage (default: infill's CHORD_TEMPERATURE)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    cases, skipped = run_band_from_melody(args.data, args.model, args.songs, args.seed, args.steps, args.guidance,
                                          not args.quiet, chord_temperature=args.chord_temperature)
    summary = summarise(cases)
    print(format_summary(summary))
    print(f"songs: {len(cases)} scored, skipped {skipped or 'none'}; {time.perf_counter() - t0:.0f} s")
    if args.out:
        write_report(args.out, summary, skipped, [
            {"song_id": c.song_id, "start_bar": c.start_bar, "instruments": c.instruments, "scores": c.scores} for c in cases])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
