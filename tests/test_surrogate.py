"""The online surrogate (jaxnag.surrogate): only `query` proposals evaluated per round, a ridge fit on
one-hot features that predicts an additive fitness exactly, and the same protocol as any generator."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnag import budget, errors, protocol, registry, spaces, surrogate


def test_only_the_picked_proposals_are_evaluated_and_the_ridge_learns_an_additive_fitness():
    """On an additive fitness (a weight per slot and choice) the ridge fit is nearly exact after a few
    rounds, so the picked proposals are the best predicted ones; the host sees `query` rows per round."""
    space = spaces.get("nb201")
    weights = np.random.default_rng(0).normal(size=(space.num_slots, space.num_choices)).astype(np.float32)

    def fitness(ops):
        return jnp.sum(jnp.take_along_axis(jnp.asarray(weights)[None], jnp.asarray(ops)[..., None], 2)[..., 0], -1)
    gen = surrogate.with_surrogate(registry.get("ednag"))
    cfg = gen.config(space, query=4, population=12, steps=15)
    sizes = []
    res = protocol.run(gen, jax.random.key(0), lambda ops: sizes.append(len(ops)) or np.asarray(fitness(ops)),
                       space, cfg)
    assert sizes == [4] * 15 and int(res.queries) == 60
    state = gen.jitted[0](jax.random.key(0), space, cfg)
    ops = space.random(jax.random.key(1), (200,))
    state = state._replace(gram=surrogate.features(ops, space).T @ surrogate.features(ops, space),
                           moment=surrogate.features(ops, space).T @ fitness(ops), count=jnp.int32(200))
    test = space.random(jax.random.key(2), (50,))
    pred = surrogate._predict(state, test, space, 1e-3)
    np.testing.assert_allclose(pred, fitness(test), atol=0.05)
    best = space.all_ops()[np.argmax(np.asarray(fitness(space.all_ops())))]
    compiled = jax.jit(lambda k: gen.generate(k, fitness, space, cfg))(jax.random.key(0))
    assert float(compiled.best_fitness) == float(res.best_fitness)
    assert float(compiled.best_fitness) <= float(fitness(best[None])[0]) + 1e-5


def test_under_a_budget_and_compiled_once(nb201):
    space, table = nb201["cifar10"].space, nb201["cifar10"]
    gen = budget.with_budget(surrogate.with_surrogate(registry.get("ednag")))
    cfg = gen.config(space, budget=60, query=5, population=10, steps=100)
    run = jax.jit(chex.assert_max_traces(lambda k: gen.generate(k, table, space, cfg), n=1))
    a, b = run(jax.random.key(0)), run(jax.random.key(1))
    assert int(a.queries) == int(b.queries) == 60
    assert (np.diff(np.asarray(a.best_trace)) >= 0).all()
    with pytest.raises(errors.ConfigError, match="query"):
        surrogate.with_surrogate(registry.get("ednag")).init(
            jax.random.key(0), space, surrogate.with_surrogate(registry.get("ednag")).config(space, query=50,
                                                                                             population=10))
