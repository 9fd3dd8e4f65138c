"""Scale-out of jaxnag.parallel: runs/s and architectures evaluated/s against the number of devices.

All in one process, side by side: on a CPU the script starts 8 fake devices
(--xla_force_host_platform_device_count, set before JAX starts) and builds meshes over the first
1, 2, 4 and 8 of them. The fake devices share this machine's cores, so on CPU the figures measure
the overhead of sharding (target: the same grid on 8 devices within 1.2x of one device), not a
speed-up. On an accelerator the meshes are over the real devices.

(a) strong scaling: a fixed EDNAG grid (N=30, T=100, NB201 CIFAR-10) on 1, 2, 4, 8 devices, against
    the plain jit(vmap(generate)) of the same keys on one device;
(b) weak scaling: a grid that grows with the devices (seeds per device fixed);
(c) every other registered generator (DiffusionNAG with --checkpoint), one fixed grid on 1 and 8 devices;
(d) the largest EDNAG grid one device holds in one call (XLA's memory estimate against the free
    memory), and a --big grid (default 100,000 seeds) run in one call.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/scaling.py [--seeds 1024] [--repeats 3] [--out docs]
"""

from __future__ import annotations

import os

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, pyplot  # noqa: E402

from jaxnag import ednag, parallel, registry, tables  # noqa: E402

TARGET_OVERHEAD = 1.2
ACCELERATOR_TARGETS = ("1,000 EDNAG NB201 seeds (N=30, T=100) in one call < 0.2 s after compilation; 100,000 seeds "
                       "in one call; >= 1e8 architecture evaluations/s")


