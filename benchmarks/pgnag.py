"""PG-NAG: three protocols, each against the frequency prior, a uniform prior and random sampling.

1. Transfer, no target lookups for the prior: prior scored on NB201 CIFAR-10 (whole
   table, top-20, exact Shapley) generating for CIFAR-100, ImageNet16-120, the
   HW-NAS-Bench-360 NinaPro and Darcy tasks (NB201 space) and, through the op
   mapping, the seven TransNAS-Bench-101 micro tasks.
2. Budgeted, same task: prior from the top-k of B random architectures of the target
   (B = 100, 300; leave-one-out scores), then 100 generated; REA and random search at
   the same total number of unique queries.
3. Whole-table prior on the target itself (the paper's setting), for completeness.

Each cell: SEEDS seeds x 100 generated architectures; "mean" is the mean metric of
the samples (no selection), "best" the best of the 100, "hit" the share of seeds
whose best is the target optimum.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/pgnag.py [--seeds 10] [--out docs]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe  # noqa: E402

from jaxnag import pgnag, prior, registry, tables  # noqa: E402
from jaxnag.discrete import train  # noqa: E402

N = 100
VARIANTS = [("shapley", "diffusion"), ("shapley", "direct"), ("frequency", "diffusion"), ("frequency", "direct"),
            ("uniform", "diffusion"), ("random", "-")]


def name(v):
    return "random" if v[0] == "random" else f"{v[0]}+{v[1]}"


def run_variant(keys, v, target, tcfg, source=None, **cfg):
    """One vmapped call over ``keys``: ``(mean of the samples, best, queries)`` per seed (host arrays)."""
    space = target.space
    if v[0] == "random":
        gen = registry.get("random")
        res = jax.jit(jax.vmap(lambda k, t: gen.generate(k, t, space, gen.config(space, budget=N)),
                               in_axes=(0, None)))(keys, target)
        samples = jax.vmap(lambda k: space.sample_unique(k, N))(keys)  # what random search drew with these keys
        v_all = np.asarray(target(samples), np.float64)
        return np.nanmean(v_all, 1), np.asarray(res.best_fitness, np.float64), np.asarray(res.queries)
    config = pgnag.Config(prior=v[0], sampler=v[1], samples=N, train=tcfg, **cfg)
    res = _pgnag(keys, target, space, config, source)
    values = np.asarray(res.extras["values"], np.float64).reshape(len(keys), -1)
    return np.nanmean(values, 1), np.asarray(res.best_fitness, np.float64), np.asarray(res.queries)


@functools.partial(jax.jit, static_argnames=("space", "config"))
def _pgnag(keys, target, space, config, source):
    return jax.vmap(lambda k: pgnag.generate(k, target, space, config, source=source))(keys)


def row(proto, target, variant, mean, best, queries, **kw):
    hit = float(np.mean(best >= np.float32(target.optimum)))
    r = dict(protocol=proto, target=target.name, variant=variant, mean=float(np.mean(mean)), best=float(best.mean()),
             best_std=float(best.std()), hit=hit, optimum=float(target.optimum),
             target_queries=int(round(float(np.mean(queries)))), **kw)
    print(f"{proto:<12} {target.name:<34} {variant:<20} queries {r['target_queries']:>5} mean {r['mean']:.4f} "
          f"best {r['best']:.4f} hit {hit:.0%}", flush=True)
    return r


def protocol_transfer(args, keys, tcfg, rows):
    src = tables.load("nb201", "cifar10", data_dir=args.data_dir)
    targets = [tables.load("nb201", d, data_dir=args.data_dir) for d in ("cifar100", "imagenet16")] \
        + [tables.load("hw360", d, data_dir=args.data_dir) for d in ("ninapro", "darcy")] \
        + [tables.load("tnb101_micro", t, data_dir=args.data_dir) for t in tables.benchmark("tnb101_micro").datasets]
    for t in targets:
        for v in VARIANTS:
            rows.append(row("transfer", t, name(v), *run_variant(keys, v, t, tcfg, source=src),
                            source="nb201/cifar10"))


def protocol_budget(args, keys, tcfg, rows):
    for ds in ("cifar10", "cifar100", "imagenet16"):
        t = tables.load("nb201", ds, data_dir=args.data_dir)
        for budget in (100, 300):
            q_main = None
            for v in [("shapley", "diffusion"), ("frequency", "direct")]:
                r = row("budget", t, name(v), *run_variant(keys, v, t, tcfg, k=10, prior_method="loo", prior_budget=budget),
                        budget=budget)
                rows.append(r)
                q_main = q_main or r["target_queries"]  # the baselines get PG-NAG's own number of unique queries
            for bname in ("rea", "random"):
                gen = registry.get(bname)
                cfg = gen.config(t.space, budget=q_main)
                res = jax.jit(jax.vmap(lambda k, tab: gen.generate(k, tab, tab.space, cfg), in_axes=(0, None)))(keys, t)
                rows.append(row("budget", t, "random search" if bname == "random" else bname, np.nan,
                                np.asarray(res.best_fitness, np.float64), np.asarray(res.queries), budget=budget))


def protocol_whole(args, keys, tcfg, rows):
    for ds in ("cifar10", "cifar100", "imagenet16"):
        t = tables.load("nb201", ds, data_dir=args.data_dir)
        for v in [("shapley", "diffusion"), ("frequency", "direct")]:
            rows.append(row("whole-table", t, name(v), *run_variant(keys, v, t, tcfg)))


def heatmaps(args, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jaxnag.prior.plot import heatmap
    fig, axes = plt.subplots(1, 3, figsize=(16, 3.6))
    for ax, ds in zip(axes, ("cifar10", "cifar100", "imagenet16")):
        t = tables.load("nb201", ds, data_dir=args.data_dir)
        r = prior.score_table(jax.random.key(0), t, 20, "exact")
        heatmap(r.score, t.space, f"NB201 {ds}: mean Shapley value, top-20", None, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_md(rows, path, args, timing, machine):
    lines = ["# PG-NAG benchmarks", "",
             f"Produced by `JAXNAG_DATA_DIR=../shared/data python benchmarks/pgnag.py --seeds {args.seeds} "
             f"--iterations {args.iterations}` on {machine}. {args.seeds} seeds x {N} generated architectures per "
             "cell, each cell one vmapped call of `pgnag.generate` over the seeds. `mean` = mean metric of the samples "
             "(no selection), `best` = best architecture the run queried (mean over seeds), "
             "`hit` = share of seeds whose best is the target's optimum. Variants: prior (shapley = softmax of "
             "the Shapley score matrix; frequency = per-slot op frequency of the same top-k; uniform) x sampler "
             "(diffusion = the trained prior-limit denoiser; direct = sampling the prior slot by slot); random = "
             "100 distinct uniform architectures.", "",
             f"Timing: the CIFAR-10 -> CIFAR-100 shapley+diffusion cell ({args.seeds} seeds, denoiser "
             f"{args.iterations} iterations of batch {train.DenoiserTrainConfig().batch}): {timing['first']:.1f} s with "
             f"compilation, {timing['again']:.2f} s after it ({timing['again'] / args.seeds:.2f} s per seed).", "",
             "`target lookups`: distinct target architectures whose metric the run used. Transfer = the distinct "
             "generated samples (no lookup for the prior); budget = the B random draws + the leave-one-out scoring "
             "lookups of the top-10 + new samples, and REA / random search get PG-NAG's (shapley+diffusion) number; "
             "there `best` includes the B random draws, as for REA; whole-table = every row of the table "
             "(reading the whole table is how its top-20 are found).", ""]
    for proto in ("transfer", "budget", "whole-table"):
        sub = [r for r in rows if r["protocol"] == proto]
        if not sub:
            continue
        lines += [f"## {proto}", "", "| target | B | variant | target lookups | mean | best | hit |",
                  "|---|---|---|---|---|---|---|"]
        for r in sub:
            mean = "-" if not np.isfinite(r["mean"]) else f"{r['mean']:.4f}"
            lines.append(f"| {r['target']} | {r.get('budget', '-')} | {r['variant']} | {r['target_queries']} | "
                         f"{mean} | {r['best']:.4f} +- {r['best_std']:.4f} | {r['hit']:.0%} |")
        lines.append("")
    path.write_text("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--iterations", type=int, default=train.DenoiserTrainConfig().iterations)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="docs")
    ap.add_argument("--protocols", default="transfer,budget,whole")
    ap.add_argument("--report", action="store_true", help="only rewrite OUT/pgnag.md from OUT/pgnag.json")
    args = ap.parse_args()
    out = Path(args.out)
    if args.report:
        saved = json.loads((out / "pgnag.json").read_text())
        write_md(saved["rows"], out / "pgnag.md", args, saved["timing"], saved["machine"])
        return
    out.mkdir(exist_ok=True)
    keys = jax.random.split(jax.random.key(7), args.seeds)
    tcfg = train.DenoiserTrainConfig(iterations=args.iterations)
    c10, c100 = (tables.load("nb201", d, data_dir=args.data_dir) for d in ("cifar10", "cifar100"))
    t0 = time.perf_counter()
    jax.block_until_ready(run_variant(keys, ("shapley", "diffusion"), c100, tcfg, source=c10))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(run_variant(keys, ("shapley", "diffusion"), c100, tcfg, source=c10))
    timing = dict(first=first, again=time.perf_counter() - t0)
    rows = []
    todo = args.protocols.split(",")
    if "transfer" in todo:
        protocol_transfer(args, keys, tcfg, rows)
    if "budget" in todo:
        protocol_budget(args, keys, tcfg, rows)
    if "whole" in todo:
        protocol_whole(args, keys, tcfg, rows)
    machine = describe()
    (out / "pgnag.json").write_text(json.dumps(dict(rows=rows, timing=timing, machine=machine), indent=1))
    write_md(rows, out / "pgnag.md", args, timing, machine)
    heatmaps(args, out / "pgnag_scores.png")
    print(f"wrote {out / 'pgnag.md'}")


if __name__ == "__main__":
    main()
