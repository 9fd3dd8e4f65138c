"""Tutorial: predictors and query budgets on a landscape with interactions.

NAS-Bench-201's accuracies are close to additive in the ops, so ridge regression on one-hot features
(the surrogate's default model) ranks them well. On a landscape where slots interact it does not. This
script builds an NK landscape on the NB201 space (each slot's contribution depends on two other slots),
compares the predictors' rank correlation on held-out cells after 100 queries, then runs EDNAG's
query-efficient form (what `jaxnag generate --method ednag --budget B` runs: the GP surrogate with UCB)
beside REA at a budget of 100 unique queries, 10 seeds in one call each.

Run: python docs/tutorials/predictors.py   (no data directory needed)
"""
import jax
import numpy as np
from scipy.stats import kendalltau

from jaxnag import budget, predictors, registry, spaces, surrogate, tables

space = spaces.get("nb201")
table = tables.landscape(space, kind="nk", k=2, seed=0)  # values in [0, 100]; a table like any other
ops = np.asarray(table.info.row_ops)
values = np.asarray(table.info.row_values, np.float32)

# 1. How well does each model rank cells it has not seen, after 100 queries?
order = np.random.default_rng(0).permutation(len(ops))
train, test = order[:100], order[100:1100]
for name in ("ridge", "pairwise", "gp"):
    model = predictors.get(name, **({} if name == "ridge" else {"memory": 100}))
    state = model.update(model.init(space), ops[train], values[train], space)
    mean, std = model.predict(state, ops[test], space)
    print(f"{name:9s} Kendall tau {kendalltau(np.asarray(mean), values[test])[0]:.2f}")

# 2. Generation under a budget of 100 unique queries: REA against EDNAG's budgeted form.
keys = jax.random.split(jax.random.key(0), 10)
rea = registry.get("rea")
settings = registry.budget_form("ednag", {}, set(), 100)   # EDNAG + GP surrogate, UCB, local search
ednag = budget.with_budget(surrogate.with_surrogate(registry.get("ednag")))
for label, gen, cfg in [("REA", rea, rea.config(space, budget=100)),
                        ("EDNAG, budgeted form", ednag, ednag.config(space, budget=100, **settings))]:
    res = jax.jit(jax.vmap(lambda k: gen.generate(k, table, space, cfg)))(keys)
    best = np.asarray(res.best_fitness)
    print(f"{label:21s} mean best {best.mean():.2f}, optimum found by {np.mean(best >= float(table.optimum)):.0%} "
          f"of 10 seeds, {int(np.asarray(res.queries).max())} queries")
