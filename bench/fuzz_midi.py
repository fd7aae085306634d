"""A fuzz campaign over the MIDI loader and the SA encoder, with the figures for the closing note.

    .venv/bin/python -m bench.fuzz_midi [--cases 5000] [--seed 0]

Each case is a mutated valid file (tests/midi_mutations.py) loaded with both parsers and encoded. A case
"crashes" when anything but the project's own errors escapes. Prints cases, outcomes, crashes and the
slowest case.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
import traceback
from collections import Counter

from tests.midi_mutations import mutate, seeds
from tests.test_fuzz import load_and_encode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    base = seeds()
    outcomes: Counter[str] = Counter()
    crashes: list[str] = []
    slowest = (0.0, -1)
    start = time.perf_counter()
    for case in range(args.cases):
        data = mutate(rng.choice(base), rng)
        for backend in ("document", "symusic"):
            t0 = time.perf_counter()
            try:
                outcomes[f"{backend}:{load_and_encode(data, backend)}"] += 1
            except Exception:  # noqa: BLE001 - counting what escapes is the point
                crashes.append(traceback.format_exc(limit=3))
            slowest = max(slowest, (time.perf_counter() - t0, case))
    wall = time.perf_counter() - start
    print(f"fuzz: {args.cases} mutated files x 2 parsers (+ encode), seed {args.seed}; {platform.machine()}, {os.cpu_count()} cores")
    for key in sorted(outcomes):
        print(f"  {key:<28} {outcomes[key]}")
    print(f"crashes: {len(crashes)}; slowest case: {slowest[0] * 1000:.0f} ms (case {slowest[1]}); wall {wall:.1f} s")
    for c in crashes[:3]:
        print(c)


if __name__ == "__main__":
    main()
