"""Multi-objective generation on tabulated problems, against the exact Pareto front and against pymoo's NSGA-II.

Every jaxnag generator (and two multi-objective baselines: NSGA-II, plain and with a ridge surrogate's
pre-selection, and Pareto local search) runs through ``pareto.with_objectives`` (the run's Pareto archive, the
hypervolume after each unique query), under a budget of unique queries (random search, REA and
NSGA-II have their own; EDNAG, evosax and PG-NAG run under ``budget.with_budget``), --seeds seeds
vmapped in one call per method and problem. PG-NAG's prior is scored on another task's Pareto set
(``pareto.rank_table`` of the problem's ``source``: transfer, as PG-NAG's paper does; never the
target's own table). REA stops after 10,000 mutation cycles (on some problems a seed's population
proposes only architectures it has evaluated: those cycles cost no query but time). The peer is pymoo's NSGA-II (population 50, integer sampling, SBX + polynomial
mutation with rounding, duplicates eliminated: pymoo's documented setting for integer variables),
driven by ask/tell until it has made the same number of unique queries, --pymoo-seeds seeds, one
after the other, in the same process.

EDNAG runs twice: told the vectors (the registry's form: its population keeps them and ranks itself afresh
each step), and told each query's Pareto standing among the run's front as a scalar (``other_form``), as
every scalar generator is.

Hypervolume as EvoXBench takes it: objectives normalised between the exact front's nadir (0, the
reference point) and ideal (1) points; the share is a run's HV over the exact front's. IGD and IGD+
(normalised) are of the final front. Time per run: a jaxnag call (compilation included) over its
seeds; the warm time (a second call) for NSGA-II; pymoo's wall time per run.

With ``--checkpoint DIR`` (a score network, ``jaxnag train-score --out DIR``, on the problems' space) the
report adds DiffusionNAG in its one-shot form (Q = 200 random queries fit the predictor, one guided batch of
512 samples, the 100 best-predicted queried: 300 queries), twice: guided by one predictor head per objective,
each sample by its own weights (the generator's vector form, ``other_form``), and told each query's Pareto
standing as a scalar (as every scalar generator is; the registry's form, chosen by this comparison).

  JAXNAG_DATA_DIR=../shared/data python benchmarks/pareto.py [--seeds 100] [--pymoo-seeds 100]
      [--budget 1000] [--problems PREFIX,...] [--methods PREFIX,...] [--checkpoint DIR] [--out docs]
      [--seed-base K] [--ednag 'KEY=VALUE,...;...']
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import math
import shlex
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, pyplot  # noqa: E402

from jaxnag import budget, pareto, registry, tables  # noqa: E402

# label: (benchmark, dataset, objectives, PG-NAG's source (benchmark, dataset, objectives))
PROBLEMS = {
    "NB201 C10 acc x params": ("nb201", "cifar10", "test_acc,params_mb", ("nb201", "cifar100", "test_acc,params_mb")),
    "NB201 C10 acc x FLOPs": ("nb201", "cifar10", "test_acc,flops_m", ("nb201", "cifar100", "test_acc,flops_m")),
    "NB201 C100 acc x params x FLOPs": ("nb201", "cifar100", "test_acc,params_mb,flops_m",
                                        ("nb201", "imagenet16", "test_acc,params_mb,flops_m")),
    "HW360 C100 acc x Pi5-LiteRT latency": ("hw360", "cifar100", "metric,pi5/litert/lat_ms",
                                            ("hw360", "ninapro", "metric,pi5/litert/lat_ms")),
    "HW360 C100 acc x Pixel-LiteRT latency": ("hw360", "cifar100", "metric,pixel/litert/lat_ms",
                                              ("hw360", "ninapro", "metric,pixel/litert/lat_ms")),
    "HW360 C100 acc x Pi5-ONNX latency x energy": ("hw360", "cifar100", "metric,pi5/onnx/lat_ms,pi5/onnx/energy_mj",
                                                   ("hw360", "ninapro", "metric,pi5/onnx/lat_ms,pi5/onnx/energy_mj")),
    "HW360 NinaPro acc x Pi5-ONNX latency x energy": ("hw360", "ninapro", "metric,pi5/onnx/lat_ms,pi5/onnx/energy_mj",
                                                      ("hw360", "cifar100",
                                                       "metric,pi5/onnx/lat_ms,pi5/onnx/energy_mj")),
    "HW360 NinaPro acc x Pixel-LiteRT latency": ("hw360", "ninapro", "metric,pixel/litert/lat_ms",
                                                 ("hw360", "cifar100", "metric,pixel/litert/lat_ms")),
    "TNB101 scene x object": ("tnb101_micro", None, "class_scene:val,class_object:val",
                              ("tnb101_micro", None, "jigsaw:val,segmentsemantic:val")),
    "NBG cora acc x latency": ("nasbench_graph", "cora", "test,latency", ("nasbench_graph", "citeseer", "test,latency")),
    "NBG arxiv acc x latency": ("nasbench_graph", "arxiv", "test,latency",
                                ("nasbench_graph", "pubmed", "test,latency")),
}
# label: (registry name, settings, under with_budget)
METHODS = {
    "random": ("random", {}, False),
    "REA (P=50, S=10)": ("rea", dict(population=50, sample=10, max_cycles=10_000), False),
    "NSGA-II (jaxnag, P=50)": ("nsga2", dict(population=50), False),
    "NSGA-II + ridge pre-selection (jaxnag, P=50, 3x bred)": ("nsga2", dict(population=50, screen=3), False),
    "Pareto local search (jaxnag, 50 random first)": ("local_search", dict(initial=50), False),
    "evosax SimpleGA (N=30)": ("evosax", dict(strategy="SimpleGA", population=30, generations=300), True),
    "EDNAG (N=30, T=150)": ("ednag", {}, True),
    "EDNAG (N=30, T=150; told its Pareto standing: scalar)": ("ednag", {}, True),
    "PG-NAG (k=5, prior from another task's Pareto set)": (
        "pgnag", dict(k=5, sampler="direct", samples=10, rounds=2000), True),
}
DN = dict(predictor_queries=200, top=100, round_size=512, pc_steps=250)
DN_METHODS = {  # with --checkpoint
    "DiffusionNAG (Q=200, top 100 of 512; a head per objective)": ("diffusionnag", DN, True),
    "DiffusionNAG (same, told its Pareto standing: scalar)": ("diffusionnag", DN, True),
}
VECTOR = {"DiffusionNAG (Q=200, top 100 of 512; a head per objective)"}  # forms the registry does not take
SCALAR = {"EDNAG (N=30, T=150; told its Pareto standing: scalar)"}


def other_form(gen):
    """``gen`` in the form its registry entry does not take: told the objective vectors (its
    ``Config(num_objectives=M)``: DiffusionNAG with a predictor head per objective) where the entry is told each
    query's Pareto standing among the run's front as a scalar (the wrapper's scalar form), and the other way
    round (EDNAG, whose entry keeps the vectors and ranks its population afresh each step)."""
    from jaxnag.registry import Setting
    if gen.takes_vectors:
        settings = {k: v for k, v in gen.settings.items() if k != "num_objectives"}
        return dataclasses.replace(gen, takes_vectors=False, settings=settings)
    return dataclasses.replace(gen, takes_vectors=True, settings=dict(gen.settings, num_objectives=Setting(1)),
                               config=lambda space, num_objectives=1, **kw: gen.config(space, **kw).replace(
                                   num_objectives=num_objectives))


OURS = ("EDNAG", "PG-NAG", "DiffusionNAG", "NSGA-II", "Pareto local search")
PYMOO = "pymoo NSGA-II (P=50)"
AT = (100, 300, 1000)


def final_indicators(obj, fronts, sizes):
    """IGD and IGD+ (normalised) of each run's final front against the exact one."""
    return (np.asarray([pareto.exact_igd(f[:n], obj, plus=False) for f, n in zip(fronts, sizes)]),
            np.asarray([pareto.exact_igd(f[:n], obj) for f, n in zip(fronts, sizes)]))


def summarise(row, share_trace, b, igd, igdp, front_sizes, queries):
    for q in AT:
        if q <= b:
            row[f"share_{q}"] = float(np.mean(share_trace[:, q - 1]))
            row[f"share_{q}_min"] = float(np.min(share_trace[:, q - 1]))
    row["share_final"] = float(np.mean(share_trace[:, -1]))
    row["igd"], row["igd_plus"] = float(np.mean(igd)), float(np.mean(igdp))
    row["front_size"] = float(np.mean(front_sizes))
    row["queries_mean"] = float(np.mean(queries))
    step = max(1, b // 200)
    row["curve"] = [float(f"{v:.5g}") for v in share_trace.mean(0)[::step]]
    return row


def run_jaxnag(label, obj, b, seeds, ref, context, seed_base=0):
    name, settings, budgeted = METHODS[label]
    gen = registry.get(name)
    if label in VECTOR | SCALAR:
        gen = other_form(gen)
    if budgeted:
        gen = budget.with_budget(gen)
    gen = pareto.with_objectives(gen)
    capacity = 128 if len(obj.tables) == 2 else 64  # the largest exact front here has 44 points
    cfg = gen.config(obj.space, objectives=obj, budget=b, capacity=capacity, **settings)
    f = jax.jit(jax.vmap(lambda k, o, ctx: gen.generate(k, o, obj.space, cfg, **ctx), in_axes=(0, None, None)))
    keys = jax.random.split(jax.random.key(seed_base), seeds)
    t0 = time.perf_counter()
    res = jax.block_until_ready(f(keys, obj, context))
    seconds = time.perf_counter() - t0
    row = dict(method=label, seeds=seeds, seconds=seconds, per_run_s=seconds / seeds)
    if name == "nsga2" and "screen" not in settings:  # the warm call: what a run costs once compiled
        t0 = time.perf_counter()
        jax.block_until_ready(f(keys, obj, context))
        row["warm_per_run_s"] = (time.perf_counter() - t0) / seeds
        # the algorithm alone (no Pareto archive, no hypervolume after each query), as pymoo runs
        plain = registry.get(name)
        pcfg = plain.config(obj.space, budget=b, num_objectives=len(obj.tables), **settings)
        g = jax.jit(jax.vmap(lambda k, o: plain.generate(k, o, obj.space, pcfg), in_axes=(0, None)))
        jax.block_until_ready(g(keys, obj))
        t0 = time.perf_counter()
        jax.block_until_ready(g(keys, obj))
        row["warm_plain_per_run_s"] = (time.perf_counter() - t0) / seeds
    share = np.asarray(res.best_trace, np.float64) / ref
    sizes = np.asarray(res.extras["front_size"])
    igd, igdp = final_indicators(obj, np.asarray(res.extras["front_values"]), sizes)
    row["truncated"] = int(np.sum(np.asarray(res.extras["front_truncated"])))
    row["example_front"] = obj.to_metric(np.asarray(res.extras["front_values"])[0, :sizes[0]]).tolist()
    return summarise(row, share, b, igd, igdp, sizes, np.asarray(res.queries))


def run_pymoo(obj, b, seeds, ref, seed_base=0):
    """pymoo's NSGA-II on the same table, ask/tell until ``b`` unique queries; HV after each from its history."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling

    space = obj.space
    dense = np.stack([np.asarray(t.values) for t in obj.tables], 1)  # fitness (maximised) by rank
    counts = np.asarray(space.choice_counts)
    radix = np.concatenate([np.cumprod(counts[::-1])[::-1][1:], [1]])
    valid = np.asarray(space.is_valid(jnp.asarray(space.all_ops())))
    qid = np.asarray(space.query_id(jnp.asarray(space.all_ops())))

    class Table(Problem):
        def __init__(self):
            super().__init__(n_var=space.num_slots, n_obj=len(obj.tables), xl=0, xu=counts - 1, vtype=int)

        def _evaluate(self, x, out, *args, **kwargs):
            r = (np.asarray(np.round(x), np.int64) * radix).sum(1)
            f = -dense[r].astype(np.float64)  # pymoo minimises
            f[~(valid[r] & np.all(np.isfinite(f), 1))] = 1e9  # a failed evaluation: worse than anything
            out["F"] = f

    shares, fronts, sizes, times = [], [], [], []
    for seed in range(seeds):
        t0 = time.perf_counter()
        alg = NSGA2(pop_size=50, sampling=IntegerRandomSampling(),
                    crossover=SBX(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
                    mutation=PM(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()), eliminate_duplicates=True)
        alg.setup(Table(), seed=seed_base * 100_000 + seed, termination=("n_gen", 10**9))
        order, seen = [], set()
        while len(seen) < b:
            pop = alg.ask()
            alg.evaluator.eval(alg.problem, pop)
            alg.tell(infills=pop)
            for x in np.asarray(np.round(pop.get("X")), np.int64):
                r = int((x * radix).sum())
                if valid[r] and qid[r] not in seen:
                    seen.add(qid[r])
                    order.append(r)
        times.append(time.perf_counter() - t0)
        vals = dense[np.asarray(order[:b])]
        front = pareto.empty(128 if len(obj.tables) == 2 else 64, 1, len(obj.tables))
        trace = np.asarray(hv_trace(front, jnp.asarray(vals), obj.ideal, obj.nadir))
        shares.append(trace / ref)
        final = pareto.insert(front, jnp.zeros((b, 1), jnp.int32), jnp.asarray(vals))
        fronts.append(np.asarray(final.values))
        sizes.append(int(final.size))
    igd, igdp = final_indicators(obj, fronts, sizes)
    row = dict(method=PYMOO, seeds=seeds, seconds=float(np.sum(times)), per_run_s=float(np.mean(times)),
               truncated=0, example_front=obj.to_metric(fronts[0][:sizes[0]]).tolist())
    return summarise(row, np.asarray(shares), b, igd, igdp, np.asarray(sizes), np.full(seeds, b))


@jax.jit
def hv_trace(front, values, ideal, nadir):
    """The hypervolume after each row of ``values`` enters ``front`` (the same front and HV as the jaxnag runs)."""
    def enter(f, v):
        f = pareto.insert_one(f, jnp.zeros(1, jnp.int32), v)
        return f, pareto.hypervolume(pareto.normalise(f.values, ideal, nadir), jnp.zeros(v.shape[0]), f.mask,
                                     presorted=True)
    return jax.lax.scan(enter, front, values)[1]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--pymoo-seeds", type=int, default=100)
    p.add_argument("--budget", type=int, default=1000)
    p.add_argument("--problems", default=None, help="comma-separated label prefixes (default: all)")
    p.add_argument("--methods", default=None, help="comma-separated label prefixes (default: all, and pymoo)")
    p.add_argument("--out", default="docs")
    p.add_argument("--prefix", default="pareto")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--checkpoint", default=None, help="a score network folder: adds DiffusionNAG (module doc)")
    p.add_argument("--replot", default=None, help="a pareto.json of an earlier run: rewrite its plots and markdown")
    p.add_argument("--seed-base", type=int, default=0, help="seeds from jax.random.key(K) (pymoo: K * 100000 on)")
    p.add_argument("--ednag", default=None, help="EDNAG variants to add, 'KEY=VALUE,...;KEY=VALUE,...' (its "
                   "settings, e.g. 'temperature=0.3;elite_rate=0.2')")
    args = p.parse_args()
    if args.replot:
        result = json.loads(Path(args.replot).read_text())
        plot(Path(args.out), result["rows"], args.prefix)
        write_markdown(Path(args.out) / f"{args.prefix}.md", result, args.prefix)
        return
    if args.checkpoint:
        METHODS.update(DN_METHODS)
    for variant in filter(None, (args.ednag or "").split(";")):
        settings = {k.strip(): ast.literal_eval(v.strip()) for k, v in (kv.split("=") for kv in variant.split(","))}
        METHODS[f"EDNAG (N=30, T=150; {variant})"] = ("ednag", settings, True)
    rows = []
    for label, (bench, dataset, metrics, source) in PROBLEMS.items():
        if args.problems and not any(label.startswith(x) for x in args.problems.split(",")):
            continue
        obj = tables.objectives(bench, dataset, metrics, data_dir=args.data_dir)
        b = min(args.budget, len(obj.space.distinct_ranks()))
        ref = pareto.exact_hypervolume(obj)
        exact = obj.to_metric(obj.exact_front()[1]).tolist()
        for m in list(METHODS) + [PYMOO]:
            if args.methods and not any(m.startswith(x) for x in args.methods.split(",")):
                continue
            if m == PYMOO:
                r = run_pymoo(obj, b, args.pymoo_seeds, ref, args.seed_base)
            else:
                context = {}
                if METHODS[m][0] == "pgnag":
                    src = tables.objectives(source[0], source[1], source[2], data_dir=args.data_dir)
                    context = dict(source=pareto.rank_table(src))
                if METHODS[m][0] == "diffusionnag":
                    context = registry.get("diffusionnag").context_for({"checkpoint": args.checkpoint}, obj.space)[0]
                r = run_jaxnag(m, obj, b, args.seeds, ref, context, args.seed_base)
            r = dict(problem=label, objectives=list(obj.names), goals=list(obj.goals), budget=b,
                     exact_front_size=len(exact), exact_front=exact, **r)
            rows.append(r)
            print({k: v for k, v in r.items() if k not in ("curve", "exact_front", "example_front")}, flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "JAXNAG_DATA_DIR=../shared/data python benchmarks/pareto.py " + shlex.join(sys.argv[1:])
    result = dict(machine=describe(), seeds=args.seeds, pymoo_seeds=args.pymoo_seeds, budget=args.budget, rows=rows,
                  command=command)
    (out / f"{args.prefix}.json").write_text(json.dumps(result, separators=(",", ":")) + "\n")
    plot(out, rows, args.prefix)
    write_markdown(out / f"{args.prefix}.md", result, args.prefix)
    print(f"wrote {out / f'{args.prefix}.md'}")


def plot(out: Path, rows, prefix: str) -> None:
    plt = pyplot()
    if plt is None:
        return
    problems = list(dict.fromkeys(r["problem"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    colors = plt.get_cmap("tab10").colors
    cols = min(3, len(problems))
    nrows = (len(problems) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.4 * cols, 3.3 * nrows), squeeze=False)
    for ax, prob in zip(axes.flat, problems):
        for r in rows:
            if r["problem"] != prob:
                continue
            step = max(1, r["budget"] // 200)
            x = np.arange(1, r["budget"] + 1)[::step]
            keep = x >= 20
            i = methods.index(r["method"])
            ax.plot(x[keep], np.asarray(r["curve"])[keep], label=r["method"], color=colors[i % 10],
                    linestyle="--" if r["method"] == PYMOO else "-")
        ax.set_xscale("log")
        ax.set_ylim(bottom=max(0.0, min(min(r["curve"][len(r["curve"]) // 10:]) for r in rows if r["problem"] == prob)
                               - 0.02), top=1.005)
        ax.axhline(0.995, color="0.5", lw=0.8, ls=":")
        ax.set_title(prob, fontsize=8)
        ax.set_xlabel("unique queries")
        ax.set_ylabel("HV / exact front's HV")
    for ax in list(axes.flat)[len(problems):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out / f"{prefix}_hv.png", dpi=90)
    plt.close(fig)
    # the found fronts of the best jaxnag generator and pymoo (seed 0) over the exact front, two-objective problems
    two = [p for p in problems if len(next(r for r in rows if r["problem"] == p)["objectives"]) == 2][:6]
    if not two:
        return
    cols = min(3, len(two))
    nrows = (len(two) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.4 * cols, 3.3 * nrows), squeeze=False)
    for ax, prob in zip(axes.flat, two):
        group = [r for r in rows if r["problem"] == prob]
        exact = np.asarray(group[0]["exact_front"])
        o = np.argsort(exact[:, 0])
        ax.plot(exact[o, 0], exact[o, 1], color="0.6", lw=1)
        ax.scatter(exact[:, 0], exact[:, 1], s=50, facecolors="none", edgecolors="k", label="exact front")
        ours = max((r for r in group if r["method"].startswith(OURS)), key=lambda r: r["share_final"], default=None)
        for r, mark in ((ours, "o"), (next((r for r in group if r["method"] == PYMOO), None), "x")):
            if r is not None and r["example_front"]:
                f = np.asarray(r["example_front"])
                ax.scatter(f[:, 0], f[:, 1], s=16, marker=mark, label=f"{r['method']} (seed 0)")
        ax.set_title(prob, fontsize=8)
        ax.set_xlabel(group[0]["objectives"][0])
        ax.set_ylabel(group[0]["objectives"][1])
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(two):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out / f"{prefix}_fronts.png", dpi=90)
    plt.close(fig)


def write_markdown(path: Path, d: dict, prefix: str) -> None:
    rows = d["rows"]
    L = ["# Multi-objective generation against the exact Pareto front", "",
         f"Machine: {d['machine']}. Command: `{d['command']}`. Budget: {d['budget']} unique queries (or the space's "
         f"size). jaxnag methods: {d['seeds']} seeds vmapped in one call each; pymoo: {d['pymoo_seeds']} seeds, one "
         "after the other. 'share@q' is the mean hypervolume after q unique queries as a share of the exact front's "
         "(objectives normalised between the exact front's nadir, the reference point, and ideal point, as "
         "EvoXBench takes it); 'min' the worst seed's. IGD and IGD+ (normalised objectives) are of the final "
         "fronts. 's/run' is a call's wall time (compilation included) over its seeds; for NSGA-II 'warm' is a "
         "second call's; pymoo's is its mean wall time per run. See the module docstring of "
         "`benchmarks/pareto.py` for every method's setting.", "",
         f"![HV share vs unique queries]({prefix}_hv.png)", "",
         f"![fronts found (seed 0) over the exact fronts]({prefix}_fronts.png)", ""]
    for prob in dict.fromkeys(r["problem"] for r in rows):
        group = [r for r in rows if r["problem"] == prob]
        g0 = group[0]
        L += [f"## {prob}", "",
              f"Objectives {', '.join(f'{n} ({g})' for n, g in zip(g0['objectives'], g0['goals']))}; exact front "
              f"{g0['exact_front_size']} distinct points.", "",
              "| method | seeds | share@100 | share@300 | share@1000 | min@1000 | IGD | IGD+ | front | s/run |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for r in group:
            cells = [f"{100 * r[f'share_{q}']:.2f}%" if f"share_{q}" in r else "n/a" for q in AT]
            cells.append(f"{100 * r['share_1000_min']:.2f}%" if "share_1000_min" in r else "n/a")
            t = f"{r['per_run_s']:.4f}" + (f" (warm {r['warm_per_run_s']:.4f}; algorithm alone "
                                           f"{r['warm_plain_per_run_s']:.4f})" if "warm_per_run_s" in r else "")
            L.append(f"| {r['method']} | {r['seeds']} | " + " | ".join(cells)
                     + f" | {r['igd']:.4f} | {r['igd_plus']:.4f} | {r['front_size']:.1f} | {t} |")
        L.append("")
    L += ["## Targets", "",
          "| problem | best jaxnag generator @1000 | >= 99.5% | best of EDNAG, PG-NAG @1000 | best jaxnag @300 | "
          "jaxnag NSGA-II @300 | pymoo NSGA-II @300 | >= NSGA-II @300 | pymoo s/run / jaxnag NSGA-II warm s/run "
          "(algorithm alone) |",
          "|---|---|---|---|---|---|---|---|---|"]
    for prob in dict.fromkeys(r["problem"] for r in rows):
        group = [r for r in rows if r["problem"] == prob]
        ours = [r for r in group if r["method"] != PYMOO and r["method"] != "random"]
        nsga = next((r for r in group if r["method"] == "NSGA-II (jaxnag, P=50)"), None)
        peer = next((r for r in group if r["method"] == PYMOO), None)
        if not ours or nsga is None or peer is None:
            continue
        last = "share_1000" if "share_1000" in ours[0] else "share_final"
        best = max(ours, key=lambda r: r[last])
        best300 = max(ours, key=lambda r: r.get("share_300", 0))
        three = [r for r in ours if r["method"].startswith(("EDNAG", "PG-NAG", "DiffusionNAG"))]
        paper = max(three, key=lambda r: r[last], default=None)
        paper = "n/a" if paper is None else f"{paper['method'].split(' ')[0]} {100 * paper[last]:.2f}%"
        top300 = max(nsga.get("share_300", 0), peer.get("share_300", 0))
        ratio = peer["per_run_s"] / nsga.get("warm_per_run_s", nsga["per_run_s"])
        alone = peer["per_run_s"] / nsga["warm_plain_per_run_s"] if "warm_plain_per_run_s" in nsga else math.nan
        L.append(f"| {prob} | {best['method']} {100 * best[last]:.2f}% | {'yes' if best[last] >= 0.995 else '**no**'} "
                 f"| {paper} | {best300['method']} {100 * best300.get('share_300', 0):.2f}% | {100 * nsga.get('share_300', 0):.2f}% "
                 f"| {100 * peer.get('share_300', 0):.2f}% | "
                 f"{'yes' if best300.get('share_300', 0) >= top300 - 1e-9 else '**no**'} | {ratio:.1f}x "
                 f"({alone:.1f}x) |")
    path.write_text("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
