"""Where the model runs: the user's GPU when there is one (CUDA, or MPS on a Mac), else the CPU.

``pick_device`` is the pure rule (what is present -> what to use) so it is tested on any machine;
``resolve_device`` asks torch what is present. Half precision is used on CUDA only, through autocast
(weights stay fp32, matmuls run in fp16, the sampler's softmaxes in fp32): MPS fp16 kernels vary between
macOS versions and CPUs gain nothing from fp16.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from engine.errors import StudioError

if TYPE_CHECKING:
    import torch

DeviceName = Literal["auto", "cpu", "cuda", "mps"]
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")


class DeviceError(StudioError):
    """The device asked for is not present (e.g. ``--device cuda`` on a machine without CUDA)."""


@dataclass(frozen=True)
class DeviceChoice:
    """The device the model runs on and how (``half``: fp16 autocast), with a line for the status bar."""

    kind: str = "cpu"  # "cpu", "cuda" or "mps"
    index: int | None = None  # the CUDA device number
    half: bool = False
    label: str = "CPU"

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


def use_half(kind: str, precision: str = "auto") -> bool:
    """fp16 autocast for ``kind``: on CUDA unless ``precision`` is "fp32"; never elsewhere."""
    if precision not in ("auto", "fp16", "fp32"):
        raise DeviceError(f"unknown precision {precision!r}; choose auto, fp16 or fp32")
    return kind == "cuda" and precision != "fp32"


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
    return DeviceChoice("cpu", None, False, f"CPU ({torch.get_num_threads()} threads)")
