"""Tutorial 5: a fitness outside JAX, with ask/tell and a query budget.

When evaluating an architecture means training it, the fitness is a Python function (here a numpy stub
standing in for a training job) and every evaluation counts. protocol.run drives any generator with
it; with_budget caps the distinct architectures evaluated, answers repeats from its archive and asks
the host only for the new ones.

Run: JAXNAG_DATA_DIR=../shared/data python docs/tutorials/ask_tell_budget.py
"""
import jax
import numpy as np

from jaxnag import budget, protocol, registry, tables

t = tables.load("nb201", "cifar10")
space = t.space
evaluated = []


def train_and_test(ops: np.ndarray) -> np.ndarray:
    """Stands in for a training job: one accuracy per architecture (NaN for a failed one)."""
    evaluated.extend(map(tuple, ops.tolist()))
    return np.asarray(t(ops))


gen = budget.with_budget(registry.get("ednag"))
cfg = gen.config(space, budget=60, population=10, steps=100)
res = protocol.run(gen, jax.random.key(0), train_and_test, space, cfg)
print(f"best {float(res.best_fitness):.2f} after {int(res.queries)} distinct evaluations "
      f"({len(evaluated)} calls asked for, {len(set(evaluated))} distinct)")
assert int(res.queries) == len(set(evaluated)) <= 60  # the host never evaluated a repeat
