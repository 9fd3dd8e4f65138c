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
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxnag import pgnag, prior, spaces, tables
from jaxnag.baselines import random_search, rea
from jaxnag.discrete import train

N = 100


def evaluate(table, samples):
    v = np.asarray(table(jnp.asarray(samples)), np.float64)
    v = v[np.isfinite(v)]
    return v.mean(), v.max()


def generate(key, variant, scoring, src, dst, tcfg, eps=0.05):
    """Samples for one (prior, sampler) variant; returns (samples [N, R], training seconds)."""
    prior_name, sampler = variant
    if prior_name == "random":
        return np.asarray(dst.sample_unique(key, N)), 0.0
    cfg = pgnag.Config(prior=prior_name, sampler=sampler, samples=N, eps=eps, train=tcfg)
    k_train, k_sample = (key, key) if sampler == "direct" else jax.random.split(key)
    samples, _, _, seconds = pgnag.generate_samples(k_train, k_sample, scoring, src, dst, cfg)
    return samples, seconds


VARIANTS = [("shapley", "diffusion"), ("shapley", "direct"), ("frequency", "diffusion"), ("frequency", "direct"),
            ("uniform", "diffusion"), ("random", "-")]


def name(v):
    return "random" if v[0] == "random" else f"{v[0]}+{v[1]}"


def protocol_transfer(args, keys, tcfg, rows, train_times):
    src_table = tables.load("nb201", "cifar10", data_dir=args.data_dir)
    scoring = prior.score_table(jax.random.key(0), src_table, 20, "exact")
    targets = {"nb201": [tables.load("nb201", d, data_dir=args.data_dir) for d in ("cifar100", "imagenet16")]
               + [tables.load("hw360", d, data_dir=args.data_dir) for d in ("ninapro", "darcy")],
               "tnb101_micro": [tables.load("tnb101_micro", t, data_dir=args.data_dir)
                                for t in tables.benchmark("tnb101_micro").datasets]}
    for space_name, tgts in targets.items():
        dst = spaces.get(space_name)
        for v in VARIANTS:
            res = {t.name: [] for t in tgts}
            for key in keys:
                samples, secs = generate(key, v, scoring, src_table.space, dst, tcfg)
                if secs:
                    train_times.append(secs)
                for t in tgts:
                    res[t.name].append(evaluate(t, samples))
            for t in tgts:
                arr = np.asarray(res[t.name])
                rows.append(dict(protocol="transfer", source="nb201/cifar10", target=t.name, variant=name(v),
                                 mean=arr[:, 0].mean(), best=arr[:, 1].mean(), best_std=arr[:, 1].std(),
                                 hit=float(np.mean(arr[:, 1] >= np.float32(t.optimum))),
                                 optimum=float(t.optimum), target_queries=N, prior_lookups=scoring.lookups))
                print(f"transfer {t.name:<34} {name(v):<20} mean {rows[-1]['mean']:.4f} best {rows[-1]['best']:.4f}"
                      f" hit {rows[-1]['hit']:.0%}", flush=True)


def protocol_budget(args, keys, tcfg, rows, train_times):
    for ds in ("cifar10", "cifar100", "imagenet16"):
        t = tables.load("nb201", ds, data_dir=args.data_dir)
        space = t.space
        for budget in (100, 300):
            for v in [("shapley", "diffusion"), ("frequency", "direct")]:
                best, mean, queries = [], [], []
                for key in keys:
                    k1, k2 = jax.random.split(key)
                    scoring = prior.score_table(k1, t, 10, "loo", budget=budget)
                    samples, secs = generate(k2, v, scoring, space, space, tcfg)
                    if secs:
                        train_times.append(secs)
                    m, _ = evaluate(t, samples)
                    ranks = np.unique(np.asarray(space.rank(samples)))
                    new = int(np.sum(~np.isin(ranks, np.asarray(space.rank(scoring.top_ops)))))
                    queries.append(scoring.unique_lookups + new)
                    best.append(max(float(np.max(scoring.top_values)), float(np.nanmax(np.asarray(t(samples))))))
                    mean.append(m)
                q = int(round(np.mean(queries)))
                if v == ("shapley", "diffusion"):
                    q_main = q  # the baselines get PG-NAG's own number of unique queries
                rows.append(dict(protocol="budget", target=t.name, budget=budget, variant=name(v), mean=np.mean(mean),
                                 best=np.mean(best), best_std=np.std(best),
                                 hit=float(np.mean(np.asarray(best) >= np.float32(t.optimum))),
                                 optimum=float(t.optimum), target_queries=q))
                print(f"budget B={budget} {t.name:<26} {name(v):<20} queries {q} best {rows[-1]['best']:.4f} "
                      f"hit {rows[-1]['hit']:.0%}", flush=True)
            for bname, fn in (("rea", rea), ("random search", random_search)):
                q = q_main
                r = jax.jit(jax.vmap(lambda k: fn(k, t, space, q)))(keys)
                b = np.asarray(r.best_fitness, np.float64)
                rows.append(dict(protocol="budget", target=t.name, budget=budget, variant=bname, mean=float("nan"),
                                 best=b.mean(), best_std=b.std(), hit=float(np.mean(b >= np.float32(t.optimum))),
                                 optimum=float(t.optimum), target_queries=q))
                print(f"budget B={budget} {t.name:<26} {bname:<20} queries {q} best {b.mean():.4f} "
                      f"hit {rows[-1]['hit']:.0%}", flush=True)


