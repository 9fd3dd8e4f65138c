"""Tutorial 7: PG-NAG's prior. Shapley scores as a heatmap, and transfer between datasets.

PG-NAG takes the k best architectures of a source task, computes the Shapley value of each slot's
operation in each of them (its average marginal contribution over coalitions of the other slots, a
coalition's missing slots set to the op that removes the edge, `none` on NB201), turns the values into
a score per (slot, op) and a softmax prior, and generates from the prior (with a discrete diffusion
denoiser, or by sampling it directly). A prior scored on CIFAR-10 is used for CIFAR-100 (transfer):
it reads nothing of the target; only the generated architectures are target queries. A prior also
carries to another cell graph (NB201's 6 edges to DARTS's 28 slots: each op's mean over the source's
slots, `map_by="op"`) through a declared op correspondence (`op_map`, target op -> source op).

Run: JAXNAG_DATA_DIR=../shared/data python docs/tutorials/pgnag_prior.py [--plot FILE]
"""
import sys

import jax
import numpy as np

from jaxnag import pgnag, prior, spaces, tables

c10, c100 = tables.load("nb201", "cifar10"), tables.load("nb201", "cifar100")
space = c10.space
r = prior.score_table(jax.random.key(0), c10, k=20, method="exact")
ops_names = space.choices[0]
print("score matrix [slots x ops]; the prior's favourite op per edge:")
for slot, row in zip(space.slot_names, np.asarray(r.prior)):
    print(f"  {slot:6s} " + "  ".join(f"{o}={p:.2f}" for o, p in zip(ops_names, row)) + f"   -> {ops_names[row.argmax()]}")

# Transfer: the prior from CIFAR-10 generates for CIFAR-100 (sampling the prior directly: no training).
cfg = pgnag.Config(k=20, sampler="direct", samples=50, rounds=2)
report = pgnag.report(jax.random.key(1), c10, c100, cfg)
print(f"protocol {report.protocol}: best {report.best:.2f} on CIFAR-100 (optimum {float(c100.optimum):.2f}), "
      f"{report.target_queries} target queries, mean sample {report.mean:.2f}")
assert report.protocol == "transfer" and report.best > 70

# Another cell graph: NB201's prior on DARTS genotypes (docs/pgnag_darts_transfer.md measures it).
darts = spaces.get("darts")
op_map = {"sep_conv_3x3": "nor_conv_3x3", "dil_conv_3x3": "nor_conv_3x3"}  # DARTS op -> NB201 op
p_darts = prior.map_prior(r.prior, space, darts, op_map=op_map, map_by="op")
print("NB201's prior on every DARTS slot: " + "  ".join(f"{o}={v:.2f}" for o, v in zip(darts.choices[0],
                                                                                     np.asarray(p_darts[0]))))
cell = pgnag.sample_prior(jax.random.key(2), p_darts, 1, darts)[0]
print("a DARTS cell drawn from it:", darts.to_string(cell))
assert bool(darts.is_valid(cell))

if "--plot" in sys.argv:
    from jaxnag.prior import plot
    plot.heatmap(np.asarray(r.score), space, "Shapley scores, NB201 CIFAR-10 top-20", sys.argv[sys.argv.index("--plot") + 1])
