"""What the per-song evaluation tasks run from their own command share ("band from melody", "new drum
track"): the common options, the seeded loop over chosen test songs, and the JSON report."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def task_parser(description: str, data_help: str, songs_help: str | None = None) -> argparse.ArgumentParser:
    """An argument parser with the options every task takes: --data, --model, --songs, --seed, --steps,
    --guidance, --out, --quiet (a task adds its own)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--data", required=True, help=data_help)
    ap.add_argument("--model", help="checkpoint folder (default: the bundled model)")
    ap.add_argument("--songs", type=int, default=20, help=songs_help)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--guidance", type=float, default=1.5)
    ap.add_argument("--out", help="write the cases and the summary here as JSON")
    ap.add_argument("--quiet", action="store_true")
    return ap


def task_model(model_dir: str | None):  # noqa: ANN201 (an InfillModel; engine.infill is imported lazily)
    """The checkpoint at ``model_dir``, else the bundled model, in fp32 (the model card's precision)."""
    from engine.infill import load_default_model, load_model

    return load_model(model_dir, precision="fp32") if model_dir else load_default_model(precision="fp32")


def run_songs(store, chosen: list[tuple[Any, int]], run_one: Callable[[Any, Any, np.random.Generator], Any],  # noqa: ANN001
              seed: int, salt: int, desc: str, progress: bool = True) -> tuple[list, dict[str, int]]:
    """``run_one(song, key, rng)`` for each (key, store index) in ``chosen``, the rng seeded by (seed, song
    id, ``salt``) so a song's region does not depend on which other songs were drawn. A str result is a
    reason to skip the song. Returns the cases and the skip reasons with their counts."""
    from tqdm import tqdm

    from engine.data.split import unit_hash
    from engine.evaluate.tasks import load_song

    cases: list = []
    skipped: dict[str, int] = {}
    for key, index in tqdm(chosen, desc=desc, unit="song", disable=not progress):
        song = load_song(store, index)
        case = run_one(song, key, np.random.default_rng([seed, int(unit_hash(song.song_id, 0) * 2**31), salt]))
        if isinstance(case, str):
            skipped[case] = skipped.get(case, 0) + 1
        else:
            cases.append(case)
    return cases, skipped


def write_report(path: str | Path, summary: dict, skipped: dict[str, int], cases: list[dict]) -> None:
    """The summary, the skip reasons and one dict per case, as JSON."""
    Path(path).write_text(json.dumps({"summary": summary, "skipped": skipped, "cases": cases}, indent=1, default=float))