def protocol_whole(args, keys, tcfg, rows, train_times):
    for ds in ("cifar10", "cifar100", "imagenet16"):
        t = tables.load("nb201", ds, data_dir=args.data_dir)
        scoring = prior.score_table(jax.random.key(0), t, 20, "exact")
        for v in [("shapley", "diffusion"), ("frequency", "direct")]:
            arr = np.asarray([evaluate(t, generate(k, v, scoring, t.space, t.space, tcfg)[0]) for k in keys])
            rows.append(dict(protocol="whole-table", target=t.name, variant=name(v), mean=arr[:, 0].mean(),
                             best=arr[:, 1].mean(), best_std=arr[:, 1].std(),
                             hit=float(np.mean(arr[:, 1] >= np.float32(t.optimum))), optimum=float(t.optimum),
                             target_queries=scoring.unique_lookups + N))
            print(f"whole {t.name:<28} {name(v):<20} best {rows[-1]['best']:.4f} hit {rows[-1]['hit']:.0%}", flush=True)


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


def write_md(rows, path, args, train_mean, trainings, shapley_s):
    lines = ["# PG-NAG benchmarks", "",
             f"Produced by `JAXNAG_DATA_DIR=../shared/data python benchmarks/pgnag.py --seeds {args.seeds} "
             f"--iterations {args.iterations}` (CPU, 2 cores). {args.seeds} seeds x {N} generated architectures per "
             "cell. `mean` = mean metric of the samples (no selection), `best` = best of the 100 (mean over seeds), "
             "`hit` = share of seeds whose best is the target's optimum. Variants: prior (shapley = softmax of "
             "the Shapley score matrix; frequency = per-slot op frequency of the same top-k; uniform) x sampler "
             "(diffusion = the trained prior-limit denoiser; direct = sampling the prior slot by slot); random = "
             "100 distinct uniform architectures.", "",
             f"Exact Shapley of the NB201 CIFAR-10 top-20 (1,280 lookups), after compilation: {shapley_s * 1e3:.2f} ms. "
             f"Denoiser training ({args.iterations} iterations, batch 256, d 64, 2 layers): "
             f"{train_mean:.1f} s on average over {trainings} trainings." if trainings else "",
             "", "`target lookups`: transfer = the 100 generated samples evaluated on the target (no lookup for "
             "the prior); budget = unique architectures queried on the target (B random + leave-one-out scoring "
             "of the top-10 + new samples), and REA / random search get PG-NAG's (shapley+diffusion) number; there "
             "`best` is the best architecture among all target lookups (the B random ones included), as for REA; "
             "whole-table = scoring lookups + samples (the whole table was read to find the top-20).", ""]
    for proto in ("transfer", "budget", "whole-table"):
        sub = [r for r in rows if r["protocol"] == proto]
        if not sub:
            continue
        lines += [f"## {proto}", "", "| target | B | variant | target lookups | mean | best of 100 | hit |",
                  "|---|---|---|---|---|---|---|"]
        for r in sub:
            lines.append(f"| {r['target']} | {r.get('budget', '-')} | {r['variant']} | {r['target_queries']} | "
                         f"{r['mean']:.4f} | {r['best']:.4f} +- {r['best_std']:.4f} | {r['hit']:.0%} |")
        lines.append("")
    path.write_text("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--iterations", type=int, default=800)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="docs")
    ap.add_argument("--protocols", default="transfer,budget,whole")
    ap.add_argument("--report", action="store_true", help="only rewrite OUT/pgnag.md from OUT/pgnag.json")
    args = ap.parse_args()
    if args.report:
        saved = json.loads((Path(args.out) / "pgnag.json").read_text())
        write_md(saved["rows"], Path(args.out) / "pgnag.md", args, saved["train_seconds_mean"], saved["trainings"],
                 saved["shapley_s"])
        return
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    keys = jax.random.split(jax.random.key(7), args.seeds)
    tcfg = train.TrainConfig(iterations=args.iterations)
    c10 = tables.load("nb201", "cifar10", data_dir=args.data_dir)
    top, _ = c10.top_k(20)
    f = jax.jit(lambda o: prior.shapley.exact(c10, o, prior.shapley.removed_choices(c10.space))[0])
    jax.block_until_ready(f(jnp.asarray(top)))
    t0 = time.perf_counter()
    for _ in range(20):
        jax.block_until_ready(f(jnp.asarray(top)))
    shapley_s = (time.perf_counter() - t0) / 20
    rows, train_times = [], []
    todo = args.protocols.split(",")
    if "transfer" in todo:
        protocol_transfer(args, keys, tcfg, rows, train_times)
    if "budget" in todo:
        protocol_budget(args, keys, tcfg, rows, train_times)
    if "whole" in todo:
        protocol_whole(args, keys, tcfg, rows, train_times)
    train_mean = float(np.mean(train_times)) if train_times else float("nan")
    (out / "pgnag.json").write_text(json.dumps(dict(rows=rows, train_seconds_mean=train_mean,
                                                    trainings=len(train_times), shapley_s=shapley_s), indent=1))
    write_md(rows, out / "pgnag.md", args, train_mean, len(train_times), shapley_s)
    heatmaps(args, out / "pgnag_scores.png")
    print(f"wrote {out / 'pgnag.md'}")


if __name__ == "__main__":
    main()
