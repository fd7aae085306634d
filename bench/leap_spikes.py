"""Where leaps over an octave come from, and what folding octave spikes does (issue 17, register).

Regenerates the evaluation's regions (``evaluate``'s plan: the same songs, tasks, seeds and default
prompts) once with ``infill``'s spike folding switched off, then folds the same samples
(``infill._fold_spikes``), so fold off and on are paired on identical samples. Per instrument category,
for the truth, the unfolded and the folded samples: moves of the outer voices (highest and lowest note
from each onset to the next, as ``musician.leap_rate``), leaps over an octave among them, and spikes
(a leap out and straight back). Pooled over regions, not averaged per region as ``evaluate`` does.

    .venv/bin/python -m bench.leap_spikes --data runs/data-real-band --split valid --songs 20
"""

from __future__ import annotations

import argparse

import numpy as np

from engine.evaluate.musician import LEAP, outer_voices
from engine.representation.part_limits import spike_positions

KINDS = ("truth", "model", "folded")


def outer_moves(pitch: np.ndarray, onset: np.ndarray) -> tuple[int, int, int]:
    """(moves, leaps over LEAP semitones, leaps that are half of a spike) of the highest and lowest voice
    (``musician.outer_voices``); a spike as ``part_limits.spike_positions``, the fold's own definition."""
    top, low = outer_voices(pitch, onset)
    if len(top) < 2:
        return 0, 0, 0
    moves = leaps = spikes = 0
    for voice in (top, low):
        d = np.diff(voice)
        at = spike_positions(voice)  # a move is half of a spike when it leaves or enters one
        moves, leaps, spikes = moves + len(d), leaps + int((np.abs(d) > LEAP).sum()), spikes + int((at[:-1] | at[1:]).sum())
    return moves, leaps, spikes


def main(argv: list[str] | None = None) -> int:
    import engine.infill as engine_infill
    from engine.data.shards import SongStore
    from engine.data.split import unit_hash
    from engine.evaluate.cli import _limit_prompts
    from engine.evaluate.metrics import region_notes
    from engine.evaluate.tasks import TASKS, choose_songs, load_song, plan_tasks

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="valid")
    ap.add_argument("--songs", type=int, default=20)
    ap.add_argument("--model", default=None, help="model folder (default: the bundled one)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    store = SongStore(args.data, args.split)
    songs = [load_song(store, i) for i in choose_songs(len(store), args.songs, args.seed)]
    plan = plan_tasks(songs, tuple(TASKS), args.seed)
    model = engine_infill.load_model(args.model) if args.model else engine_infill.load_default_model()
    fold = engine_infill._fold_spikes
    engine_infill._fold_spikes = lambda out, *_a, **_k: out  # sample unfolded; fold the same samples below
    stats: dict[str, dict[str, np.ndarray]] = {}
    try:
        for case in plan.cases:
            song, sel = songs[case.song], case.selection
            seed = int(unit_hash(f"{case.song_id}|{case.task}", args.seed) * 2**31)  # evaluate's case seed
            out = engine_infill.infill(song.score, sel, _limit_prompts(True), 1, 1.5, 10, seed, 1.0, model)[0]
            region, around = engine_infill._region_ticks(song.grid, sel)
            folded = fold(out.copy(), sel, region, around, tuple(song.categories))
            for kind, score in zip(KINDS, (song.score, out, folded), strict=True):
                for t in sorted(sel.tracks or range(len(song.score.tracks))):
                    if song.categories[t] == "DRUMS":
                        continue
                    n = region_notes(score, song.grid, (t,), sel.start_bar, sel.end_bar).pitched
                    row = stats.setdefault(song.categories[t], {k: np.zeros(3, dtype=np.int64) for k in KINDS})
                    row[kind] += outer_moves(n.pitch, n.onset)
    finally:
        engine_infill._fold_spikes = fold
    print("| category | " + " | ".join(f"{k}: moves / leaps / spikes" for k in KINDS) + " |")
    print("| --- |" + " ---: |" * len(KINDS))
    total = {k: np.zeros(3, dtype=np.int64) for k in KINDS}
    for cat, row in sorted(stats.items()):
        print(f"| {cat} | " + " | ".join(f"{r[0]} / {r[1]} / {r[2]}" for r in row.values()) + " |")
        for k in KINDS:
            total[k] += row[k]
    print("| all | " + " | ".join(f"{r[0]} / {r[1]} / {r[2]} ({r[1] / max(r[0], 1):.4f})" for r in total.values()) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
