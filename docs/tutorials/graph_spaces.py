"""Tutorial: NAS-Bench-101 and DARTS, the seeds' graph spaces.

NB101 cells are an upper-triangular adjacency and an op per node; DARTS genotypes give each of 4 nodes of a
normal and a reduction cell two inputs among the earlier nodes and an op per input. Both are ordinary jaxnag
spaces (slots x choices with a validity rule), too large to list (5e8 and 1e25 encodings): they are sampled
by drawing, decoded to valid cells, and counted by the archive's hash set. Here: a cell from NB101's matrix
form, the DARTS-V2 genotype and its parameter count as DARTS prints it, REA, PG-NAG and EDNAG on a surrogate of
NASLib's NB301 subset, and a short training of the found cell.

Run: JAXNAG_DATA_DIR=../shared/data python docs/tutorials/graph_spaces.py
"""
import jax
import numpy as np

from jaxnag import data, predictors, registry, spaces, tables, train
from jaxnag.models import darts as darts_net
from jaxnag.models import nb101 as nb101_net
from jaxnag.spaces import darts, nb101

# NB101: NB101's own (matrix, ops) form -> an encoding; pruning, the spec hash, the network's parameters
matrix = np.zeros((7, 7), int)
matrix[0, 1] = matrix[0, 2] = matrix[1, 3] = matrix[2, 3] = matrix[3, 6] = matrix[0, 6] = 1  # nodes 4, 5 unused
ops = nb101.from_spec(matrix, ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "maxpool3x3",
                               "maxpool3x3", "output"])
print("NB101 cell", spaces.get("nb101").to_string(ops))
print("  pruned to", nb101.spec(ops)[0].shape[0], "nodes; hash", nb101.spec_hash(ops),
      f"; {nb101_net.param_count(ops) / 1e6:.3f} M parameters in NB101's network")

# DARTS: genotype strings as the papers print them; DARTS-V2 has 3.349342 M parameters at C=36, 20 cells
space = spaces.get("darts")
v2 = space.from_string(darts.DARTS_V2)
print("DARTS-V2:", f"{darts_net.param_count(v2) / 1e6:.6f} M parameters")

# A fitness without a full table: a predictor fitted on NASLib's 500 NB301 genotypes (a surrogate of a surrogate)
sub = tables.naslib_subset("nb301")
fitness = predictors.fitted(predictors.get("ridge"), space, sub.ops, sub.metrics["val_accuracy"])
print(f"listed best {sub.metrics['val_accuracy'].max():.2f}; DARTS-V2 predicted {float(fitness(v2)):.2f}")

# PG-NAG too: its prior is scored on the top 20 of 100 random genotypes (Shapley values by leave-one-out; an op is
# removed to skip_connect, so each coalition is still a genotype), then 50 genotypes are drawn from it
for name, settings in (("rea", dict(budget=200)), ("pgnag", dict(prior_budget=100, prior_method="loo",
                                                                sampler="direct", samples=50)),
                       ("ednag", dict(population=20, steps=30))):
    gen = registry.get(name)
    res = jax.jit(lambda k: gen.generate(k, fitness, space, gen.config(space, **settings)))(jax.random.key(0))
    print(f"{name}: predicted {float(res.best_fitness):.2f} after {int(res.queries)} distinct genotypes")
found = np.asarray(res.best_ops)

# A zero-cost proxy is a fitness on DARTS too: proxies.fitness(space, "synflow") scores a population with one
# mixed network (every op on every edge) in one compiled program, and `jaxnag generate --space darts --proxy
# synflow` generates on it (benchmarks/graph_proxy_generation.py; compiling NB301's network takes a minute)
print(space.to_string(found))

# Train the found cell, small, on scikit-learn's digits (16x16): the same command line does it with
# `jaxnag train --space darts --arch "Genotype(...)"`
x, y = data.digits(resolution=16)
(xt, yt), (xv, yv) = data.split(x, y, 0.8, seed=0)
run = train.train(found, (xt, yt), (xv, yv), epochs=3, batch_size=32, learning_rate=0.05,
                  channels=4, cells=3, space="darts")
print(f"trained 3 epochs: held-out accuracy {run.history[-1]['test_accuracy']:.1f}%")
