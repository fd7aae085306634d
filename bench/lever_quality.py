"""Does a speed lever keep quality? The bundled model's log-likelihood of the real notes of validation regions.

Run: ``.venv/bin/python -m bench.lever_quality [--songs 8]``

For POP909 songs of the validation split (``engine.data.split``, seed 0, 90/5/5), every pitched track's
bars 17-20 are masked as the editor masks a region (slots hold the real notes, then PAD), and the model
predicts them in one step from the fully masked state (guidance off). The figure is the mean negative
log-likelihood per generated cell (nats) of the real tokens: lower is better. Each lever (a 160-row
window instead of the model's 256, dynamic int8 Linear layers) is compared region by region with the
default (paired mean difference and its standard error). A lever that costs more than noise is not kept.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import warnings

import numpy as np
import torch

from engine.data.pop909 import load_pop909_song, pop909_songs
from engine.data.split import split_of
from engine.diffusion import collate
from engine.diffusion.base import guided_forward
from engine.infill import load_default_model
from engine.representation.encode import encode
from engine.representation.masks import THIN_NEAR_BARS, Selection, build_problem
from engine.representation.vocab import MASK

START_BAR, BARS = 16, 4


def region_nll(model, encoding, selection: Selection, max_rows: int, thin: bool) -> float:
    """Mean NLL (nats) of the real tokens of the region's generated cells, all of them masked."""
    problem = build_problem(encoding, selection, None, max_rows, targets=True,
                            thin_beyond=THIN_NEAR_BARS if thin else None)
    batch = collate([problem.example], max_rows)
    gen = batch.generate
    cells = batch.tokens.masked_fill(gen, MASK)
    with torch.no_grad():
        logits = guided_forward(model, cells, batch, torch.full((1,), 1000.0), 1.0).logits
    total, n = 0.0, 0
    for c in range(1, 4):
        m = gen[..., c]
        if m.any():
            lp = logits[c].float().log_softmax(-1)[m].gather(-1, batch.tokens[..., c][m][:, None])[:, 0]
            total, n = total - float(lp.sum()), n + int(m.sum())
    return total / max(n, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=8)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    m = load_default_model("cpu", "fp32")
    q = torch.ao.quantization.quantize_dynamic(copy.deepcopy(m.model), {torch.nn.Linear}, dtype=torch.qint8)
    songs = [f for f in pop909_songs() if split_of(f"pop909/{f.name}") == "valid"][: args.songs]
    rows: dict[str, list[float]] = {"default (256 rows)": [], "window 160 rows": [], "int8 Linear": []}
    for folder in songs:
        score = load_pop909_song(folder)
        enc = encode(score)
        if enc.end_bar < START_BAR + BARS:
            continue
        for t, track in enumerate(score.tracks):
            if track.is_drum or not any(START_BAR * 4 <= n.start / score.ticks_per_beat < (START_BAR + BARS) * 4 for n in track.notes):
                continue
            sel = Selection(START_BAR, START_BAR + BARS, (t,))
            rows["default (256 rows)"].append(region_nll(m.model, enc, sel, m.max_rows, m.thin_context))
            rows["window 160 rows"].append(region_nll(m.model, enc, sel, 160, m.thin_context))
            rows["int8 Linear"].append(region_nll(q, enc, sel, m.max_rows, m.thin_context))
    base = np.asarray(rows["default (256 rows)"])
    print(f"{len(base)} regions (bars {START_BAR + 1}-{START_BAR + BARS} x one pitched track) of {len(songs)} "
          "validation songs; NLL per generated cell, nats (lower is better)")
    for name, vals in rows.items():
        v = np.asarray(vals)
        d = v - base
        se = statistics.stdev(d) / np.sqrt(len(d)) if len(d) > 1 and name != "default (256 rows)" else 0.0
        print(f"{name:<20} {v.mean():.4f}   vs default {d.mean():+.4f} +- {se:.4f} (paired, 1 s.e.)")


if __name__ == "__main__":
    main()
