"""Fuzzing the loader and the encoder: every mutated file loads (and encodes) or raises the project's
clear error; never another exception, never a hang. ``POPDIFFUSEQ_FUZZ_EXAMPLES`` sets the case count
(1,000 by default); ``python -m bench.fuzz_midi`` runs a bigger campaign and prints its figures."""

from __future__ import annotations

import os
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import MidiReadError, StudioError
from engine.midi_io import read_midi
from engine.representation.encode import encode
from tests.midi_mutations import mutate, seeds

SEEDS = seeds()
EXAMPLES = int(os.environ.get("POPDIFFUSEQ_FUZZ_EXAMPLES", "1000"))


def load_and_encode(data: bytes, backend: str) -> str:
    """'loaded', 'rejected' (MidiReadError) or 'unencodable' (another StudioError from the encoder)."""
    try:
        score = read_midi(data, backend=backend)
    except MidiReadError:
        return "rejected"
    try:
        encode(score)
    except StudioError:
        return "unencodable"
    return "loaded"


@settings(max_examples=EXAMPLES, deadline=5000, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(seed_index=st.integers(0, len(SEEDS) - 1), rng_seed=st.integers(0, 2**32 - 1), backend=st.sampled_from(["document", "symusic"]))
def test_mutated_files_load_or_fail_clearly(seed_index: int, rng_seed: int, backend: str) -> None:
    data = mutate(SEEDS[seed_index], random.Random(rng_seed))
    assert load_and_encode(data, backend) in ("loaded", "rejected", "unencodable")


@settings(max_examples=max(EXAMPLES // 5, 50), deadline=5000, derandomize=True)
@given(data=st.binary(min_size=0, max_size=600))
def test_arbitrary_bytes_with_a_midi_header(data: bytes) -> None:
    header = b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0"
    assert load_and_encode(header + data, "document") in ("loaded", "rejected", "unencodable")
