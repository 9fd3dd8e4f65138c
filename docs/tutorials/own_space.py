"""Tutorial 3: your own search space and fitness, through every generator.

A space is data: slots x choices, optionally a cell graph, with declared op semantics (which choice
removes a component, which is the identity). Registered, it reaches every generator, the command line
(`--space NAME`), `jaxnag bench` grids and `jaxnag.parallel`. Here: a 6-layer chain of 4 ops with a
fitness that has interactions (a pair of ops that works only together), not additive.

Run: python docs/tutorials/own_space.py
"""
import jax
import jax.numpy as jnp
import numpy as np

from jaxnag import registry, spaces

chain = spaces.register(spaces.categorical("tutorial_chain6", ("conv3", "conv5", "pool", "skip"), slots=6,
                                           identity="skip"), replace=True)
print(chain, chain.size, "architectures;", chain.to_string(np.array([0, 1, 2, 3, 0, 1])))

w = jnp.asarray(np.random.default_rng(0).normal(size=(6, 4)), jnp.float32)


def fitness(ops):
    """Additive part + a bonus when layer 2 is conv5 and layer 3 is conv3 (an interaction)."""
    base = jnp.sum(w[jnp.arange(6), ops], axis=-1)
    return base + 3.0 * ((ops[..., 2] == 1) & (ops[..., 3] == 0))


optimum = float(jnp.max(fitness(jnp.asarray(chain.all_ops()))))
keys = jax.random.split(jax.random.key(0), 4)
for name in ("ednag", "random", "rea", "evosax", "pgnag"):
    gen = registry.get(name)
    settings = dict(budget=200) if "budget" in gen.settings else {}
    if name == "ednag":
        settings = dict(population=16, steps=12)
    if name == "evosax":
        settings = dict(population=16, generations=12)
    if name == "pgnag":  # no source table: the prior is scored on the target itself, from the top of 60 random
        # queries (its Shapley coalition lookups are target queries too: all counted), then 4 rounds of 30
        settings = dict(prior_budget=60, samples=30, rounds=4, sampler="direct", prior_method="exact", k=10)
    try:
        cfg = gen.config(chain, **settings)
    except Exception as e:  # an extra that is not installed (evosax)
        print(f"{name:7s} skipped: {e}")
        continue
    res = jax.jit(jax.vmap(lambda k: gen.generate(k, fitness, chain, cfg)))(keys)
    best = np.asarray(res.best_fitness)
    print(f"{name:7s} best {best.mean():.3f} of {optimum:.3f}  hit {np.mean(best >= optimum - 1e-6):.0%}  "
          f"queries {np.asarray(res.queries).mean():.0f}")