def timed(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, after one call that compiles."""
    jax.block_until_ready(fn())
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        out.append(time.perf_counter() - t0)
    return float(np.median(out))


def device_counts() -> list[int]:
    n = jax.device_count()
    return [d for d in (1, 2, 4, 8, 16, 32, 64) if d <= n]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=1024, help="strong-scaling grid (EDNAG seeds)")
    p.add_argument("--per-device", type=int, default=256, help="weak scaling: EDNAG seeds per device")
    p.add_argument("--others", type=int, default=64, help="seeds for the other generators (PG-NAG: a quarter, "
                                                          "DiffusionNAG: one per device)")
    p.add_argument("--big", type=int, default=100_000, help="seeds of the one-call EDNAG grid (0: skip)")
    p.add_argument("--checkpoint", default=None, help="DiffusionNAG score checkpoint (else DiffusionNAG is skipped)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default="docs")
    p.add_argument("--report", action="store_true", help="only rewrite scaling.md and .png from scaling.json")
    args = p.parse_args()
    if args.report:
        out = Path(args.out)
        data = json.loads((out / "scaling.json").read_text())
        args.per_device = data["weak"][0]["seeds"] // data["weak"][0]["devices"]
        write_markdown(out / "scaling.md", data, args)
        plot(out / "scaling.png", data)
        return

    machine = describe()
    platform = jax.devices()[0].platform
    table = tables.load("nb201", "cifar10")
    space = table.space
    cfg = ednag.Config.reference()  # N = 30, T = 100: 3,000 evaluations per run
    evals_per_run = cfg.population * cfg.steps
    counts = device_counts()
    print(f"{machine}; meshes over {counts} devices", flush=True)

    # (a) strong scaling, against the plain vmap on one device
    gen = registry.get("ednag")
    keys = jax.vmap(jax.random.key)(np.arange(args.seeds))
    plain = jax.jit(jax.vmap(lambda k, t: gen.generate(k, t, space, cfg), (0, None)))
    t_plain = timed(lambda: plain(keys, table), args.repeats)
    strong = []
    for d in counts:
        mesh = parallel.mesh(d)
        t = timed(lambda: parallel.run(gen, range(args.seeds), table, space, cfg, mesh=mesh), args.repeats)
        strong.append(dict(devices=d, seeds=args.seeds, seconds=t, runs_per_s=args.seeds / t,
                           evals_per_s=args.seeds * evals_per_run / t))
        print(f"strong {d} devices: {t:.3f} s", flush=True)
    overhead = strong[-1]["seconds"] / strong[0]["seconds"]

    # (b) weak scaling
    weak = []
    for d in counts:
        mesh = parallel.mesh(d)
        n = args.per_device * d
        t = timed(lambda: parallel.run(gen, range(n), table, space, cfg, mesh=mesh), args.repeats)
        weak.append(dict(devices=d, seeds=n, seconds=t, runs_per_s=n / t, evals_per_s=n * evals_per_run / t))
        print(f"weak {d} devices, {n} seeds: {t:.3f} s", flush=True)

    # (c) the other generators, 1 device against all of them
    others = []
    for name in registry.names():
        if name == "ednag":
            continue
        other = registry.get(name)
        ctx = {}
        if name == "pgnag":
            ctx["source"] = tables.load("nb201", "cifar100")  # transfer: CIFAR-100 -> CIFAR-10
        if name == "diffusionnag":
            if not args.checkpoint:
                continue
            from jaxnag.diffusionnag import generator as dn
            ctx["score_model"], _ = dn.load(args.checkpoint, space)
        ocfg = other.config(space, **({"pc_steps": 250} if name == "diffusionnag" else {}))
        n = {"pgnag": max(args.others // 4, counts[-1]), "diffusionnag": counts[-1]}.get(name, args.others)
        row = dict(method=name, seeds=n)
        for d in (1, counts[-1]):
            mesh = parallel.mesh(d)
            res = {}

            def call():
                res["r"] = parallel.run(other, range(n), table, space, ocfg, mesh=mesh, **ctx)
                return res["r"].best_fitness
            t = timed(call, max(1, args.repeats - 1))
            q = float(np.asarray(res["r"].queries).sum())
            row[f"seconds_{d}"] = t
            row[f"runs_per_s_{d}"] = n / t
            row[f"queries_per_s_{d}"] = q / t
        row["overhead"] = row[f"seconds_{counts[-1]}"] / row["seconds_1"]
        others.append(row)
        print(f"{name}: {row}", flush=True)

    # (d) memory: the largest grid one device holds, and a big grid in one call
    fits, per_cell, fixed = parallel.fit(gen, table, space, cfg)
    big = None
    if args.big:
        t0 = time.perf_counter()
        res = parallel.run(gen, range(args.big), table, space, cfg)
        t_first = time.perf_counter() - t0
        t_again = timed(lambda: parallel.run(gen, range(args.big), table, space, cfg).best_fitness, 1)
        hit = float(np.mean(np.asarray(res.best_fitness) >= np.float32(table.optimum)))
        big = dict(seeds=args.big, devices=jax.device_count(), seconds_with_compile=t_first, seconds=t_again,
                   runs_per_s=args.big / t_again, evals_per_s=args.big * evals_per_run / t_again, hit_rate=hit)
        print(f"big: {big}", flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = dict(machine=machine, platform=platform, plain_vmap_seconds=t_plain, strong=strong, weak=weak,
                others=others, overhead=overhead, target_overhead=TARGET_OVERHEAD,
                memory=dict(cells_per_device=fits, bytes_per_cell=per_cell, fixed_bytes=fixed), big=big,
                command="JAXNAG_DATA_DIR=../shared/data python benchmarks/scaling.py " + " ".join(sys.argv[1:]))
    (out / "scaling.json").write_text(json.dumps(data, indent=1))
    write_markdown(out / "scaling.md", data, args)
    plot(out / "scaling.png", data)
    print(f"wrote {out / 'scaling.md'}")


def write_markdown(path: Path, d: dict, args) -> None:
    cpu = d["platform"] == "cpu"
    L = [f"# Scale-out: jaxnag.parallel on {d['strong'][-1]['devices']} devices", "",
         f"Machine: {d['machine']}. Command: `{d['command']}`.", ""]
    if cpu:
        L += ["These are **fake CPU devices** (`--xla_force_host_platform_device_count=8`) in one process, and "
              "all of them share this machine's cores. The figures measure what sharding costs: the same grid "
              "over 8 devices against one device of the same process, and `parallel.run` against the plain "
              "`jit(vmap(generate))` of the same keys. The sharded grid is faster than one device, probably "
              "because XLA runs one CPU device's program mostly on one thread and the fake devices let it use "
              "the other core (not profiled). No accelerator was available to this task, so the "
              f"accelerator targets ({ACCELERATOR_TARGETS}) are **not measured** here; rerun the script on a GPU "
              "or TPU host to measure them.", ""]
    s0 = d["strong"][0]
    L += [f"## Strong scaling: EDNAG (N=30, T=100) on NB201 CIFAR-10, {s0['seeds']} seeds", "",
          f"Plain `jit(vmap(ednag.generate))` on one device: {d['plain_vmap_seconds']:.3f} s "
          f"(`parallel.run` on one device: {s0['seconds'] / d['plain_vmap_seconds']:.2f}x that).", "",
          "| devices | seconds | runs/s | architecture evaluations/s | time vs 1 device |", "|---|---|---|---|---|"]
    for r in d["strong"]:
        L.append(f"| {r['devices']} | {r['seconds']:.3f} | {r['runs_per_s']:,.0f} | {r['evals_per_s']:,.0f} | "
                 f"{r['seconds'] / s0['seconds']:.2f}x |")
    met = "met" if d["overhead"] <= d["target_overhead"] else "**not met**"
    L += ["", f"Overhead of sharding over {d['strong'][-1]['devices']} devices against one, same grid: "
              f"**{d['overhead']:.2f}x** (target <= {d['target_overhead']}x: {met}).", "",
          f"## Weak scaling: {args.per_device} EDNAG seeds per device", "",
          "| devices | seeds | seconds | runs/s | architecture evaluations/s |", "|---|---|---|---|---|"]
    for r in d["weak"]:
        L.append(f"| {r['devices']} | {r['seeds']} | {r['seconds']:.3f} | {r['runs_per_s']:,.0f} | "
                 f"{r['evals_per_s']:,.0f} |")
    if d["others"]:
        n = d["strong"][-1]["devices"]
        L += ["", "## The other generators (default configs but DiffusionNAG's 250 PC steps; PG-NAG transfer from "
                  "CIFAR-100)", "",
              f"| method | seeds | seconds, 1 device | seconds, {n} devices | {n} vs 1 | runs/s ({n}) | "
              f"unique queries/s ({n}) |", "|---|---|---|---|---|---|---|"]
        for r in d["others"]:
            L.append(f"| {r['method']} | {r['seeds']} | {r['seconds_1']:.3f} | {r[f'seconds_{n}']:.3f} | "
                     f"{r['overhead']:.2f}x | {r[f'runs_per_s_{n}']:,.1f} | {r[f'queries_per_s_{n}']:,.0f} |")
    m = d["memory"]
    L += ["", "## Memory", "",
          f"XLA's estimate for EDNAG (N=30, T=100) on NB201: {m['bytes_per_cell'] / 1024:.1f} KiB per run plus "
          f"{m['fixed_bytes'] / 2**20:.1f} MiB fixed (`parallel.fit`), so one device holds about "
          f"**{m['cells_per_device']:,} runs in one call** in 80% of its free memory at the time of the run."]
    if d["big"]:
        b = d["big"]
        L += ["", f"{b['seeds']:,} EDNAG seeds in one call on {b['devices']} devices: {b['seconds_with_compile']:.1f} s "
                  f"with compilation, {b['seconds']:.1f} s after it ({b['runs_per_s']:,.0f} runs/s, "
                  f"{b['evals_per_s']:,.0f} architecture evaluations/s); the optimum was found by "
                  f"{b['hit_rate']:.3%} of them."]
    L += ["", "![runs per second against devices](scaling.png)", ""]
    path.write_text("\n".join(L))


def plot(path: Path, d: dict) -> None:
    plt = pyplot()
    if plt is None:
        return
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, kind in zip(axes, ("strong", "weak")):
        rows = d[kind]
        ax.plot([r["devices"] for r in rows], [r["runs_per_s"] for r in rows], "o-")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("devices")
        ax.set_ylabel("EDNAG runs / s")
        ax.set_title(f"{kind} scaling ({'fake CPU devices' if d['platform'] == 'cpu' else d['platform']})",
                     fontsize=9)
        ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
