"""The generator protocol: compilations per method, and the trained methods as one vmapped call.

1. Compilations: for every generator of the registry, a Python loop over 10 seeds x 3 NB201
   datasets (each table loaded separately) calling one jitted ``generate``; counts the traces
   (each trace is a compilation) and times the loop. Default configs, except DiffusionNAG's
   predictor-corrector steps (``--pc-steps``).
2. PG-NAG transfer (prior from CIFAR-10, generating for CIFAR-100): 10 seeds in one vmapped
   call (wall time with compilation, then again after it, per seed) and the command line
   ``jaxnag generate --method pgnag --prior-from nb201:cifar10 --benchmark nb201 --dataset
   cifar100 --seeds 10`` in a fresh process (wall time, everything included).
3. DiffusionNAG guided generation: 5 seeds x 3 datasets in one call (needs ``--checkpoint``).

  JAXNAG_DATA_DIR=../shared/data python benchmarks/protocol.py --checkpoint DIR [--out docs]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe  # noqa: E402

from jaxnag import registry, tables  # noqa: E402
from jaxnag.diffusionnag import generator  # noqa: E402

DATASETS = ("cifar10", "cifar100", "imagenet16")


def count_compilations(name, args, space, ctx):
    gen = registry.get(name)
    # EDNAG at the reference's hyperparameters: the defaults when docs/protocol.md was made.
    overrides = {"diffusionnag": dict(pc_steps=args.pc_steps), "ednag": dict(reference=True)}.get(name, {})
    cfg = gen.config(space, **overrides)
    traces = []

    @jax.jit
    def run(key, table, c):
        traces.append(1)  # runs once per trace: a compilation
        return gen.generate(key, table, space, cfg, **c)

    t0 = time.perf_counter()
    hits = []
    for d in DATASETS:
        table = tables.load("nb201", d, data_dir=args.data_dir)  # a new Table object each time
        for seed in range(args.seeds):
            res = run(jax.random.key(seed), table, ctx.get(name, {}))
            hits.append(float(res.best_fitness) == float(table.optimum))
    return dict(method=name, runs=len(hits), compilations=len(traces), seconds=time.perf_counter() - t0,
                hit_rate=float(np.mean(hits)), settings=overrides)


def timed_twice(fn, n: int, *args):
    """``fn(keys, *args)`` with n keys: ``(result, seconds with compilation, seconds after it)`` (new keys)."""
    t0 = time.perf_counter()
    res = jax.block_until_ready(fn(jax.random.split(jax.random.key(0), n), *args))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(fn(jax.random.split(jax.random.key(1), n), *args))
    return res, first, time.perf_counter() - t0


def pgnag_transfer(args):
    gen = registry.get("pgnag")
    c10, c100 = (tables.load("nb201", d, data_dir=args.data_dir) for d in ("cifar10", "cifar100"))
    cfg = gen.config(c100.space)
    run = jax.jit(jax.vmap(lambda k, t, s: gen.generate(k, t, t.space, cfg, source=s), in_axes=(0, None, None)))
    res, first, again = timed_twice(run, 10, c100, c10)
    env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", ""))
    cmd = ["jaxnag", "generate", "--method", "pgnag", "--prior-from", "nb201:cifar10", "--benchmark", "nb201",
           "--dataset", "cifar100", "--seeds", "10", "--json"]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    cli = time.perf_counter() - t0
    obj = json.loads(out.stdout)
    best = np.asarray(res.best_fitness)
    return dict(seeds=10, call_with_compilation_s=first, call_after_compilation_s=again, per_seed_s=again / 10,
                hits=int((best == np.float32(c100.optimum)).sum()), best_mean=float(best.mean()),
                cli_command=" ".join(cmd[:-1]), cli_wall_s=cli, cli_hit_rate=obj["hit_rate"],
                train=dict(iterations=cfg.train.iterations, batch=cfg.train.batch))


def diffusionnag_grid(args, score, space):
    gen = registry.get("diffusionnag")
    cfg = gen.config(space, pc_steps=args.pc_steps)
    st = tables.stack([tables.load("nb201", d, data_dir=args.data_dir) for d in DATASETS])
    traces = []

    def one(k, t, s):
        return gen.generate(k, t, space, cfg, score_model=s)

    @jax.jit
    def grid(keys, t, s):
        traces.append(1)
        return jax.vmap(jax.vmap(one, in_axes=(0, None, None)), in_axes=(None, 0, None))(keys, t, s)

    res, first, again = timed_twice(grid, 5, st, score)
    gen_best = np.asarray(res.extras["generated_best"])
    opt = np.asarray(st.optimum)[:, None]
    return dict(seeds=5, datasets=list(DATASETS), pc_steps=args.pc_steps, compilations=len(traces),
                call_with_compilation_s=first, call_after_compilation_s=again,
                top5_has_optimum=[float(x) for x in (gen_best == opt).mean(1)],
                best_of_top5=[float(x) for x in gen_best.mean(1)])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--checkpoint", help="a `jaxnag train-score` folder for DiffusionNAG")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--pc-steps", type=int, default=250)
    p.add_argument("--out", default="docs")
    p.add_argument("--report", action="store_true", help="only rewrite OUT/protocol.md from OUT/protocol.json")
    args = p.parse_args()
    if args.report:
        write(json.loads((Path(args.out) / "protocol.json").read_text()), Path(args.out))
        return
    if not args.checkpoint:
        p.error("--checkpoint DIR is needed (a `jaxnag train-score` folder)")
    space = tables.load("nb201", "cifar10", data_dir=args.data_dir).space
    score, trained = generator.load(args.checkpoint, space)
    ctx = {"pgnag": dict(source=tables.load("nb201", "cifar10", data_dir=args.data_dir)),
           "diffusionnag": dict(score_model=score)}
    out = dict(machine=describe(), checkpoint_steps=trained, command=" ".join(["python"] + sys.argv))
    out["compilations"] = []
    for name in registry.names():
        row = count_compilations(name, args, space, ctx)
        print(row, flush=True)
        out["compilations"].append(row)
    out["pgnag_transfer"] = pgnag_transfer(args)
    print(out["pgnag_transfer"], flush=True)
    out["diffusionnag_grid"] = diffusionnag_grid(args, score, space)
    print(out["diffusionnag_grid"], flush=True)
    write(out, Path(args.out))


def write(out, d: Path):
    d.mkdir(parents=True, exist_ok=True)
    (d / "protocol.json").write_text(json.dumps(out, indent=2))
    pg, dn = out["pgnag_transfer"], out["diffusionnag_grid"]
    lines = [
        "# One protocol for every generator: compilations and vmapped calls",
        "",
        f"Produced by `JAXNAG_DATA_DIR=../shared/data {out['command']}` on {out['machine']}. "
        "Timings on these shared machines are noisy.",
        "",
        f"## Compilations: a Python loop over {out['compilations'][0]['runs'] // 3} seeds x 3 NB201 datasets",
        "",
        "One jitted `generate` per method (default configs of `jaxnag.registry`), each dataset's table "
        "loaded separately (a new `Table` object); a trace of the function is a compilation. "
        "PG-NAG runs the transfer protocol (prior from CIFAR-10, so on CIFAR-10 itself it is scored on "
        "its own table); DiffusionNAG uses the checkpoint below.",
        "",
        "| method | runs | compilations | loop seconds (compilation included) | optimum hit rate | settings |",
        "|---|---|---|---|---|---|",
    ]
    for r in out["compilations"]:
        lines.append(f"| {r['method']} | {r['runs']} | {r['compilations']} | {r['seconds']:.1f} | "
                     f"{r['hit_rate']:.0%} | {r['settings'] or 'defaults'} |")
    lines += [
        "",
        "## PG-NAG transfer, CIFAR-10 prior -> CIFAR-100, 10 seeds in one vmapped call",
        "",
        f"Denoiser: {pg['train']['iterations']} iterations of batch {pg['train']['batch']} (the default). "
        f"One call: {pg['call_with_compilation_s']:.1f} s with compilation, "
        f"{pg['call_after_compilation_s']:.2f} s after it ({pg['per_seed_s']:.2f} s per seed; target 0.5 s). "
        f"Best of 100 = the CIFAR-100 optimum in {pg['hits']}/10 seeds (mean best {pg['best_mean']:.2f}).",
        "",
        f"Command line, a fresh process, everything included: `{pg['cli_command']}`: "
        f"{pg['cli_wall_s']:.1f} s (target 30 s), hit rate {pg['cli_hit_rate']:.0%}.",
        "",
        f"## DiffusionNAG guided generation: {dn['seeds']} seeds x {len(dn['datasets'])} datasets in one call",
        "",
        f"Checkpoint: {out['checkpoint_steps']} training steps; {dn['pc_steps']} predictor-corrector steps, "
        "predictor on 300 random queries, top-5 queried. "
        f"Compilations: {dn['compilations']}. One call: {dn['call_with_compilation_s']:.1f} s with compilation, "
        f"{dn['call_after_compilation_s']:.1f} s after it.",
        "",
        "| dataset | best of top-5 (mean) | top-5 holds the optimum |",
        "|---|---|---|",
    ]
    for ds, b, h in zip(dn["datasets"], dn["best_of_top5"], dn["top5_has_optimum"]):
        lines.append(f"| {ds} | {b:.3f} | {h:.0%} |")
    (d / "protocol.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
