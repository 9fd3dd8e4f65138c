"""The online surrogate (jaxnag.surrogate): only `query` proposals evaluated per round, a ridge fit on
one-hot features that predicts an additive fitness exactly, and the same protocol as any generator."""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnag import archive, budget, errors, protocol, registry, ridge, spaces, surrogate


@pytest.mark.slow  # >= 6 s on 2 cores
def test_only_the_picked_proposals_are_evaluated_and_the_ridge_learns_an_additive_fitness():
    """On an additive fitness (a weight per slot and choice) the ridge fit is nearly exact after a few
    rounds, so the picked proposals are the best predicted ones; the host sees `query` rows per round."""
    space = spaces.get("nb201")
    weights = np.random.default_rng(0).normal(size=(space.num_slots, space.num_choices)).astype(np.float32)

    def fitness(ops):
        return jnp.sum(jnp.take_along_axis(jnp.asarray(weights)[None], jnp.asarray(ops)[..., None], 2)[..., 0], -1)
    gen = surrogate.with_surrogate(registry.get("ednag"))
    cfg = gen.config(space, query=4, population=12, steps=15)
    asked = []
    res = protocol.run(gen, jax.random.key(0), lambda ops: asked.append(ops) or np.asarray(fitness(ops)),
                       space, cfg)
    # queries: the distinct architectures evaluated (a converging population asks some again)
    assert [len(o) for o in asked] == [4] * 15
    assert int(res.queries) == len({tuple(r) for r in np.concatenate(asked).tolist()}) <= 60
    state = gen.jitted[0](jax.random.key(0), space, cfg)
    ops = space.random(jax.random.key(1), (200,))
    state = state._replace(model=ridge.Stats(surrogate.features(ops, space).T @ surrogate.features(ops, space),
                                             surrogate.features(ops, space).T @ fitness(ops), jnp.int32(200)))
    test = space.random(jax.random.key(2), (50,))
    pred = surrogate._predict(state, test, space, dataclasses.replace(cfg, ridge=1e-3))[0]
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


def test_solve_spd_matches_numpy_under_vmap():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 40, 31)).astype(np.float32)
    x[:, :, 5] = x[:, :, 4]  # collinear columns, as one-hot features of a converged population are
    a = np.einsum("bni,bnj->bij", x, x) + np.eye(31, dtype=np.float32)
    b = rng.normal(size=(8, 31)).astype(np.float32)
    got = jax.jit(jax.vmap(ridge.solve_spd))(a, b)
    np.testing.assert_allclose(got, np.linalg.solve(a.astype(np.float64), b[..., None])[..., 0], atol=1e-4)


@pytest.mark.slow  # 6-13 s on 2 cores: the default run keeps to its 5-minute budget
def test_local_replaces_wasted_picks_by_the_best_neighbours(nb201):
    """When every proposal was evaluated before, the picks are the best architecture's unevaluated
    neighbours, in order of predicted fitness."""
    table = nb201["cifar10"]
    space = table.space
    gen = surrogate.with_surrogate(registry.get("ednag"))
    cfg = gen.config(space, query=5, local=2, population=10, steps=20)
    init, ask, tell = gen.jitted
    state = init(jax.random.key(0), space, cfg)
    for r in range(3):
        ops, state = ask(jax.random.key(r), state, space, cfg)
        state = tell(state, table(ops), space, cfg)
    best = state.elite_ops[0]
    assert float(state.elite_values[0]) == float(state.best_fitness) >= float(state.elite_values[1])
    nb, valid = space.neighbours(best)
    nb_ids = np.asarray(space.query_id(nb))
    keep = np.unique(nb_ids)[:7]  # leave 7 neighbours of the best unevaluated, mark everything else evaluated
    all_ids = np.setdiff1d(np.arange(space.size), keep)
    held, _ = archive.insert(state.archive, space.unrank(jnp.asarray(all_ids)), jnp.zeros(all_ids.size), space)
    state = state._replace(archive=held)
    picked, _ = ask(jax.random.key(9), state, space, cfg)
    ids = np.asarray(space.query_id(picked))
    assert len(set(ids.tolist())) == 5 and set(ids.tolist()) <= set(keep.tolist())
    cand = nb[np.isin(nb_ids, keep) & np.asarray(valid)]
    first = np.unique(np.asarray(space.query_id(cand)), return_index=True)[1]
    pred = np.asarray(surrogate._predict(state, cand[np.sort(first)], space, cfg)[0])
    np.testing.assert_allclose(np.sort(np.asarray(surrogate._predict(state, picked, space, cfg)[0]))[::-1],
                               np.sort(pred)[::-1][:5], rtol=1e-6)


@pytest.mark.slow  # 6-8 s on 2 cores: the default run keeps to its 5-minute budget
def test_local_spends_the_budget_a_converged_run_leaves(nb201):
    """Without local, EDNAG (N=10, 5 evaluated per round) converges and repeats itself before 150 unique
    queries; with local the repeats become new neighbours and the whole budget is spent."""
    table = nb201["cifar100"]
    space = table.space
    spent = {}
    for local in (0, 10):
        gen = budget.with_budget(surrogate.with_surrogate(registry.get("ednag")))
        cfg = gen.config(space, budget=150, query=5, local=local, population=10, steps=40)
        res = jax.jit(jax.vmap(lambda k: gen.generate(k, table, space, cfg)))(jax.random.split(jax.random.key(0), 4))
        spent[local] = np.asarray(res.queries)
    assert (spent[10] == 150).all() and spent[0].mean() < 150, spent
