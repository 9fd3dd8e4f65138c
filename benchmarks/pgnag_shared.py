"""PG-NAG with one denoiser shared by the seeds (``Config(denoiser_seed=0)``) against a denoiser per seed.

Transfer protocol (prior scored on NB201 CIFAR-10, whole table, top-20, exact Shapley; the registry's
defaults) generating 100 architectures for CIFAR-100 and ImageNet16-120. Side by side in one process:

- time: one jitted call of ``--time-seeds`` seeds vmapped, median of ``--repeats`` calls after compilation
  (new keys each call), per seed;
- quality on ``--seeds`` seeds (one call each): hit rate (best of 100 = the target's optimum), mean best,
  mean of the samples (no selection), distinct samples per seed, and the denoiser's final loss.

With ``--iterations 50,100,200,400`` it compares instead the denoiser's training length (a denoiser per
seed, warm-up ``min(20, iterations // 4)``), the same columns, into ``pgnag_iterations.md``: how many
training iterations the quality needs (issue 27).

  JAXNAG_DATA_DIR=../shared/data python benchmarks/pgnag_shared.py [--seeds 100] [--out docs]
  JAXNAG_DATA_DIR=../shared/data python benchmarks/pgnag_shared.py --iterations 50,100,200,400 --seeds 50 --out docs

With ``--sizes 64/4,32/2,32/4/1`` it compares the denoiser's width / heads [/ layers] at the default training
length (a denoiser per seed) into ``pgnag_sizes.md``: whether a smaller denoiser keeps the quality (issue 27).

  JAXNAG_DATA_DIR=../shared/data python benchmarks/pgnag_shared.py --sizes 64/4,32/2 --seed-base 1 --out docs

``--seed-base B`` draws the quality seeds from key B instead of key 0, and ``--source`` scores the prior on
another NB201 dataset (the targets are then the other two): a choice made on one sweep is checked on seeds and a
transfer pair it did not see (``--name`` names the report).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

from jaxnag import registry, tables

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, report  # noqa: E402

DATASETS = ("cifar10", "cifar100", "imagenet16")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100, help="seeds for the quality columns")
    ap.add_argument("--time-seeds", type=int, default=10, help="seeds in the timed call")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=None, help="folder for pgnag_shared.md / .json")
    ap.add_argument("--iterations", default=None,
                    help="comma list of denoiser training iterations to compare (a denoiser per seed each)")
    ap.add_argument("--sizes", default=None,
                    help="comma list of denoiser d/heads[/layers] to compare (a denoiser per seed each)")
    ap.add_argument("--seed-base", type=int, default=0, help="the quality seeds are split from this key")
    ap.add_argument("--source", default="cifar10", choices=DATASETS, help="the NB201 dataset the prior is scored on")
    ap.add_argument("--name", default=None, help="report name (default pgnag_shared or pgnag_iterations)")
    args = ap.parse_args(argv)
    gen = registry.get("pgnag")
    source = tables.load("nb201", args.source, data_dir=args.data_dir)
    base = gen.config(source.space)
    variants = {"a denoiser per seed": base, "one shared denoiser": base.replace(denoiser_seed=0)}
    if args.iterations:
        its = [int(v) for v in args.iterations.split(",")]
        variants = {f"{n} iterations": base.replace(train=base.train.replace(iterations=n,
                                                                             warmup=min(base.train.warmup, n // 4)))
                    for n in its}
    if args.sizes:
        variants = {}
        for spec in args.sizes.split(","):
            d, heads, *layers = (int(v) for v in spec.split("/"))
            size = dict(d=d, heads=heads, layers=layers[0] if layers else base.train.layers)
            variants[f"d={size['d']}, {size['heads']} heads, {size['layers']} layers"] = base.replace(
                train=base.train.replace(**size))
    rows = []
    for target_name in (d for d in DATASETS if d != args.source):
        target = tables.load("nb201", target_name, data_dir=args.data_dir)
        opt = np.float32(target.optimum)
        calls = {label: jax.jit(jax.vmap(lambda k, t, s, c=cfg: gen.generate(k, t, t.space, c, source=s),
                                         in_axes=(0, None, None)))
                 for label, cfg in variants.items()}
        times = {label: [] for label in variants}
        for label, fn in calls.items():  # compile both first
            jax.block_until_ready(fn(jax.random.split(jax.random.key(99), args.time_seeds), target, source))
        for r in range(args.repeats):  # alternate the two, new keys each call
            for label, fn in calls.items():
                keys = jax.random.split(jax.random.key(1000 + r), args.time_seeds)
                t0 = time.perf_counter()
                jax.block_until_ready(fn(keys, target, source))
                times[label].append(time.perf_counter() - t0)
        for label, fn in calls.items():
            res = fn(jax.random.split(jax.random.key(args.seed_base), args.seeds), target, source)
            best = np.asarray(res.best_fitness)
            vals = np.asarray(res.extras["values"])[:, 0]  # [seeds, samples] of the one round
            samples = np.asarray(res.extras["samples"])[:, 0]
            distinct = [len({tuple(row) for row in s}) for s in samples]
            loss = np.asarray(res.extras["final_loss"])
            row = dict(target=target_name, variant=label, seeds=args.seeds,
                       per_seed_s=statistics.median(times[label]) / args.time_seeds,
                       call_s=statistics.median(times[label]), hit=float((best == opt).mean()),
                       mean_best=float(best.mean()), mean_sample=float(np.nanmean(vals)),
                       distinct=float(np.mean(distinct)), final_loss=float(loss.mean()),
                       loss_spread=float(loss.std()))
            rows.append(row)
            print(json.dumps(row), flush=True)
    name = args.name or ("pgnag_iterations" if args.iterations else "pgnag_sizes" if args.sizes else "pgnag_shared")
    report(args.out, name, dict(machine=describe(), rows=rows, args=dict(
        seeds=args.seeds, time_seeds=args.time_seeds, repeats=args.repeats, iterations=args.iterations,
        sizes=args.sizes, seed_base=args.seed_base, source=args.source)), text(rows, args))
    return 0


def _extra(args) -> str:
    """The options that differ from the defaults, as typed on the command line."""
    return "".join(f" --{k.replace('_', '-')} {v}" for k, v, d in (
        ("seed_base", args.seed_base, 0), ("source", args.source, "cifar10"), ("name", args.name, None)) if v != d)


def text(rows, args) -> str:
    if args.iterations or args.sizes:
        return iterations_text(rows, args)
    lines = ["# PG-NAG: one denoiser shared by the seeds, against one per seed", "",
             f"`python benchmarks/pgnag_shared.py --seeds {args.seeds} --time-seeds {args.time_seeds} --repeats "
             f"{args.repeats}{_extra(args)}` on {describe()}. Transfer protocol: prior from NB201 {args.source} "
             "(whole table, top-20, "
             "exact Shapley), 100 architectures generated per seed, the registry's defaults (denoiser: 200 "
             "iterations of batch 64). Time: one jitted call of "
             f"{args.time_seeds} vmapped seeds, median of {args.repeats} after compilation, the two variants "
             "alternating in one process. Quality: "
             f"{args.seeds} seeds. Shared: `pgnag.Config(denoiser_seed=0)` (CLI `--denoiser-seed 0`): the seeds "
             "train one denoiser (computed once in the vmapped call) and differ only in their samples. Read the "
             "quality columns with that in mind: the shared rows rest on one training draw (denoiser seed 0), the "
             "per-seed rows average over as many draws as seeds.", "",
             *_HEADER]
    return "\n".join(lines + [_row(r) for r in rows]) + "\n"


_HEADER = ("| target | variant | s per seed | call s | hit (best of 100 = optimum) | mean best | mean of samples "
           "| distinct samples | final loss (mean, spread over seeds) |", "|---|---|---|---|---|---|---|---|---|")


def _row(r) -> str:
    return (f"| {r['target']} | {r['variant']} | {r['per_seed_s']:.3f} | {r['call_s']:.2f} | {r['hit']:.0%} | "
            f"{r['mean_best']:.3f} | {r['mean_sample']:.3f} | {r['distinct']:.1f} | {r['final_loss']:.4f} "
            f"({r['loss_spread']:.4f}) |")


def iterations_text(rows, args) -> str:
    what, changed = ((f"--iterations {args.iterations}", "the denoiser's training iterations (batch 64, warm-up "
                      "min(20, iterations / 4))") if args.iterations else
                     (f"--sizes {args.sizes}", "the denoiser's width, heads and layers (200 iterations of batch 64)"))
    title = "how long the denoiser needs to train" if args.iterations else "how large the denoiser needs to be"
    lines = [f"# PG-NAG: {title}", "",
             f"`python benchmarks/pgnag_shared.py {what} --seeds {args.seeds} --time-seeds "
             f"{args.time_seeds} --repeats {args.repeats}{_extra(args)}` on {describe()}. Transfer protocol: prior "
             f"from NB201 {args.source} (whole table, top-20, exact Shapley), 100 architectures generated per seed, "
             f"the registry's defaults but for {changed}; a denoiser per seed. Time: one jitted call of "
             f"{args.time_seeds} vmapped seeds, median of {args.repeats} after compilation, the variants "
             f"alternating in one process. Quality: {args.seeds} seeds (keys split from key {args.seed_base}).", "",
             *_HEADER]
    return "\n".join(lines + [_row(r) for r in rows]) + "\n"


if __name__ == "__main__":
    sys.exit(main())
