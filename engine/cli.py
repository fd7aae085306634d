"""The `popdiffuseq` command line (also `python -m engine` and `python main.py <subcommand>`).

Every subcommand has --help; every failure the user can cause exits non-zero with a one-line message.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import StudioError


def _analyze(args: argparse.Namespace) -> int:
    from engine.analysis.chord_vocab import chord_name
    from engine.analysis.chords import detect_chords
    from engine.analysis.grid import beat_grid
    from engine.analysis.melody import assign_categories, detect_melody_track
    from engine.analysis.tempo import representative_bpm, tempo_class
    from engine.midi_io import read_midi

    score = read_midi(args.midi)
    grid = beat_grid(score)
    categories = assign_categories(score)
    melody = detect_melody_track(score)
    bpm = representative_bpm(score)
    sigs = ", ".join(f"{s.numerator}/{s.denominator}@bar{grid.bar_of_position(int(grid.tick_to_position(s.tick))) + 1}" for s in score.time_signatures)
    print(f"{Path(args.midi).name}: {len(score.tracks)} tracks, {score.n_notes} notes, {grid.n_bars} bars ({sigs})")
    print(f"tempo: {bpm:.1f} BPM -> {tempo_class(bpm)}" + (f" ({len(score.tempos)} tempo changes)" if len(score.tempos) > 1 else ""))
    print(f"melody track: {melody + 1 if melody is not None else 'none found'}" + (f" ({score.tracks[melody].name!r})" if melody is not None else ""))
    print(f"{'#':>3}  {'name':<24} {'program':>7}  {'drum':<4}  {'notes':>6}  category")
    for i, (t, c) in enumerate(zip(score.tracks, categories, strict=True)):
        print(f"{i + 1:>3}  {t.name[:24]:<24} {t.program:>7}  {'yes' if t.is_drum else '':<4}  {len(t.notes):>6}  {c.lower()}")
    chords = score.chords or detect_chords(score, grid)
    print("chords per bar:")
    bars = min(grid.n_bars, args.max_bars)
    for b in range(bars):
        lo, hi = grid.position_to_tick(int(grid.bar_starts[b])), grid.position_to_tick(int(grid.bar_starts[b + 1]))
        names = [chord_name(c.root, c.quality) for c in chords if c.end > lo and c.start < hi]
        print(f"  bar {b + 1:>3}: {' '.join(names) or '-'}")
    if grid.n_bars > bars:
        print(f"  ... {grid.n_bars - bars} more bars (--max-bars)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="popdiffuseq", description="Pop-Diffuseq Studio engine: analyse, infill and render MIDI songs.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("analyze", help="tracks, categories, melody track, tempo class, bars, chords per bar")
    p.add_argument("midi", help="a .mid file")
    p.add_argument("--max-bars", type=int, default=64, help="print chords for at most this many bars (default 64)")
    p.set_defaults(func=_analyze)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except StudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
