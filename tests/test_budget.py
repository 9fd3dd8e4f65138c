"""A query budget for every generator (jaxnag.budget): exactly B unique queries, repeats answered from the
run's archive and never evaluated again, the best-so-far trace per query, one compilation, and the
compiled run equal to the host-driven one."""

import dataclasses

import chex
import jax
import numpy as np
import pytest

from jaxnag import budget, errors, protocol, registry, spaces, surrogate
from test_protocol import HEAVY, _setup

NAMES = registry.names()


def _params():
    return [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in NAMES]


def _budgeted(name, nb201, b):
    gen, space, cfg, ctx = _setup(name, nb201)
    wrapped = budget.with_budget(gen)
    inner = {k: v for k, v in gen.small.items() if k != "budget"}
    if name == "ednag":
        inner["steps"] = 200  # enough rounds to spend the budget
    return wrapped, space, wrapped.config(space, budget=b, **inner), ctx


@pytest.mark.parametrize("name", _params())
def test_budget_is_spent_on_unique_queries_only(name, nb201):
    """Host-driven: the evaluator sees each query id at most once and B of them in all (or fewer, if the
    generator finishes first); the compiled run is the same run, its trace the best after each query."""
    b = 40
    gen, space, cfg, ctx = _budgeted(name, nb201, b)
    table = nb201["cifar100"]
    asked, values = [], []

    def host(ops):
        asked.extend(np.asarray(space.query_id(ops)).tolist())
        values.extend(np.asarray(table(ops)).tolist())
        return np.asarray(table(ops))
    hosted = protocol.run(gen, jax.random.key(3), host, space, cfg, **ctx)
    assert len(asked) == len(set(asked)) == int(hosted.queries) <= b
    compiled = jax.jit(lambda k: gen.generate(k, table, space, cfg, **ctx))(jax.random.key(3))
    assert int(compiled.queries) == int(hosted.queries)
    assert float(compiled.best_fitness) == float(hosted.best_fitness)
    chex.assert_shape(compiled.best_trace, (b,))
    trace = np.asarray(compiled.best_trace)
    assert (np.diff(trace) >= 0).all() and trace[-1] == float(compiled.best_fitness)
    # the trace is the running best of the queries, in the order the evaluator saw them
    np.testing.assert_allclose(trace[:len(asked)], np.maximum.accumulate(values), rtol=1e-6)


def test_budget_compiles_once_and_vmaps_over_seeds(nb201):
    gen, space, cfg, _ = _budgeted("ednag", nb201, 30)
    table = nb201["cifar10"]
    run = jax.jit(chex.assert_max_traces(lambda k: gen.generate(k, table, space, cfg), n=1))
    a = run(jax.random.key(0))
    run(jax.random.key(1))
    batched = jax.jit(jax.vmap(lambda k: gen.generate(k, table, space, cfg)))(jax.random.split(jax.random.key(0), 4))
    chex.assert_shape(batched.best_trace, (4, 30))
    assert (np.asarray(batched.queries) == 30).all()
    assert np.asarray(a.queries) == 30


def test_repeats_come_from_the_archive(nb201):
    """A generator that proposes the same architectures every round: one evaluation each, then the
    archive answers; the run stops at max_rounds without spending more."""
    space = spaces.get("nb201")
    gen = budget.with_budget(registry.get("random"))
    cfg = gen.config(space, budget=50, batch=10, max_rounds=3)
    calls = []
    fixed = np.asarray(space.all_ops())[:10]

    def ask(key, state, space, config):  # always the same 10 cells
        return jax.numpy.asarray(fixed), state
    same = budget.with_budget(dataclasses.replace(registry.get("random"), ask=ask))
    res = protocol.run(same, jax.random.key(0), lambda ops: calls.append(len(ops)) or np.arange(len(ops), dtype=float),
                       space, cfg)
    assert calls == [10] and int(res.queries) == 10 and int(res.extras["rounds"]) == 3
    with pytest.raises(errors.ConfigError):
        gen.config(space, budget=0)
    with pytest.raises(errors.ConfigError):
        gen.config(space, budget=20_000)


