"""Generators at equal unique queries: best-so-far vs queries under a query budget (jaxnag.budget).

Every method runs through ``budget.with_budget`` (at most --budget unique queries, repeats answered
from the run's archive), --seeds seeds vmapped in one call per method and dataset, side by side in
one process. From each run's per-query trace: the mean best (benchmark metric) and the rate of
seeds that found the dataset's optimum, at 100, 300 and 1,000 queries; one plot per benchmark;
a table of which method wins where.

Methods: random search, REA (P=50, S=10), evosax SimpleGA (population 30), EDNAG with its
defaults (N=30, T=150: it ends after its T steps, about 2,000 unique queries on NB201), EDNAG with
the reference's hyperparameters (``ednag.Config.reference()``, the defaults before issue 12: N=30,
T=100, about 1,300 unique queries; and N=10, about 400-600), and EDNAG with the online ridge surrogate
(``jaxnag.surrogate``: N=30, T=100, the 10 most promising children evaluated per step, the rest
predicted), and the surrogate with its local search (N=10, T=150 or 400, 5 evaluated per step; a pick
evaluated before is replaced by a new neighbour of the 10 best so far); PG-NAG budgeted (its prior
scored on 20 of the target's queries, k=5, leave-one-out; the prior sampled directly: the denoiser,
whose limit is that prior, costs minutes per round at 100 seeds on 2 cores) and PG-NAG iterative
(rescored after every round of 2); DiffusionNAG's closed loop (50 random queries, then 10 cycles of 25
candidates with the predictor refitted between cycles) on every benchmark whose space has a score
network given with --checkpoint (repeatable: `jaxnag train-score` folders, each names its space; NB201's
serves HW-NAS-Bench-360 too, whose cells are NB201's; NAS-Bench-Graph has no fixed cell graph for
DiffusionNAG to diffuse on), with --dn-seeds seeds (it costs about 5 s per seed on 2 cores).

The EDNAG rows other than "EDNAG default" use the reference's selection and mutation (elite rate
0.1, diversity rate 0.2, mutation index 5). --merge keeps the rows of an earlier run for the
(benchmark, dataset, method) cells not run now, so one method can be added or rerun alone.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/budget.py [--seeds 100] [--budget 1000] [--out docs]
      [--checkpoint DIR ...] [--dn-seeds 30] [--methods LABEL-PREFIX,...] [--merge docs/budget.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import shlex
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe  # noqa: E402

from jaxnag import budget, registry, surrogate, tables  # noqa: E402

BENCHMARKS = {
    "nb201": ("cifar10", "cifar100", "imagenet16"),
    "tnb101_micro": ("class_scene", "class_object", "jigsaw", "room_layout", "segmentsemantic", "normal",
                     "autoencoder"),
    "nasbench_graph": ("arxiv", "citeseer", "computers", "cora", "cs", "photo", "physics", "proteins", "pubmed"),
    "hw360": ("ninapro", "darcy"),
}
METHODS = {  # label: (registry name, settings)
    "random": ("random", {}),
    "REA": ("rea", dict(population=50, sample=10)),
    "evosax SimpleGA": ("evosax", dict(strategy="SimpleGA", population=30, generations=300)),
    "EDNAG default (N=30, T=150)": ("ednag", {}),
    "EDNAG reference (N=30, T=100)": ("ednag", dict(population=30, steps=100, reference=True)),
    "EDNAG reference (N=10, T=100)": ("ednag", dict(population=10, steps=100, reference=True)),
    "EDNAG + surrogate (N=30, T=100, 10 queried per step)": ("ednag+surrogate", dict(population=30, steps=100,
                                                                                     query=10, reference=True)),
    "EDNAG + surrogate + local (N=10, T=150, 5 queried per step, local 10)": (
        "ednag+surrogate", dict(population=10, steps=150, query=5, local=10, reference=True)),
    "EDNAG + surrogate + local (N=10, T=400, 5 queried per step, local 10)": (
        "ednag+surrogate", dict(population=10, steps=400, query=5, local=10, reference=True)),
    "PG-NAG budgeted (k=5, prior from 20 queries, 10 per round)": (
        "pgnag", dict(k=5, prior_budget=20, prior_method="loo", sampler="direct", samples=10, rounds=2000)),
    "PG-NAG iterative (k=5, prior from 20 queries, 2 per round, sharpness 8)": (
        "pgnag", dict(k=5, prior_budget=20, prior_method="loo", sampler="direct", samples=2, rounds=5000,
                      iterative=True, sharpness=8.0)),
    "DiffusionNAG closed loop (Q=50, 10 cycles of 25)": (
        "diffusionnag", dict(predictor_queries=50, top=25, loops=10, round_size=64, pc_steps=100,
                             predictor_iterations=300, refit_iterations=60)),
}
OURS = ("EDNAG", "PG-NAG", "DiffusionNAG")
AT = (100, 300, 1000)


def run_method(label, table, space, b, seeds, context):
    name, settings = METHODS[label]
    gen = registry.get(name.split("+")[0])
    if name.endswith("+surrogate"):
        gen = surrogate.with_surrogate(gen)
    gen = budget.with_budget(gen)
    cfg = gen.config(space, budget=b, **settings)
    keys = jax.random.split(jax.random.key(0), seeds)
    t0 = time.perf_counter()
    res = jax.block_until_ready(jax.jit(jax.vmap(lambda k: gen.generate(k, table, space, cfg, **context)))(keys))
    seconds = time.perf_counter() - t0
    trace = np.asarray(res.best_trace, np.float64)  # [seeds, B] fitness units
    spent = np.asarray(res.queries)
    optimum = float(table.optimum)
    row = dict(method=label, seeds=seeds, seconds=seconds, queries_mean=float(spent.mean()),
               queries_min=int(spent.min()))
    for q in AT:
        if q > b:
            continue
        best = trace[:, q - 1]
        metric = np.asarray(table.to_metric(best), np.float64)
        row[f"mean_{q}"] = float(np.nanmean(metric))
        row[f"hit_{q}"] = float(np.mean(best >= optimum))
    metric_curve = np.asarray(table.to_metric(trace), np.float64)
    row["curve"] = [float(f"{v:.6g}") for v in np.nanmean(metric_curve, axis=0)[::max(1, b // 200)]]
    return row


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--budget", type=int, default=1000)
    p.add_argument("--benchmarks", default=",".join(BENCHMARKS))
    p.add_argument("--out", default="docs")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--checkpoint", action="append", default=[],
                   help="a score network folder (repeatable): runs DiffusionNAG on the benchmarks of its space")
    p.add_argument("--dn-seeds", type=int, default=30, help="seeds of the DiffusionNAG runs")
    p.add_argument("--datasets", default=None, help="comma-separated datasets to run (default: all)")
    p.add_argument("--prefix", default="budget", help="file names: PREFIX.md, PREFIX.json, PREFIX_BENCHMARK.png")
    p.add_argument("--methods", default=None, help="comma-separated label prefixes to run (default: all)")
    p.add_argument("--merge", default=None, help="a budget.json of an earlier run: keep its rows for the cells "
                                                  "(benchmark, dataset, method) not run now")
    p.add_argument("--replot", default=None, help="a budget.json of an earlier run: rewrite its plots and "
                                                   "markdown only")
    args = p.parse_args()
    if args.replot:
        result = json.loads(Path(args.replot).read_text())
        plot(Path(args.out), result["rows"], args.prefix)
        write_markdown(Path(args.out) / f"{args.prefix}.md", result, args.prefix)
        return
    checkpoints = {json.loads((Path(d) / "jaxnag-score.json").read_text())["space"]: d for d in args.checkpoint}
    rows = []
    for bench in args.benchmarks.split(","):
        for dataset in BENCHMARKS[bench]:
            if args.datasets and dataset not in args.datasets.split(","):
                continue
            table = tables.load(bench, dataset, data_dir=args.data_dir)
            space = table.space
            b = min(args.budget, len(space.distinct_ranks()))
            for label in METHODS:
                if args.methods and not any(label.startswith(m) for m in args.methods.split(",")):
                    continue
                seeds, context = args.seeds, {}
                if label.startswith("DiffusionNAG"):
                    if space.name not in checkpoints:
                        continue
                    seeds, context = args.dn_seeds, {"score_model": score_model(checkpoints[space.name], space)}
                r = dict(benchmark=bench, dataset=dataset, budget=b, optimum=float(table.to_metric(float(table.optimum))),
                         **run_method(label, table, space, b, seeds, context))
                rows.append(r)
                print({k: v for k, v in r.items() if k != "curve"}, flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "JAXNAG_DATA_DIR=../shared/data python benchmarks/budget.py " + shlex.join(sys.argv[1:])
    if args.merge:
        earlier = json.loads(Path(args.merge).read_text())
        rows, command = merge(earlier["rows"], rows), f"{earlier['command']}`, then `{command}"
    result = dict(machine=describe(), seeds=args.seeds, budget=args.budget, rows=rows, command=command)
    (out / f"{args.prefix}.json").write_text(json.dumps(result, separators=(",", ":")) + "\n")  # compact: 200 x rows
    plot(out, rows, args.prefix)
    write_markdown(out / f"{args.prefix}.md", result, args.prefix)
    print(f"wrote {out / f'{args.prefix}.md'}")


@functools.cache
def score_model(directory: str, space):
    """DiffusionNAG's score network of a ``jaxnag train-score`` folder, read once for all the datasets of its space."""
    from jaxnag.diffusionnag import generator as dn
    return dn.load(directory, space)[0]


