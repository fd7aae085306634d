"""The `popdiffuseq` command line (also `python -m engine` and `python main.py <subcommand>`).

Every subcommand has --help; every failure the user can cause exits non-zero with a one-line message.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.errors import StudioError
from engine.guidance import GUIDANCE_DEFAULT, GUIDANCE_HELP
from engine.novelty import NOVELTY_DEFAULT, NOVELTY_HELP
from engine.scale import MELODY_SCALE_HELP


def _read_with_grid(args: argparse.Namespace):  # noqa: ANN202 - Score
    """Read ``args.midi`` and put its bar grid right: ``--meter``/``--downbeat`` when given, else a POP909
    ``beat_midi.txt`` beside the file, else the file's own time signatures."""
    from engine.analysis.meter import beats_beside, with_meter
    from engine.midi_io import read_midi

    score = read_midi(args.midi)
    meter = getattr(args, "meter", None)
    if meter:
        try:
            num, den = (int(x) for x in meter.split("/"))
            first = int(round((float(getattr(args, "downbeat", 1.0) or 1.0) - 1) * score.ticks_per_beat))
            return with_meter(score, num, den, first)
        except ValueError as exc:
            raise StudioError(f"--meter {meter}: {exc}" if "/" in meter else f"--meter {meter}: write it as 4/4") from None
    return beats_beside(args.midi, score) or score


def _warn(name: str, warnings: list[str]) -> None:
    """One stderr line per thing a file held that could not be read or written as asked."""
    for text in warnings:
        print(f"warning: {name}: {text}", file=sys.stderr)


def _analyze(args: argparse.Namespace) -> int:
    from engine.analysis.chord_vocab import chord_name
    from engine.analysis.chords import detect_chords
    from engine.analysis.grid import beat_grid
    from engine.analysis.melody import assign_categories, detect_melody_track
    from engine.analysis.tempo import representative_bpm, tempo_class
    score = _read_with_grid(args)
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


def _parse_bars(text: str) -> tuple[int, int]:
    """'9-12' -> grid bars [8, 12) (the user counts bars from 1, both ends included); '5' -> [4, 5)."""
    try:
        lo, _, hi = text.partition("-")
        first, last = int(lo), int(hi or lo)
    except ValueError:
        raise StudioError(f"--bars wants a range like 9-12, got {text!r}") from None
    if first < 1 or last < first:
        raise StudioError(f"--bars {text}: bars count from 1 and the range must not be empty")
    return first - 1, last


def _resolve_tracks(score, text: str | None, categories: list[str]) -> tuple[int, ...] | None:
    """Tracks by 1-based number, name or category ('2', 'Bass', 'electric_guitar'); None = all."""
    from engine.analysis.categories import parse_category

    if not text:
        return None
    chosen: list[int] = []
    for item in (x.strip() for x in text.split(",") if x.strip()):
        if item.isdigit() and 1 <= int(item) <= len(score.tracks):
            chosen.append(int(item) - 1)
            continue
        by_name = [i for i, t in enumerate(score.tracks) if t.name.lower() == item.lower()]
        if len(by_name) > 1:  # two tracks share the name: regenerating both silently surprised users
            matches = ", ".join(f"{i + 1}:{score.tracks[i].name}" for i in by_name)
            raise StudioError(f"--tracks {item!r} names {len(by_name)} tracks ({matches}); give the number of the one you mean, e.g. --tracks {by_name[0] + 1}")
        if not by_name:
            try:
                cat = parse_category(item)
            except ValueError:
                cat = None
            by_name = [i for i, c in enumerate(categories) if c == cat]
            if len(by_name) > 1:  # a category may mean several tracks on purpose; say which
                print(f"--tracks {item}: tracks {', '.join(str(i + 1) for i in by_name)}", file=sys.stderr)
        if not by_name:
            names = ", ".join(f"{i + 1}:{t.name or categories[i].lower()}" for i, t in enumerate(score.tracks))
            raise StudioError(f"no track {item!r} in this song (tracks: {names})")
        chosen.extend(by_name)
    return tuple(sorted(set(chosen)))


def _variation_paths(out: Path, n: int) -> list[Path]:
    if n == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{k + 1}{out.suffix or '.mid'}") for k in range(n)]


def _categories(text: str | None, option: str) -> tuple[str, ...]:
    from engine.analysis.categories import parse_category

    try:
        return tuple(parse_category(x) for x in (text or "").split(",") if x.strip())
    except ValueError as exc:
        raise StudioError(f"{option}: {exc}") from None


