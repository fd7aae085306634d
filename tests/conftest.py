"""Shared test set-up. Qt aborts the process without a display unless told to render offscreen, and
that must happen before anything imports Qt, hence here."""

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
POP909 = Path(os.environ.get("POPDIFFUSEQ_POP909", REPO.parent / "shared" / "data" / "pop909"))


@pytest.fixture(scope="session")
def pop909_root() -> Path:
    """The POP909 folder, or a skip saying where it was looked for."""
    if not POP909.is_dir() or not any(POP909.iterdir()):
        pytest.skip(f"POP909 not found at {POP909} (set POPDIFFUSEQ_POP909 to its folder)")
    return POP909
