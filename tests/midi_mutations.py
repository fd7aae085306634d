"""Mutations of valid MIDI bytes for fuzzing: what a bad download, a broken editor or a bit flip makes."""

from __future__ import annotations

import random

from engine.midi_io import score_to_midi_bytes
from tests import midi_fixtures as fx


def seeds() -> list[bytes]:
    """Valid files to start from: every fixture, as the project writes them."""
    return [score_to_midi_bytes(build()) for build in (fx.pop_band, fx.waltz, fx.six_eight, fx.pickup, fx.overlapping)]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits: a data byte changed within 0-127 (keeps the file parseable, so the
    encoder sees odd pitches, velocities and times), a bit flip, an extreme value, a deletion, a
    duplicated or inserted run, a truncation, or an absurd length."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not b:
            break
        i = rng.randrange(len(b))
        op = rng.choices(range(8), weights=(1, 1, 1, 1, 1, 1, 1, 8))[0]
        if op == 7:
            data_bytes = [k for k in range(14, len(b)) if b[k] < 0x80]
            if data_bytes:
                b[rng.choice(data_bytes)] = rng.randrange(128)
        elif op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i] = rng.choice((0x00, 0x7F, 0x80, 0xFF, 0xF0, 0xF7, 0x90, 0x2F))
        elif op == 2:
            del b[i : i + rng.randint(1, 32)]
        elif op == 3:
            j = rng.randrange(len(b))
            b[j:j] = b[i : i + rng.randint(1, 64)]
        elif op == 4:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 5:
            del b[rng.randrange(14, max(len(b), 15)) :]
        else:  # a length field or a variable-length delta gone absurd
            b[i : i + 4] = b"\xff\xff\xff\x7f"
    return bytes(b)
