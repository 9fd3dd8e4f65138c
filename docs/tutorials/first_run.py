"""Tutorial 1: the first ten minutes. Generate on a benchmark table and read the result.

Run: JAXNAG_DATA_DIR=../shared/data python docs/tutorials/first_run.py
"""
import jax
import numpy as np

from jaxnag import registry, tables

# A table is a jittable fitness: int ops [..., R] -> accuracy [...] (NaN for an invalid architecture).
t = tables.load("nb201", "cifar10")
space = t.space
print(space, "has", space.size, "architectures; the best test accuracy is", float(t.optimum))

# Every method is a registered generator with the same protocol.
gen = registry.get("ednag")
cfg = gen.config(space, population=10, steps=30)
run = jax.jit(jax.vmap(lambda k: gen.generate(k, t, space, cfg)))  # many seeds in one compiled call
res = run(jax.random.split(jax.random.key(0), 8))

# The Result: best architecture and fitness per seed, the distinct queries it made, and the trace.
for i in range(3):
    print(f"seed {i}: {space.to_string(np.asarray(res.best_ops[i]))}  "
          f"acc {float(res.best_fitness[i]):.2f}  after {int(res.queries[i])} queries")
hit = np.mean(np.asarray(res.best_fitness) >= float(t.optimum))
print(f"hit rate over 8 seeds: {hit:.0%}")
# best_trace[i] is the best when the run had made queries_trace[i] distinct queries.
assert np.all(np.diff(np.asarray(res.best_trace), axis=1) >= 0)
