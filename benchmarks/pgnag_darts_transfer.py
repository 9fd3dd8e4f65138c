"""PG-NAG's transfer to another cell graph: NB201's prior on DARTS cells, judged by a surrogate of NB301.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/pgnag_darts_transfer.py [--seeds 20] [--out docs]

The PG-NAG paper generates DARTS cells from component scores learned on other benchmarks. Here the prior is
scored on the whole NB201 CIFAR-10 table (top-20, exact Shapley, the registry's defaults) and carried to the
28 slots of a DARTS genotype (``pgnag.Config(map_by="op", op_map=...)``, :mod:`jaxnag.prior.mapping`: each op's mean
probability over NB201's 6 edges, on every DARTS slot, through a declared op correspondence); the direct
sampler draws 100 cells per seed from it (architectures do not carry between the two cell graphs, so no
denoiser). The same from NB101, which has no full table here: a ridge surrogate of NASLib's 500 NB101 cells
is the source, its top-20 of 500 random cells are scored (node ops against maxpool3x3, NB101's declared
baseline). Compared, with the same sampler and seeds: the uniform prior (no knowledge), and PG-NAG scoring
its prior on the target itself (the top-20 of 200 random queries of the surrogate, budgeted: 200+ target
queries where the transfer makes none before sampling).

The fitness is ridge on one-hot fitted on NASLib's 500 NB301 genotypes (``tables.naslib_subset``,
``predictors.fitted``; its Spearman with the listed accuracy of 100 held-out genotypes after fitting on the
other 400 is printed). It is a surrogate of a surrogate (NB301's listed accuracies are NB301's own
predictions): a generated cell's value is the surrogate's opinion, not a trained network's accuracy.
Writes ``pgnag_darts_transfer.md`` / ``.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import jax
import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, report  # noqa: E402

from jaxnag import pgnag, predictors, registry, tables  # noqa: E402
from jaxnag import prior as prior_lib  # noqa: E402
from jaxnag.spaces import darts as darts_space  # noqa: E402

CONV3 = {"sep_conv_3x3": "nor_conv_3x3", "dil_conv_3x3": "nor_conv_3x3"}
EVERY_CONV = {**CONV3, "sep_conv_5x5": "nor_conv_3x3", "dil_conv_5x5": "nor_conv_3x3"}
# NB101's node ops: its 3x3 convolution for every DARTS conv, its max pooling for both DARTS poolings; an NB101
# edge left out is DARTS's none (the same name); skip_connect and conv1x1 have no counterpart
FROM_NB101 = {**{op: "conv3x3-bn-relu" for op in EVERY_CONV}, "max_pool_3x3": "maxpool3x3",
              "avg_pool_3x3": "maxpool3x3"}
SAMPLES = 100


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=os.environ.get("JAXNAG_DATA_DIR", "../shared/data"))
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    sub = tables.naslib_subset("nb301", args.data_dir)
    space, acc = sub.space, np.asarray(sub.metrics["val_accuracy"], np.float64)
    idx = np.random.default_rng(0).permutation(len(acc))
    held = predictors.fitted(predictors.get("ridge"), space, sub.ops[idx[:400]], acc[idx[:400]])
    rho = float(spearmanr(np.asarray(held(sub.ops[idx[400:]])), acc[idx[400:]])[0])
    fitness = predictors.fitted(predictors.get("ridge"), space, sub.ops, acc)
    source = tables.load("nb201", "cifar10", data_dir=args.data_dir)
    # NB101 has no full table here: its source is ridge on NASLib's 500 NB101 cells, and PG-NAG scores the top-20
    # of 500 random NB101 cells on it (node ops against maxpool3x3, the space's baseline; mc Shapley on 26 slots)
    sub101 = tables.naslib_subset("nb101", args.data_dir)
    acc101 = np.asarray(sub101.metrics["val_accuracy"], np.float64)
    held101 = predictors.fitted(predictors.get("ridge"), sub101.space, sub101.ops[idx[:400]], acc101[idx[:400]])
    rho101 = float(spearmanr(np.asarray(held101(sub101.ops[idx[400:]])), acc101[idx[400:]])[0])
    source101 = predictors.fitted(predictors.get("ridge"), sub101.space, sub101.ops, acc101)
    darts_v2 = float(fitness(space.from_string(darts_space.DARTS_V2)[None])[0])
    # exact Shapley on NB201's 6 edges; each op's mean over them on every DARTS slot; no denoiser across graphs
    base = pgnag.Config(k=20, prior_method="exact", sampler="direct", samples=SAMPLES, map_by="op")
    on_target = registry.get("pgnag").config(space, prior_budget=200, sampler="direct", samples=SAMPLES)
    variants = {
        "NB201 prior, 3x3 convs -> sep/dil 3x3": (base.replace(op_map=CONV3), source),
        "NB201 prior, 3x3 convs -> every DARTS conv": (base.replace(op_map=EVERY_CONV), source),
        "NB101 prior (surrogate of its subset), conv3x3 -> every DARTS conv, maxpool -> both pools": (
            base.replace(op_map=FROM_NB101, prior_method="mc", prior_budget=500), source101),
        "uniform prior on DARTS (no knowledge)": (None, None),
        f"prior scored on the target (top-20 of 200 queries, {on_target.prior_method})": (on_target, None),
    }
    keys = jax.random.split(jax.random.key(0), args.seeds)
    rows = {}
    for name, (cfg, src) in variants.items():
        if cfg is None:  # PG-NAG's direct sampler on the uniform prior: what the priors are measured against
            uniform = prior_lib.uniform_prior(space)
            draw = jax.jit(jax.vmap(lambda k: pgnag.sample_prior(k, uniform, SAMPLES, space)))(keys)
            samples, prior = np.asarray(draw), np.asarray(uniform)
            v = np.asarray(jax.vmap(fitness)(draw), np.float64)
            queries = np.array([len({r.tobytes() for r in s}) for s in samples])
        else:
            res = jax.jit(jax.vmap(lambda k, cfg=cfg, src=src: pgnag.generate(k, fitness, space, cfg, source=src)))(
                keys)
            v = np.asarray(res.extras["values"], np.float64).reshape(args.seeds, -1)  # the samples alone
            samples = np.asarray(res.extras["samples"]).reshape(args.seeds, -1, space.num_slots)
            prior = np.asarray(res.extras["prior"]).reshape(args.seeds, space.num_slots, -1)[0]
            queries = np.asarray(res.queries)
        best = np.nanmax(v, 1)
        rows[name] = dict(
            best=best.tolist(), mean=np.nanmean(v, 1).tolist(),
            percentile=[float((acc < b).mean() * 100) for b in best],
            above_darts_v2=float(np.mean(best > darts_v2)),
            distinct=float(np.mean([len({r.tobytes() for r in s}) for s in samples])),
            target_queries=queries.tolist(),
            prior=dict(zip(space.choices[0], np.round(prior.mean(0), 4).tolist())))
        print(name, f"best {best.mean():.3f} mean {np.nanmean(v):.3f} queries {np.mean(queries):.0f}", flush=True)
    out = dict(seeds=args.seeds, samples=SAMPLES, rho_held_out=rho, rho_held_out_nb101=rho101,
               listed_best=float(acc.max()),
               listed_p95=float(np.percentile(acc, 95)), listed_mean=float(acc.mean()), darts_v2=darts_v2,
               variants=rows, machine=describe())
    report(args.out, "pgnag_darts_transfer", out, _markdown(out))
    return 0


def _markdown(o: dict) -> str:
    lines = [
        "# PG-NAG's transfer to DARTS: NB201's prior on DARTS cells, judged by a surrogate of NB301", "",
        f"`JAXNAG_DATA_DIR=../shared/data python benchmarks/pgnag_darts_transfer.py --seeds {o['seeds']} --out docs` "
        f"({o['machine']}). {o['samples']} cells per seed drawn by PG-NAG's direct sampler from each prior, "
        f"{o['seeds']} seeds vmapped in one call; the values are a ridge surrogate fitted on NASLib's 500 NB301 "
        f"genotypes (Spearman {o['rho_held_out']:.3f} with the listed accuracy of 100 held-out genotypes after "
        "fitting on 400), whose listed accuracies are NB301's own predictions: the surrogate's opinions of the "
        f"cells, not trained accuracies. Listed: best {o['listed_best']:.2f}, 95th percentile "
        f"{o['listed_p95']:.2f}, mean {o['listed_mean']:.2f}; the DARTS paper's cell (DARTS_V2) is predicted "
        f"{o['darts_v2']:.2f}. The NB101 source is ridge on NASLib's 500 NB101 cells (Spearman "
        f"{o['rho_held_out_nb101']:.3f} on 100 held out): PG-NAG scores the top-20 of 500 random NB101 cells on it, "
        "its node ops against maxpool3x3 (the space's declared baseline), and carries each op's mean to DARTS.", "",
        "| prior | best of the samples (mean over seeds) | sample mean | percentile of the best among the listed "
        "(min over seeds) | seeds whose best is above DARTS_V2 | distinct cells of 100 | target queries before "
        "sampling + samples |",
        "|---|---|---|---|---|---|---|"]
    for name, r in o["variants"].items():
        lines.append(f"| {name} | {np.mean(r['best']):.3f} | {np.mean(r['mean']):.3f} | {min(r['percentile']):.1f} "
                     f"| {100 * r['above_darts_v2']:.0f}% | {r['distinct']:.1f} | {np.mean(r['target_queries']):.0f} |")
    lines += ["", "The priors, averaged over the 28 slots (the transferred ones are the same on every slot):", "",
              "| prior | " + " | ".join(next(iter(o["variants"].values()))["prior"]) + " |",
              "|---|" + "---|" * len(next(iter(o["variants"].values()))["prior"])]
    for name, r in o["variants"].items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in r["prior"].values()) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