def merge(earlier: list, now: list) -> list:
    """The rows of ``now`` and those of ``earlier`` whose (benchmark, dataset, method) cell ``now`` lacks, in
    the order of BENCHMARKS and METHODS (methods no longer listed last)."""
    cell = lambda r: (r["benchmark"], r["dataset"], r["method"])  # noqa: E731
    fresh = {cell(r) for r in now}
    rows = now + [r for r in earlier if cell(r) not in fresh]
    order = {b: (i, list(ds)) for i, (b, ds) in enumerate(BENCHMARKS.items())}
    methods = list(METHODS)

    def key(r):
        i, ds = order.get(r["benchmark"], (len(order), []))
        return (i, ds.index(r["dataset"]) if r["dataset"] in ds else len(ds),
                methods.index(r["method"]) if r["method"] in methods else len(methods))
    return sorted(rows, key=key)


def plot(out: Path, rows, prefix: str = "budget") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    methods = list(dict.fromkeys(r["method"] for r in rows))
    colors = plt.get_cmap("tab20").colors[::2] + plt.get_cmap("tab20").colors[1::2]  # 20 distinct ones
    for bench in dict.fromkeys(r["benchmark"] for r in rows):
        datasets = list(dict.fromkeys(r["dataset"] for r in rows if r["benchmark"] == bench))
        cols = min(3, len(datasets))
        fig, axes = plt.subplots((len(datasets) + cols - 1) // cols, cols, figsize=(4.2 * cols, 3.2 * ((len(datasets) + cols - 1) // cols)),
                                 squeeze=False)
        for ax, d in zip(axes.flat, datasets):
            for r in rows:
                if r["benchmark"] == bench and r["dataset"] == d:
                    step = max(1, r["budget"] // 200)
                    x = np.arange(1, r["budget"] + 1)[::step]
                    keep = x >= 20  # the first queries are random for every method
                    i = methods.index(r["method"])
                    ax.plot(x[keep], np.asarray(r["curve"])[keep], label=r["method"], color=colors[i % len(colors)],
                            linestyle="-" if i < len(colors) else "--")
            ax.set_xscale("log")
            ax.set_title(d)
            ax.set_xlabel("unique queries")
            ax.set_ylabel("mean best")
        for ax in list(axes.flat)[len(datasets):]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=6)
        fig.tight_layout()
        fig.savefig(out / f"{prefix}_{bench}.png", dpi=90)
        plt.close(fig)