@pytest.mark.slow
def test_queries_made_in_init_count(nb201):
    """PG-NAG without a source scores its prior on B random target queries: those B count against the
    budget, as a block at the start of the trace."""
    gen, space, _, ctx = _setup("pgnag", nb201)
    wrapped = budget.with_budget(gen)
    cfg = wrapped.config(space, budget=40, prior_budget=10, **{k: v for k, v in gen.small.items() if k != "budget"})
    table = nb201["cifar100"]
    res = jax.jit(lambda k: wrapped.generate(k, table, space, cfg, source=None))(jax.random.key(0))
    plain = jax.jit(lambda k: gen.generate(k, table, space, gen.config(space, prior_budget=10, **{
        k_: v for k_, v in gen.small.items() if k_ != "budget"}), source=None))(jax.random.key(0))
    start = wrapped.init(jax.random.split(jax.random.key(0))[0], space, cfg, _fitness=table)  # as generate's
    q0 = int(start.queries)  # the prior's draws, and what its estimator evaluates on the target
    assert q0 >= 10 and int(start.inner.queries) == q0
    assert int(plain.queries) >= q0  # the plain run's count includes them too
    assert q0 < int(res.queries) <= 40
    trace = np.asarray(res.best_trace)
    assert np.isfinite(trace[q0 - 1]) and (trace[:q0 - 1] == -np.inf).all()  # one block, then per query


def test_pgnag_init_queries_bound_its_scoring_and_a_budget_below_is_refused(nb201):
    """``init_queries`` bounds the unique target queries PG-NAG's scoring makes (reached where no coalition
    repeats a query); a budget below it is refused before anything compiles; ``--budget``'s form sizes the prior
    to half the budget, so even ``--budget 20`` runs within its budget (it overran to 48 queries before)."""
    from jaxnag import pgnag, prior
    space, table = nb201["cifar10"].space, nb201["cifar100"]
    assert [pgnag.Config(k=2, prior_budget=3, prior_method=m, permutations=4).init_queries(space)
            for m in ("loo", "mc", "exact")] == [3 + 2 * 6, 3 + 2 * (4 * 5 + 1), 3 + 2 * 63]
    keys = jax.random.split(jax.random.key(1), 16)
    for method, bound in (("loo", 1 + 6), ("exact", 64)):
        assert pgnag.Config(k=1, prior_budget=1, prior_method=method).init_queries(space) == bound
        spent = jax.jit(jax.vmap(lambda k: prior.score(k, table, space, k=1, method=method, budget=1).unique_lookups))
        spent = np.asarray(spent(keys))
        assert spent.max() == bound and spent.min() >= 1, (method, spent)
    gen = budget.with_budget(registry.get("pgnag"))
    small = {k: v for k, v in gen.small.items() if k != "budget"}
    cfg = gen.config(space, budget=20, **{**small, "prior_budget": 20})
    with pytest.raises(errors.ConfigError, match="can make up to 50 unique target queries .* raise the budget to 50"):
        gen.init(jax.random.key(0), space, cfg, _fitness=table)
    settings = {**registry.budget_form("pgnag", {}, set(), 20, space), "budget": 20}
    assert (settings["k"], settings["prior_budget"]) == (1, 4)
    gen = registry.compose("pgnag", settings)
    res = jax.jit(lambda k: gen.generate(k, table, space, gen.config(space, **settings)))(jax.random.key(0))
    assert int(res.queries) == 20 and np.isfinite(float(res.best_fitness))


@pytest.mark.parametrize("wrap", [budget.with_budget, surrogate.with_surrogate], ids=["budget", "surrogate"])
def test_wrappers_forward_check_report_and_every_field(nb201_c10, wrap):
    """A wrapper keeps what it does not override: the wrapped method's check still refuses (fed by its
    report, which the wrapper's result carries), and its context, settings and open_context are kept."""
    import jax.numpy as jnp

    def refuse(result, config, notes):
        if int(np.asarray(result.extras["marker"]).min()) == 7:
            raise errors.GenerationError(f"refused by the wrapped method (config from {type(config).__module__})")
    base = registry.get("ednag")
    gen = dataclasses.replace(base, check=refuse, report=lambda state, config: {"marker": jnp.int32(7)})
    space = spaces.get("nb201")
    w = wrap(gen)
    assert w.context == gen.context and w.open_context is gen.open_context and w.name == gen.name
    scalar = wrap is surrogate.with_surrogate  # a surrogate fits a scalar: it is told one, whatever EDNAG takes
    assert w.takes_vectors is (not scalar) and gen.takes_vectors
    assert set(gen.settings) - ({"num_objectives"} if scalar else set()) < set(w.settings)
    settings = dict(budget=40) if wrap is budget.with_budget else dict(query=4)
    cfg = w.config(space, population=8, steps=5, **settings)
    res = jax.jit(lambda k: w.generate(k, nb201_c10, space, cfg))(jax.random.key(0))
    assert int(res.extras["marker"]) == 7
    with pytest.raises(errors.GenerationError, match=r"refused by the wrapped method \(config from jaxnag\.ednag"):
        w.check_result(res, cfg)
