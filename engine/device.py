"""Where the model runs: the user's GPU when there is one (CUDA, or MPS on a Mac), else the CPU.

``pick_device`` is the pure rule (what is present -> what to use) so it is tested on any machine;
``resolve_device`` asks torch what is present. Precision "auto" means fp16 on CUDA, through autocast
(weights stay fp32, matmuls run in fp16, the sampler's softmaxes in fp32), and dynamic int8 Linear
layers on the CPU (engine.model.quantize: same quality, ~0.7x the CPU time); MPS stays fp32 (its fp16
kernels vary between macOS versions). "fp32" turns both off, e.g. to reproduce fp32 evaluation figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from engine.errors import StudioError

if TYPE_CHECKING:
    import torch

DeviceName = Literal["auto", "cpu", "cuda", "mps"]
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "fp16", "int8")


class DeviceError(StudioError):
    """The device asked for is not present (e.g. ``--device cuda`` on a machine without CUDA)."""


@dataclass(frozen=True)
class DeviceChoice:
    """The device the model runs on and how (``half``: fp16 autocast on CUDA; ``int8``: dynamic int8
    Linear layers on the CPU), with a line for the status bar."""

    kind: str = "cpu"  # "cpu", "cuda" or "mps"
    index: int | None = None  # the CUDA device number
    half: bool = False
    label: str = "CPU"
    int8: bool = False

    @property
    def torch_name(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"

    def torch_device(self) -> torch.device:
        import torch

        return torch.device(self.torch_name)


def pick_device(asked: str, cuda: bool, mps: bool) -> str:
    """The device kind for ``asked`` (auto/cpu/cuda/mps) given what is present; auto prefers CUDA, then MPS.

    Raises DeviceError for an unknown name or a device that is not present."""
    asked = (asked or "auto").lower()
    if asked not in DEVICE_CHOICES:
        raise DeviceError(f"unknown device {asked!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if asked == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if asked == "cuda" and not cuda:
        raise DeviceError("--device cuda: this machine has no CUDA GPU that torch can use (or torch was built without CUDA)")
    if asked == "mps" and not mps:
        raise DeviceError("--device mps: Apple's Metal backend is not available here")
    return asked


def _check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise DeviceError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")


def use_half(kind: str, precision: str = "auto") -> bool:
    """fp16 autocast for ``kind``: on CUDA with precision auto or fp16; never elsewhere."""
    _check_precision(precision)
    return kind == "cuda" and precision in ("auto", "fp16")


def use_int8(kind: str, precision: str = "auto") -> bool:
    """Dynamic int8 Linear layers for ``kind``: on the CPU with precision auto or int8; never elsewhere."""
    _check_precision(precision)
    return kind == "cpu" and precision in ("auto", "int8")


def resolve_device(asked: str = "auto", precision: str = "auto") -> DeviceChoice:
    """Ask torch what is present and apply ``pick_device`` and ``use_half``."""
    import torch

    mps_backend = getattr(torch.backends, "mps", None)
    mps = bool(mps_backend is not None and mps_backend.is_available())
    kind = pick_device(asked, torch.cuda.is_available(), mps)
    half = use_half(kind, precision)
    if kind == "cuda":
        index = torch.cuda.current_device()
        name = torch.cuda.get_device_name(index)
        return DeviceChoice("cuda", index, half, f"GPU: {name}{' (fp16)' if half else ''}")
    if kind == "mps":
        return DeviceChoice("mps", None, False, "GPU: Apple Metal")
    int8 = use_int8(kind, precision)
    return DeviceChoice("cpu", None, False, f"CPU ({torch.get_num_threads()} threads{', int8' if int8 else ''})", int8)