def write_markdown(path: Path, d: dict, prefix: str = "budget") -> None:
    rows = d["rows"]
    L = ["# Generators at equal unique queries", "",
         f"Machine: {d['machine']}. Command: `{d['command']}`. {d['seeds']} seeds per method and dataset "
         "(the 'seeds' column says where fewer), "
         "vmapped in one call; every method under `jaxnag.budget.with_budget` (repeats answered from the "
         "run's archive, not counted). 'hit' is the share of seeds whose best so far is the dataset's "
         "optimum; 'mean' the mean best so far in the benchmark's metric. A method that ends before the "
         "budget (EDNAG after its T steps) keeps its last best. The EDNAG rows other than 'EDNAG default' "
         "run with the reference's selection and mutation (`reference=True`: elite rate 0.1, diversity rate "
         "0.2, mutation index 5; the library's defaults before issue 12). DiffusionNAG's score networks (the "
         "`--checkpoint` folders) are the small network trained for 8,000 steps on all cells of the space: "
         "`jaxnag train-score --out DIR --iterations 8000` (NB201, which HW-NAS-Bench-360's cells are) and the "
         "same with `--space tnb101_micro` (90 s on 2 cores); NAS-Bench-Graph has no fixed cell graph for "
         "DiffusionNAG to diffuse on.", ""]
    for bench in dict.fromkeys(r["benchmark"] for r in rows):
        L += [f"## {bench}", "", f"![best so far vs unique queries]({prefix}_{bench}.png)", "",
              "| dataset | method | seeds | mean@100 | hit@100 | mean@300 | hit@300 | mean@1000 | hit@1000 "
              "| queries spent (mean) | s |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            if r["benchmark"] != bench:
                continue
            cells = []
            for q in AT:
                cells += [f"{r[f'mean_{q}']:.4g}" if f"mean_{q}" in r else "n/a",
                          f"{100 * r[f'hit_{q}']:.0f}%" if f"hit_{q}" in r else "n/a"]
            L.append(f"| {r['dataset']} | {r['method']} | {r.get('seeds', d['seeds'])} | " + " | ".join(cells)
                     + f" | {r['queries_mean']:.0f} | "
                     f"{r['seconds']:.1f} |")
        L.append("")
    L += ["## Who wins where (mean best at 300 queries; ties within 1e-9 shared)", "",
          "| benchmark | dataset | best method at 300 | best jaxnag generator at 300 | REA at 300 | jaxnag >= REA |",
          "|---|---|---|---|---|---|"]
    for key in dict.fromkeys((r["benchmark"], r["dataset"]) for r in rows):
        group = [r for r in rows if (r["benchmark"], r["dataset"]) == key and "mean_300" in r]
        if not group:
            continue
        top = max(r["mean_300"] for r in group)
        winners = [r["method"] for r in group if r["mean_300"] >= top - 1e-9]
        ours = max((r for r in group if r["method"].startswith(OURS)), key=lambda r: (r["mean_300"], r["hit_300"]),
                   default=None)
        rea = next((r for r in group if r["method"] == "REA"), None)
        if ours is None or rea is None:  # a partial run (--methods): nothing to compare
            continue
        L.append(f"| {key[0]} | {key[1]} | {', '.join(winners)} | {ours['method']} {ours['mean_300']:.4g} | "
                 f"{rea['mean_300']:.4g} | {'yes' if ours['mean_300'] >= rea['mean_300'] - 1e-9 else '**no**'} |")
    path.write_text("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
