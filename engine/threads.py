"""How many CPU threads the model uses, and how they wait: chosen so a busy machine does not stall it.

torch runs its CPU kernels on an OpenMP pool whose threads spin while they wait for each other. When
another CPU-bound process holds one of the cores, every parallel region waits for the thread that lost
its core, and the spinning threads take the core from the one doing the work. Measured on the 2-core
project machine (``python -m bench.model_latency --repeats 3``, 4 variations of the demo region, other
sessions' work on the machine, load average ~6.5), wall seconds without / with one competing
``while True`` process: 2 spinning threads 5.1 / 9.5; 2 threads with ``OMP_WAIT_POLICY=PASSIVE`` (they
sleep instead of spinning) 1.6 / 2.9; 1 passive thread 1.7 / 3.2. So the engine asks OpenMP for passive
waiting and keeps one intra-op thread per usable core; inter-op parallelism is unused by the sampler
and gets one thread. The wait policy is read once, when torch's OpenMP runtime starts, so
``prefer_passive_wait`` must run before the first ``import torch``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

THREADS_ENV = "POPDIFFUSEQ_THREADS"  # an explicit intra-op thread count wins over the choice below
WAIT_ENV = "OMP_WAIT_POLICY"
MAX_THREADS = 8  # a 256-row window does not use more cores well (small matrices)


@dataclass(frozen=True)
class ThreadPlan:
    """What ``configure_torch_threads`` set, for the bench and the editor's status line."""

    intra_op: int
    inter_op: int
    wait_policy: str  # the OpenMP wait policy in force ("PASSIVE", "ACTIVE" or "default")
    reason: str


def usable_cpus() -> int:
    """CPUs this process may run on (the affinity mask where the OS has one), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def prefer_passive_wait() -> bool:
    """Ask OpenMP to let waiting threads sleep (``OMP_WAIT_POLICY=PASSIVE``) unless the user set a policy.

    Returns True when the policy will take effect, i.e. torch was not imported yet (OpenMP reads the
    variable once at start-up); False when torch is already loaded, so the caller knows it came too late."""
    os.environ.setdefault(WAIT_ENV, "PASSIVE")
    return "torch" not in sys.modules


def choose_threads(cpus: int, requested: str | None = None) -> tuple[int, str]:
    """(intra-op threads, why) for ``cpus`` usable CPUs; ``requested`` is $POPDIFFUSEQ_THREADS if set.

    Raises ValueError for a requested value that is not a positive integer."""
    if requested:
        try:
            n = int(requested)
        except ValueError:
            raise ValueError(f"{THREADS_ENV} must be a positive integer, got {requested!r}") from None
        if n < 1:
            raise ValueError(f"{THREADS_ENV} must be a positive integer, got {requested!r}")
        return n, f"{THREADS_ENV}={n}"
    n = max(1, min(cpus, MAX_THREADS))
    return n, f"one per usable CPU ({cpus}, at most {MAX_THREADS})"


def configure_torch_threads() -> ThreadPlan:
    """Set torch's intra-op threads (``choose_threads``) and one inter-op thread; safe to call again.

    A count the program already lowered (tests and benches call ``torch.set_num_threads(1)``) is kept
    unless $POPDIFFUSEQ_THREADS asks otherwise. torch refuses a new inter-op count once inter-op work has
    started; that case keeps torch's count."""
    import torch

    requested = os.environ.get(THREADS_ENV)
    n, reason = choose_threads(usable_cpus(), requested)
    if requested or torch.get_num_threads() > n:
        torch.set_num_threads(n)
    else:
        n, reason = torch.get_num_threads(), "as set by the program (at most one per usable CPU)"
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or inter-op work already ran in this process
        pass
    return ThreadPlan(n, torch.get_num_interop_threads(), (os.environ.get(WAIT_ENV) or "default").upper(), reason)


# Loaded in this order, each only if present: OpenMP, the core, the CUDA parts of a CUDA build, the bindings.
_TORCH_LIBRARIES = ("libgomp*.so*", "libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so",
                    "libtorch.so", "libtorch_python.so", "libc10.dylib", "libtorch_cpu.dylib", "libtorch.dylib",
                    "libtorch_python.dylib")


def preload_torch_libraries() -> list[str]:
    """Map torch's shared libraries into the process with the GIL released, before ``import torch``.

    ``import torch`` maps ~400 MB of libraries and runs their static initialisers while holding the GIL:
    on the 2-core machine the editor's window thread stalled for 170-240 ms at once while the model
    loaded in the background. ``dlopen`` called through ctypes (a foreign call, which releases the GIL)
    does that work without blocking other threads; the import then finds the libraries already loaded.
    POSIX only; returns the libraries loaded ([] elsewhere, or when torch is imported or not installed)."""
    import ctypes
    import glob
    import importlib.util

    if "torch" in sys.modules or os.name != "posix":
        return []
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return []
    root = os.path.dirname(spec.origin)
    try:
        libc = ctypes.CDLL(None)
        dlopen = libc.dlopen
    except (OSError, AttributeError):
        return []
    dlopen.restype, dlopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_int]
    paths = [p for pattern in _TORCH_LIBRARIES for p in sorted(glob.glob(os.path.join(root, "lib", pattern)))]
    paths += sorted(glob.glob(os.path.join(root, "_C.*.so")))  # the extension itself: its initialisers too
    loaded = []
    for path in paths:
        if dlopen(path.encode(), os.RTLD_NOW | os.RTLD_GLOBAL):
            loaded.append(os.path.basename(path))
    return loaded


# While torch is imported in a background thread the interpreter hands the GIL over only every
# sys.getswitchinterval() seconds (5 ms by default) of bytecode, and ``import torch`` runs ~0.7 s of
# module-level registration code (torch._prims, torch._meta_registrations): measured on the 2-core
# machine, a 1 ms ticker on another thread stalled 50-70 ms at a time. A 0.2 ms interval during the
# load brought every stall to 29-31 ms (bench.model_latency, three runs) and the editor's longest
# event-loop gap from 60-64 ms to 36-39 ms (bench.editor_speed, three runs each); 0.1 and 0.05 ms gave
# 36 and 35 ms, so what is left is single C calls inside torch's import. The interval is restored
# afterwards, since finer switching costs throughput.
LOAD_SWITCH_INTERVAL_S = 0.0002


class gil_handoff:  # noqa: N801 - used as a context manager, like contextlib's
    """``with gil_handoff(): import torch ...``: a finer GIL switch interval for the block, restored after."""

    def __init__(self, interval: float = LOAD_SWITCH_INTERVAL_S) -> None:
        self.interval = interval
        self.previous = sys.getswitchinterval()

    def __enter__(self) -> gil_handoff:
        self.previous = sys.getswitchinterval()
        sys.setswitchinterval(min(self.interval, self.previous))
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setswitchinterval(self.previous)
