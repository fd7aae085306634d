"""How well a model chooses pitches, isolated from rhythm: pitch-only infill masks on a split.

Run: ``.venv/bin/python -m bench.pitch_choice --data runs/data-pop909-mma --model DIR [--model DIR2 ...]``

Each example is a random window of a validation song whose selected notes keep their onsets and durations
and lose their pitches (the editor's "pitches only"). The model sees every pitch masked at once (one
forward pass, absorbing kind) and the bench prints, over the pitched (non-drum) cells: cross-entropy,
exact and pitch-class accuracy, and the probability mass the model puts on tones of the chord sounding at
the note's onset, next to how often the true note is such a chord tone. The last pair is the quickest
read on whether a model hears the harmony: a model that ignores it puts about 3/12 of its mass there.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from engine.data.shards import SongStore, TrainingExamples
from engine.diffusion.batch import collate
from engine.model.checkpoint import load_checkpoint
from engine.model.pitch_classes import pitch_class_table, sounding_chord
from engine.representation import vocab as V
from engine.representation.training_masks import STRATEGIES

PITCH_ONLY = tuple(1.0 if s == "attribute" else 0.0 for s in STRATEGIES)  # half of them are rhythm-only


def pitch_choice(model_dir: Path, data: Path, examples: int, split: str = "valid", seed: int = 5) -> dict[str, float]:
    model, cfg = load_checkpoint(model_dir)
    if cfg.diffusion != "absorbing":
        raise SystemExit(f"{model_dir}: the bench reads one absorbing forward pass; this is a {cfg.diffusion} model")
    model.eval()
    ds = TrainingExamples(SongStore(data, split), seed, cfg.max_rows, cfg.max_bars, weights=PITCH_ONLY)
    table = pitch_class_table()
    note_pcs = table[V.FIRST_PITCH : V.FIRST_CHORD]  # [88, 12]
    drums = V.category_token("DRUMS")
    sums = dict(cells=0.0, ce=0.0, acc=0.0, pc_acc=0.0, mass=0.0, truth=0.0, with_chord=0.0)
    k = 0
    while k < examples:
        batch = collate([ds[i] for i in range(k, k + 16)], cfg.max_rows)
        k += 16
        gen = batch.generate
        target = batch.tokens[..., V.COL_PITCH]
        cells = batch.tokens.masked_fill(gen, V.MASK)
        with torch.no_grad():
            out = model(cells, batch.given, batch.track_id, batch.bar_index, batch.valid, batch.tempo,
                        batch.instruments, torch.full((batch.size,), 1000.0))
        sel = (gen[..., V.COL_PITCH] & (target >= V.FIRST_PITCH) & (target < V.FIRST_CHORD)
               & (batch.tokens[..., V.COL_INSTRUMENT] != drums))
        logits, tgt = out.logits[V.COL_PITCH][sel], target[sel]
        pred = logits.argmax(-1)
        chord = sounding_chord(cells, batch.bar_index, batch.valid, table)[sel] > 0  # [N, 12] chord tones
        fits = (note_pcs.bool()[None] & chord[:, None, :]).any(-1).float()  # [N, 88]: pitch is a chord tone
        has = chord.any(-1)
        probs = logits.softmax(-1)[:, V.FIRST_PITCH : V.FIRST_CHORD]
        sums["cells"] += len(tgt)
        sums["ce"] += F.cross_entropy(logits, tgt, reduction="sum").item()
        sums["acc"] += (pred == tgt).sum().item()
        sums["pc_acc"] += ((pred - tgt) % 12 == 0).sum().item()
        sums["mass"] += (probs * fits).sum(-1)[has].sum().item()
        sums["truth"] += fits.gather(1, (tgt - V.FIRST_PITCH)[:, None])[has].sum().item()
        sums["with_chord"] += has.sum().item()
    if not sums["cells"]:
        raise SystemExit(f"{data}: {k} {split} examples held no pitched note to choose; try more --examples")
    n, nc = sums["cells"], max(sums["with_chord"], 1.0)
    return {"examples": float(k), "cells": n, "ce": sums["ce"] / n, "acc": sums["acc"] / n,
            "pc_acc": sums["pc_acc"] / n, "chord_tone_mass": sums["mass"] / nc, "chord_tone_truth": sums["truth"] / nc}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("runs/data-pop909-mma"))
    ap.add_argument("--model", type=Path, action="append", default=[], help="checkpoint folder (repeatable)")
    ap.add_argument("--examples", type=int, default=96)
    ap.add_argument("--split", default="valid")
    args = ap.parse_args()
    models = args.model or [Path("resources/models/default")]
    print(f"pitch-only masks, {args.split} split of {args.data}, >= {args.examples} examples")
    print(f"{'model':<58} {'cells':>6} {'CE':>6} {'acc':>6} {'pc acc':>7} {'chord-tone mass':>16} {'truth':>6}")
    for m in models:
        t0 = time.perf_counter()
        r = pitch_choice(m, args.data, args.examples, args.split)
        print(f"{str(m):<58} {int(r['cells']):>6} {r['ce']:>6.3f} {r['acc']:>6.3f} {r['pc_acc']:>7.3f} "
              f"{r['chord_tone_mass']:>16.3f} {r['chord_tone_truth']:>6.3f}   ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
