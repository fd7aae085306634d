"""Run logs: one CSV row per logged step, mirrored to TensorBoard when it is installed."""

from __future__ import annotations

import csv
from pathlib import Path

COLUMNS = ("step", "loss", "val_loss", "val_ppl", "lr", "examples_per_s")


class RunLog:
    """Appends to ``log.csv`` (a resumed run continues the same file after its last logged step)."""

    def __init__(self, out: Path, resume_step: int = 0) -> None:
        self.path = out / "log.csv"
        rows: list[dict[str, str]] = []
        if self.path.exists() and resume_step > 0:  # drop rows logged after the checkpoint we resume from
            with open(self.path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
        with open(self.path, "w", newline="") as f:
            w = csv.DictWriter(f, COLUMNS)
            w.writeheader()
            w.writerows(rows)
        self.tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out / "tensorboard"), purge_step=resume_step + 1 if resume_step else None)
        except ImportError:  # tensorboard not installed: CSV only
            pass

    def write(self, step: int, **values: float | None) -> None:
        row = {"step": step, **{k: ("" if values.get(k) is None else repr(float(values[k]))) for k in COLUMNS[1:]}}
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, COLUMNS).writerow(row)
        if self.tb is not None:
            for k, v in values.items():
                if v is not None:
                    self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def read_log(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