def _infill(args: argparse.Namespace) -> int:
    from engine.analysis.chord_edit import parse_progression, replace_chords
    from engine.analysis.grid import beat_grid, extend_bars
    from engine.analysis.melody import assign_categories
    from engine.infill import Prompts, Selection, infill, load_default_model, load_model
    from engine.midi_io import load_warnings, write_midi

    src = Path(args.midi)
    score = _read_with_grid(args)
    _warn(src.name, load_warnings(score))
    old_bars = beat_grid(score).n_bars
    if args.extend:
        if args.extend < 1:
            raise StudioError(f"--extend {args.extend}: give a number of bars, at least 1")
        score = extend_bars(score, args.extend)
    categories = assign_categories(score)
    for track, cat in zip(score.tracks, categories, strict=True):
        track.category = track.category or cat
    grid = beat_grid(score)
    n_bars = grid.n_bars
    if args.bars:
        start, end = _parse_bars(args.bars)
    elif args.extend:
        start, end = old_bars, n_bars  # the new bars
    else:
        start, end = 0, n_bars
    if end > n_bars:
        raise StudioError(f"--bars {args.bars}: the song has {n_bars} bars" + ("" if args.extend else " (--extend N adds bars)"))
    wanted = _categories(args.instruments, "--instruments")
    added = _categories(args.add, "--add")
    if added and args.tracks is None:
        tracks: tuple[int, ...] | None = ()  # --add alone: every existing track stays as it is
    else:
        tracks = _resolve_tracks(score, args.tracks, categories)
    present = {categories[t] for t in (tracks if tracks is not None else range(len(score.tracks)))}
    new_tracks = tuple(dict.fromkeys(added + tuple(c for c in wanted if c not in present)))
    if not new_tracks and tracks == ():
        raise StudioError("nothing to regenerate: give --tracks, or --add instruments to add")
    file_chords = list(score.chords)  # what the file's "Chord:" markers held (often nothing)
    t0, t1 = (int(grid.position_to_tick(int(grid.bar_starts[b]))) for b in (start, end))
    if args.chords:
        try:
            given = parse_progression(args.chords, grid, start, end)
        except ValueError as exc:
            raise StudioError(f"--chords: {exc}") from None
        from engine.analysis.chords import detect_chords

        score.chords = replace_chords(list(score.chords) or list(detect_chords(score, grid)), t0, t1, given)
    out = Path(args.output) if args.output else src.with_name(f"{src.stem}-infill.mid")
    paths = _variation_paths(out, args.variations)
    clash = [p for p in paths if p.exists() or p.resolve() == src.resolve()]
    if clash and not args.force:
        raise StudioError(f"{clash[0]} exists; choose another -o or add --force to overwrite")
    model = load_model(args.model, args.device) if args.model else load_default_model(args.device)
    try:
        prompts = Prompts(tempo_class=args.tempo, instruments=tuple(dict.fromkeys(wanted + added)), density=args.density,
                          register=args.register, line={"auto": None, "on": True, "off": False}[args.line],
                          novelty=args.novelty, melody_scale=args.melody_scale == "on")
    except ValueError as exc:
        raise StudioError(str(exc)) from None
    selection = Selection(start, end, tracks, args.attributes, new_tracks)

    print(f"model on {model.device.label}", file=sys.stderr)

    progress = _progress_printer(sys.stderr)
    results = infill(score, selection, prompts, n_variations=args.variations, guidance=args.guidance,
                     steps=args.steps, seed=args.seed, temperature=args.temperature, model=model, progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    for path, result in zip(paths, results, strict=True):
        if result.chords != file_chords:  # only the region's chords become new markers; detected ones stay unwritten
            result.chords = replace_chords(file_chords, t0, t1, result.chords)
        _warn(path.name, write_midi(result, path))
        print(path)
    return 0


def _progress_printer(stream: Any) -> Callable[[int, int], None]:
    """``progress(done, total)`` for infill: on a terminal one line rewritten in place; redirected to a
    file or a pipe, a line per step (a log read "sampling 1/10sampling 2/10..." when the line was only
    ever rewritten)."""
    live = stream.isatty()

    def progress(done: int, total: int) -> None:
        if live:
            print(f"\rsampling {done}/{total}", end="", file=stream, flush=True)
        else:
            print(f"sampling {done}/{total}", file=stream, flush=True)
    return progress


def _render(args: argparse.Namespace) -> int:
    from engine.midi_io import load_warnings, read_midi
    from engine.synth import render_to_wav

    src = Path(args.midi)
    out = Path(args.output) if args.output else src.with_suffix(".wav")
    if out.exists() and not args.force:
        raise StudioError(f"{out} exists; choose another -o or add --force to overwrite")
    score = read_midi(src)
    _warn(src.name, load_warnings(score))
    render_to_wav(score, out, soundfont=args.soundfont, sample_rate=args.sample_rate)
    print(out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="popdiffuseq", description="Pop-Diffuseq Studio engine: analyse, infill and render MIDI songs.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("analyze", help="tracks, categories, melody track, tempo class, bars, chords per bar")
    p.add_argument("midi", help="a .mid file")
    p.add_argument("--max-bars", type=int, default=64, help="print chords for at most this many bars (default 64)")
    p.add_argument("--meter", help="time signature to use instead of the file's, e.g. 4/4 (a POP909 beat_midi.txt beside the file is used when present)")
    p.add_argument("--downbeat", type=float, default=1.0, help="with --meter: the quarter-note beat (from 1) where bar 1 starts")
    p.set_defaults(func=_analyze)

    p = sub.add_parser("infill", help="regenerate bars x tracks of a song with the model; one file per variation")
    p.add_argument("midi")
    p.add_argument("--bars", help="bar range counted from 1, both ends included, e.g. 9-12 (default: whole song)")
    p.add_argument("--meter", help="time signature to use instead of the file's, e.g. 4/4 (a POP909 beat_midi.txt beside the file is used when present)")
    p.add_argument("--downbeat", type=float, default=1.0, help="with --meter: the quarter-note beat (from 1) where bar 1 starts")
    p.add_argument("--tracks", help="tracks to regenerate: numbers, names or categories, comma-separated (default: all)")
    p.add_argument("--instruments", help="instrument categories wanted in the region; ones the song lacks are added as new tracks")
    p.add_argument("--add", help="instrument categories to add as new tracks in the region, e.g. strings,drums; without "
                   "--tracks every existing track stays exactly as it is")
    p.add_argument("--chords", help='the region\'s chords: one symbol per bar, e.g. "C G Am F", or with lengths in beats, '
                   'e.g. "C:2 G:2 Am:4"; the regenerated parts follow them and they are written as "Chord:" markers')
    p.add_argument("--extend", type=int, default=0, metavar="N",
                   help="add N empty bars after the song's last bar first (without --bars, those bars are generated)")
    p.add_argument("--tempo", choices=["largo", "andante", "moderato", "allegro", "presto"], help="tempo class prompt (default: the song's)")
    p.add_argument("--attributes", choices=["all", "pitch", "rhythm"], default="all", help="what to regenerate (default all)")
    p.add_argument("--variations", type=int, default=1,
                   help="how many different results to write (default 1; OUT-1.mid, OUT-2.mid, ... for more than one)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed and options give the same result (default 0)")
    p.add_argument("--guidance", type=float, default=GUIDANCE_DEFAULT, help=GUIDANCE_HELP)
    p.add_argument("--steps", type=int, default=10,
                   help="sampling steps per part of the selection (default 10; a long selection is sampled in parts)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="below 1 the model's likeliest choices, above 1 more surprising ones; 0 always the likeliest (default 1)")
    p.add_argument("--density", type=float, default=1.0, help="x the notes each regenerated part plays: its note slots and, for a model with a density "
                        "condition, the notes per bar it is asked for (its own around the region)")
    p.add_argument("--register", choices=["strict", "loose", "off"], default="strict",
                   help="pitch range of regenerated parts: strict = their own range around the region +-2 semitones "
                        "(new parts: the instrument's usual range); loose = that or the instrument's range; off. "
                        "Strict and loose also fold a note that leaps over an octave and straight back, in a part "
                        "that never does so around the region")
    p.add_argument("--line", choices=["auto", "on", "off"], default="auto",
                   help="one note at a time: auto = for parts that play one line around the region")
    p.add_argument("--melody-scale", choices=["on", "off"], default="on", help=MELODY_SCALE_HELP)
    p.add_argument("--novelty", type=float, default=NOVELTY_DEFAULT, help=NOVELTY_HELP)
    p.add_argument("--model", help="checkpoint folder (default: the bundled model)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto",
                   help="where the model runs (default auto: the CUDA or Apple GPU when present, else the CPU)")
    p.add_argument("-o", "--output", help="output .mid (variations get -1, -2 ... suffixes)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=_infill)

    p = sub.add_parser("render", help="render a MIDI file to WAV with FluidSynth")
    p.add_argument("midi")
    p.add_argument("-o", "--output", help="output .wav (default: next to the input)")
    p.add_argument("--soundfont", help="a .sf2 file (default: the system's GM SoundFont)")
    p.add_argument("--sample-rate", type=int, default=44100)
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=_render)
    for name, (_, _, text) in DELEGATED.items():
        sub.add_parser(name, help=f"{text} (see: popdiffuseq {name} --help)", add_help=False)
    return parser


# Subcommands with their own argparse parsers (in their packages); `main` hands them the rest of argv.
DELEGATED = {
    "dataset": ("engine.data.build", "dataset_main", "build training shards from MIDI folders (POP909, MMA band layers, GM MIDI)"),
    "train": ("engine.train.loop", "train_main", "train the infilling model on a built dataset"),
    "evaluate": ("engine.evaluate.cli", "evaluate_main", "infill test songs with the model and baselines; metrics, tables, plots"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        import importlib

        module, func, _ = DELEGATED[argv[0]]
        try:
            return int(getattr(importlib.import_module(module), func)(argv[1:]) or 0)
        except StudioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
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
