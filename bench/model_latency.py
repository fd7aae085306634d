"""Latency of Regenerate on this machine: the path before issue 19 against today's, in one run.

Run: ``.venv/bin/python -m bench.model_latency [--repeats 3] [--compile] [--sizes]``

Every figure comes from a fresh Python process (OpenMP reads its wait policy once at start-up), so
"before" runs the engine of commit ``--before`` (extracted with ``git archive``; default: the last commit
before this work) exactly as it was, with torch's default threads, and "now" runs this tree. Printed:

* the machine, torch's threads and wait policy, the load average (other work on the machine counts);
* the demo region (bars 9-12 x 3 tracks, 10 steps, guidance 2) through ``infill()``, 1 and 4 variations,
  idle and next to one competing CPU-bound process (a ``while True`` loop): before vs now;
* levers for 4 variations, each alone on today's code, as ratios to fp32 and to before: dynamic int8
  Linear layers (today's CPU default), a window of 160 rows, 6 steps, guidance off (half the batch),
  torch.compile (``--compile``: compiling takes a minute or more here); int8 and compile also report how
  often their first-step argmax equals fp32's (quality on validation regions: ``bench.lever_quality``);
* a 16-bar melody -> band request (demo bars 1-16, every non-melody track, 4 variations);
* a 4-bar infill of one track of a 100-track, 65,600-note song: total time against the sampler's own;
* the longest pause of a 1 ms ticker thread while another thread loads the model (the editor's case);
* with ``--sizes``: the bare network per model size on a synthetic 160-row request (random weights).
Targets (issue 19): 4 variations <= 1 s idle; 16-bar band <= 8 s; big song <= 3x model time; pauses < 33 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEFORE = "34d60b4"  # main before issue 19
TARGET_S, BAND_TARGET_S, BIG_RATIO, PAUSE_MS = 1.0, 8.0, 3.0, 33.0

# Runs in a fresh interpreter against either engine tree; only the public API both trees share.
_COMMON = r'''
import json, statistics, sys, time
import numpy as np
from engine.demo import demo_score
from engine.infill import Selection, infill, load_default_model
from engine.score import Note, Score, Track
ARGS = json.loads(sys.argv[1])

def median_time(fn, repeats):
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)

def threads():
    import torch
    import os
    return {"intra": torch.get_num_threads(), "inter": torch.get_num_interop_threads(),
            "wait": os.environ.get("OMP_WAIT_POLICY", "default")}

def big_song(n_tracks=100, n_bars=164, per_bar=4, seed=0):
    rng = np.random.default_rng(seed)
    tpb, bar = 480, 4 * 480
    tracks = []
    for t in range(n_tracks):
        base = 36 + (t * 7) % 48
        notes = [Note(b * bar + k * tpb, b * bar + k * tpb + tpb - 20, int(base + rng.integers(0, 12)), 80)
                 for b in range(n_bars) for k in range(per_bar)]
        tracks.append(Track(f"T{t}", (t * 5) % 128, t % 10 == 9, notes))
    return Score(tpb, tracks)
'''

_DEMO = _COMMON + r'''
m = load_default_model()
score = demo_score()
sel = Selection(8, 12, (0, 1, 2))
out = {"threads": threads()}
for v in ARGS["variations"]:
    out[str(v)] = median_time(lambda v=v: infill(score, sel, n_variations=v, guidance=2.0, steps=10, model=m), ARGS["repeats"])
print(json.dumps(out))
'''

_BAND = _COMMON + r'''
m = load_default_model()
score = demo_score()
others = tuple(i for i, t in enumerate(score.tracks) if (t.category or "") != "MELODY")
out = {"tracks": [score.tracks[i].name for i in others]}
try:
    w, c = time.perf_counter(), time.process_time()
    infill(score, Selection(0, 16, others), n_variations=4, guidance=2.0, steps=10, model=m)
    out["s"] = (time.perf_counter() - w, time.process_time() - c)
except Exception as exc:
    out["error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
'''

_BIG = _COMMON + r'''
m = load_default_model()
song = big_song()
model_s = [0.0]
sample = m.diffusion.sample
def timed(*a, **k):
    t0 = time.perf_counter()
    try:
        return sample(*a, **k)
    finally:
        model_s[0] += time.perf_counter() - t0
m.diffusion.sample = timed
w = time.perf_counter()
infill(song, Selection(40, 44, (5,)), n_variations=1, guidance=2.0, steps=10, model=m)
print(json.dumps({"notes": song.n_notes, "tracks": len(song.tracks), "s": time.perf_counter() - w, "model": model_s[0]}))
'''

_PAUSES = r'''
import json, threading, time
done, err = threading.Event(), []
def load():
    try:
        import contextlib
        handoff = contextlib.nullcontext()
        try:
            from engine.threads import prefer_passive_wait, preload_torch_libraries  # today's editor does both
            prefer_passive_wait()
            try:
                from engine.threads import gil_handoff  # and loads under a finer GIL switch interval
                handoff = gil_handoff()
            except ImportError:
                pass
        except ImportError:
            preload_torch_libraries = lambda: None  # noqa: E731 - the engine before issue 19
        with handoff:
            preload_torch_libraries()
            import engine.infill
            engine.infill.load_default_model()
    except Exception as exc:
        err.append(repr(exc))
    finally:
        done.set()
gaps = []
last = t0 = time.perf_counter()
threading.Thread(target=load).start()
while not done.is_set():
    time.sleep(0.001)
    now = time.perf_counter()
    gaps.append(now - last)
    last = now
gaps.sort(reverse=True)
print(json.dumps({"max_ms": 1000 * gaps[0], "top_ms": [round(1000 * g, 1) for g in gaps[:5]],
                  "load_s": last - t0, "error": err[:1]}))
'''

_LEVERS = _COMMON + r'''
import copy, warnings
import torch
warnings.filterwarnings("ignore")
from engine.diffusion import collate
from engine.diffusion.base import guided_forward
from engine.representation.encode import encode
from engine.representation.masks import build_infill_problem
m = load_default_model("cpu", "fp32")  # the levers one at a time, on the fp32 model
score = demo_score()
sel = Selection(8, 12, (0, 1, 2))
reps = ARGS["repeats"]

def run(model, steps=10, guidance=2.0):
    return infill(score, sel, n_variations=4, guidance=guidance, steps=steps, model=model)

def first_step_agreement(model):
    """Share of cells whose first-step argmax equals fp32's, and the largest gap in their log-probability."""
    problem = build_infill_problem(encode(score), sel, None, m.max_rows, m.thin_context)
    batch = collate([problem.example] * 4, m.max_rows)
    t = torch.full((4,), 1000.0)
    with torch.no_grad():
        ref = guided_forward(m.model, batch.tokens, batch, t, 2.0).logits
        got = guided_forward(model.model, batch.tokens, batch, t, 2.0).logits
    gen = batch.generate
    agree, gap = [], 0.0
    for c, (r, g) in enumerate(zip(ref, got)):
        cells = gen[..., c]
        if c == 0 or not cells.any():
            continue
        r, g = r.float().log_softmax(-1)[cells], g.float().log_softmax(-1)[cells]
        agree.append((r.argmax(-1) == g.argmax(-1)).float().mean().item())
        gap = max(gap, (r.max(-1).values - g.gather(-1, r.argmax(-1, keepdim=True))[:, 0]).abs().max().item())
    return float(np.mean(agree)), gap

out = {"fp32": median_time(lambda: run(m), reps)}
q = load_default_model("cpu")  # today's default on a CPU: int8 Linear layers (engine.model.quantize)
out["int8 Linear (now)"] = median_time(lambda: run(q), reps) + first_step_agreement(q)
import engine.infill as engine_infill
build = engine_infill.build_infill_problem
engine_infill.build_infill_problem = lambda enc, part, slots, max_rows, thin: build(enc, part, slots, 160, thin)
out["window 160 rows"] = median_time(lambda: run(m), reps)  # same parts, less context around them
engine_infill.build_infill_problem = build
out["6 steps"] = median_time(lambda: run(m, steps=6), reps)
out["guidance off"] = median_time(lambda: run(m, guidance=1.0), reps)
if ARGS["compile"]:
    c = copy.copy(m)
    c.model = torch.compile(m.model, dynamic=True)
    t0 = time.perf_counter()
    run(c)
    compile_s = time.perf_counter() - t0
    out["torch.compile"] = median_time(lambda: run(c), reps) + first_step_agreement(c) + (compile_s,)
print(json.dumps(out))
'''


def before_tree(ref: str, into: Path) -> Path:
    """The engine and resources of commit ``ref`` unpacked under ``into`` (for the "before" figures)."""
    data = subprocess.run(["git", "-C", str(REPO), "archive", ref, "engine", "resources"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def run_script(code: str, tree: Path, args: dict, competing: bool = False, env: dict | None = None) -> dict:
    """Run ``code`` in a fresh interpreter with ``tree`` first on the path; optionally next to one
    CPU-bound process. Returns its JSON, or {"error": ...}."""
    environ = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "POPDIFFUSEQ_THREADS")}
    environ.update(env or {})
    environ["PYTHONPATH"] = str(tree)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if competing else None
    try:
        if busy is not None:
            time.sleep(0.3)
        done = subprocess.run([sys.executable, "-c", code, json.dumps(args)], cwd=tree, env=environ,
                              capture_output=True, text=True, timeout=3600)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def _fmt(pair: list | tuple | None) -> str:
    return "   failed" if not pair else f"{pair[0]:7.3f} s (CPU {pair[1]:6.2f} s)"


def compare_demo(before: Path, repeats: int) -> dict:
    print("\n== demo region, bars 9-12 x 3 tracks, 10 steps, guidance 2, through infill() (median of "
          f"{repeats}; wall s, CPU s of the process) ==")
    rows = {}
    variants = (("before", before, {}), ("now", REPO, {}),  # now's choice: passive wait, one thread per CPU
                ("now, spinning", REPO, {"OMP_WAIT_POLICY": "ACTIVE"}),  # the alternatives it was picked from
                ("now, 1 thread", REPO, {"POPDIFFUSEQ_THREADS": "1"}))
    for competing in (False, True):
        for name, tree, env in variants:
            got = run_script(_DEMO, tree, {"variations": [1, 4], "repeats": repeats}, competing, env)
            rows[name, competing] = got
            th = got.get("threads", {})
            where = "with 1 competing process" if competing else "idle"
            print(f"{name:<14} {where:<25} threads {th.get('intra', '?')}/{th.get('inter', '?')} wait {th.get('wait', '?'):<8}"
                  f" 1 var {_fmt(got.get('1'))}   4 var {_fmt(got.get('4'))}"
                  + (f"   {got['error']}" if "error" in got else ""), flush=True)
    for competing in (False, True):
        b, n = rows["before", competing], rows["now", competing]
        if "4" in b and "4" in n:
            where = "with 1 competing process" if competing else "idle"
            print(f"now / before, 4 variations, {where}: {n['4'][0] / b['4'][0]:.2f}; now / 1 s target: {n['4'][0] / TARGET_S:.2f}")
    return rows


def levers(repeats: int, compile_: bool, before_4: list[float] | None) -> None:
    print("\n== levers, 4 variations of the demo region, each alone on today's code (ratio to fp32 and to before, "
          "idle; CPU-time ratios hold up better than wall time when other work shares the machine; quality: "
          "python -m bench.lever_quality) ==")
    got = run_script(_LEVERS, REPO, {"repeats": repeats, "compile": compile_})
    if "error" in got:
        print("levers failed:", got["error"])
        return
    base = got["fp32"][0]
    for name, vals in got.items():
        extra = ""
        if name in ("int8 Linear (now)", "torch.compile"):
            extra = f"  first-step argmax = fp32's on {vals[2]:.1%} of cells, max |dlogp| {vals[3]:.3f}"
        if name == "torch.compile":
            extra += f", first call (compiling) {vals[4]:.0f} s"
        vs_before = f"{vals[0] / before_4[0]:5.2f}" if before_4 else "   ? "
        cpu_before = f"{vals[1] / before_4[1]:5.2f}" if before_4 else "   ? "
        print(f"{name:<18} {vals[0]:7.3f} s (CPU {vals[1]:6.2f} s)  / fp32 {vals[0] / base:5.2f} (CPU {vals[1] / got['fp32'][1]:5.2f})"
              f"  / before {vs_before} (CPU {cpu_before}){extra}")
    if not compile_:
        print("torch.compile    not run (pass --compile; compiling the model takes minutes on 2 cores)")


def band_and_big(before: Path) -> None:
    print("\n== 16-bar melody -> band (demo bars 1-16, every non-melody track, 4 variations, idle) ==")
    for name, tree in (("before", before), ("now", REPO)):
        got = run_script(_BAND, tree, {})
        res = f"{got['s'][0]:.2f} s (CPU {got['s'][1]:.2f} s), target {BAND_TARGET_S:.0f} s" if "s" in got else got.get("error")
        print(f"{name:<7} {res}", flush=True)
    print("\n== big song: 4-bar infill of one track, 1 variation (idle) ==")
    for name, tree in (("before", before), ("now", REPO)):
        got = run_script(_BIG, tree, {})
        if "error" in got:
            print(f"{name:<7} {got['error']}")
            continue
        print(f"{name:<7} {got['tracks']} tracks, {got['notes']} notes: {got['s']:.2f} s, sampler {got['model']:.2f} s, "
              f"ratio {got['s'] / got['model']:.2f} (target <= {BIG_RATIO:.0f})", flush=True)


def pauses(before: Path, repeats: int) -> None:
    print(f"\n== longest pause of a 1 ms ticker thread while another thread loads the model (best of {repeats} runs"
          f" each; target < {PAUSE_MS:.0f} ms) ==")
    for name, tree in (("before", before), ("now", REPO)):
        runs = [run_script(_PAUSES, tree, {}) for _ in range(repeats)]
        ok = [r for r in runs if "max_ms" in r and not r.get("error")]
        if not ok:
            print(f"{name:<7} failed: {runs[0]}")
            continue
        best = min(ok, key=lambda r: r["max_ms"])
        print(f"{name:<7} max pause per run {[round(r['max_ms'], 1) for r in ok]} ms; best run's top pauses "
              f"{best['top_ms']} ms; load {best['load_s']:.2f} s", flush=True)


def sizes(repeats: int) -> None:
    """The bare network per model size (random weights) on a synthetic 160-row editor request."""
    import numpy as np
    import torch

    from engine.diffusion import collate, make_diffusion
    from engine.model import ModelConfig, SAModel
    from engine.representation import vocab as V
    from engine.representation.example import SAExample

    rng = np.random.default_rng(0)
    rows, track, bar = [], [], []
    for b in range(8):
        rows.append([V.CHORD_ROW, V.FIRST_POS, V.chord_token(int(rng.integers(12)), ""), V.bar_length_token(32)])
        track.append(0)
        bar.append(b)
        for k, n_notes in ((1, 4), (2, 5), (3, 5), (4, 5)):
            for _ in range(n_notes):
                rows.append([V.FIRST_CATEGORY + k, V.FIRST_POS + int(rng.integers(32)),
                             V.pitch_token(int(rng.integers(36, 84))), V.duration_token(2)])
                track.append(k)
                bar.append(b)
    tokens, track_a, bar_a = np.array(rows), np.array(track), np.array(bar)
    given = np.ones_like(tokens, dtype=bool)
    given[(track_a >= 2) & (bar_a >= 2) & (bar_a < 6)] = False
    ex = SAExample(tokens, given, track_a, bar_a, tempo=2, instruments=np.zeros(V.N_CATEGORIES, dtype=bool))
    print(f"\n== bare network, synthetic {ex.n_rows}-row request, 10 steps, guidance 2, this process ==")
    for name, cfg in (("tiny", ModelConfig.tiny()), ("small", ModelConfig.small()),
                      ("small copy+chord+pc", ModelConfig.small(copy_context=True, chord_context=True, pitch_classes=True))):
        torch.manual_seed(0)
        model, diff = SAModel(cfg).eval(), make_diffusion(cfg)
        out = []
        for v in (1, 4):
            batch = collate([ex], cfg.max_rows).repeat(v)
            g = torch.Generator().manual_seed(0)
            diff.sample(model, batch, steps=10, guidance=2.0, generator=g)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                diff.sample(model, batch, steps=10, guidance=2.0, generator=g)
                times.append(time.perf_counter() - t0)
            out.append(statistics.median(times))
        print(f"{name:<22} {model.num_parameters() / 1e6:5.2f}M  1 var {out[0]:.3f} s  4 var {out[1]:.3f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--before", default=BEFORE, help=f"commit of the 'before' engine (default {BEFORE})")
    ap.add_argument("--compile", action="store_true", help="also measure torch.compile (minutes on 2 cores)")
    ap.add_argument("--sizes", action="store_true", help="also time the bare network per model size")
    ap.add_argument("--skip", default="", help="comma list of sections to skip: demo,levers,band,pauses")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    sys.path.insert(0, str(REPO))
    from engine.threads import choose_threads, usable_cpus

    plan = choose_threads(usable_cpus(), os.environ.get("POPDIFFUSEQ_THREADS"))
    print(f"machine: {machine_line()}; usable CPUs {usable_cpus()}; load average at start "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"now: intra-op threads {plan[0]} ({plan[1]}), inter-op 1, OMP_WAIT_POLICY=PASSIVE; before: torch's "
          "defaults (intra = inter = cores, OpenMP spinning)")
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (no GPU lent to this run)"
        print(f"torch {torch.__version__}; GPU: {gpu}")
    except ImportError:
        pass
    with tempfile.TemporaryDirectory() as tmp:
        before = before_tree(args.before, Path(tmp))
        print(f"before = commit {args.before} unpacked in {before}; now = {REPO}")
        rows = compare_demo(before, args.repeats) if "demo" not in skip else {}
        b4 = rows.get(("before", False), {}).get("4")
        if "levers" not in skip:
            levers(args.repeats, args.compile, b4)
        if "band" not in skip:
            band_and_big(before)
        if "pauses" not in skip:
            pauses(before, args.repeats)
    if args.sizes:
        sizes(args.repeats)
    print(f"\nload average at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())} (figures taken while other "
          "processes ran are slower than idle ones)")


if __name__ == "__main__":
    main()
