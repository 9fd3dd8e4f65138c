"""One query archive for every generator (jaxnag.archive): one meaning of ``queries`` and of the traces.

``queries`` is the number of distinct valid architectures evaluated; ``best_trace[i]`` is the best
fitness when the run had made ``queries_trace[i]`` distinct queries (both non-decreasing, the last
entries the run's final values). Checked for every generator of the registry, plain and under the
budget and surrogate wrappers, against what a host fitness was actually asked, on NB201 and on a
space of 10^12 architectures (where only a hash set can count).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxnag import archive, budget, protocol, registry, spaces, surrogate

HEAVY = {"pgnag", "diffusionnag", "nsga2", "local_search"}  # their compilations belong to the slow step
BUILT_IN = ("ednag", "pgnag", "diffusionnag", "random", "rea", "evosax", "nsga2", "local_search")


def _variants():
    for name in BUILT_IN:
        for wrap in ("plain", "budget", "surrogate"):
            if wrap == "surrogate" and name not in ("ednag", "pgnag"):
                continue  # the surrogate picks among a round's proposals: the population methods
            # EDNAG wrapped: about 6 s each; the default run counts it wrapped on the trillion-architecture space
            heavy = name in HEAVY or (name == "ednag" and wrap != "plain")
            yield pytest.param(name, wrap, marks=[pytest.mark.slow] if heavy else [], id=f"{wrap}-{name}")


def _wrapped(name, wrap):
    gen = registry.get(name)
    settings = dict(gen.small)
    if wrap == "budget":
        gen, settings = budget.with_budget(gen), dict(settings, budget=20)
    elif wrap == "surrogate":
        gen, settings = surrogate.with_surrogate(gen), dict(settings, query=3)
    return gen, settings


def _distinct(space, rows) -> int:
    """Distinct valid architectures among ``rows`` (one query id each)."""
    rows = np.asarray(rows).reshape(-1, space.num_slots)
    ok = np.asarray(space.is_valid(jnp.asarray(rows)))
    return len(set(np.asarray(space.query_id(jnp.asarray(rows[ok]))).tolist()))


def _check_traces(res):
    best, q = np.asarray(res.best_trace), np.asarray(res.queries_trace)
    assert best.shape == q.shape and best.ndim == 1
    assert np.all(np.diff(best) >= 0) and np.all(np.diff(q) >= 0)
    assert best[-1] == float(res.best_fitness) and q[-1] == int(res.queries)


@pytest.mark.parametrize("name,wrap", list(_variants()))
def test_queries_are_the_distinct_architectures_the_host_evaluated(name, wrap, nb201):
    try:
        gen, settings = _wrapped(name, wrap)
        space = nb201["cifar10"].space
        cfg = gen.config(space, **settings)
    except Exception as e:  # an extra not installed (evosax)
        pytest.skip(str(e))
    ctx = {}
    if "source" in gen.context:
        ctx["source"] = nb201["cifar100"]  # transfer: the prior reads nothing of the target
    if "score_model" in gen.context:
        from jaxnag.diffusionnag import generator as dn
        from jaxnag.diffusionnag import train as dn_train
        tcfg = dn_train.ScoreTrainConfig(net="small")
        ctx["score_model"] = dn.ScoreModel.of(dn_train.build(space, tcfg, jax.random.key(0)), tcfg.make_sde())
    t = nb201["cifar10"]
    asked = []

    def host(ops):
        asked.append(ops)
        return np.asarray(t(ops))
    res = protocol.run(gen, jax.random.key(0), host, space, cfg, **ctx)
    assert int(res.queries) == _distinct(space, np.concatenate(asked))
    _check_traces(res)
    if np.isfinite(float(res.best_fitness)):
        assert float(res.best_fitness) == float(np.max(np.concatenate([np.asarray(t(a)) for a in asked])))
    compiled = jax.jit(lambda k, c: gen.generate(k, t, space, cfg, **c))(jax.random.key(0), ctx)
    _check_traces(compiled)


HUGE = None


def _huge():
    global HUGE
    if HUGE is None:
        HUGE = spaces.categorical("archive_test_huge", tuple("abcdefghij"), slots=12)
    return HUGE


@pytest.mark.parametrize("name,wrap", [("ednag", "plain"), ("rea", "plain"), ("random", "plain"),
                                       ("ednag", "budget"), ("rea", "budget"), ("ednag", "surrogate")])
def test_every_generator_counts_exactly_on_a_space_of_a_trillion_architectures(name, wrap):
    """No bit set fits 10^12 architectures: the archive's hash set counts what the host evaluated."""
    space = _huge()
    assert space.size == 10**12 and not archive.fits(space)
    w = np.random.default_rng(1).normal(size=(12, 10)).astype(np.float32)
    gen, settings = _wrapped(name, wrap)
    cfg = gen.config(space, **settings)
    asked = []

    def host(ops):
        asked.append(ops)
        return w[np.arange(12), ops].sum(-1)
    res = protocol.run(gen, jax.random.key(3), host, space, cfg)
    evaluated = {tuple(r) for r in np.concatenate(asked).tolist()}
    assert int(res.queries) == len(evaluated) > 1
    _check_traces(res)


_insert = jax.jit(archive.insert, static_argnums=3)  # compiled once per backend and shape, shared by examples
_fresh = jax.jit(archive.fresh, static_argnums=2)
_lookup = jax.jit(archive.lookup, static_argnums=2)
_ids = jax.jit(lambda space, ops: space.query_id(ops), static_argnums=0)


@settings(max_examples=12, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), min_size=4, max_size=4), min_size=32, max_size=32),
       st.lists(st.booleans(), min_size=32, max_size=32), st.booleans())
@pytest.mark.slow  # about 5 s on 2 cores
def test_the_archive_is_a_set_with_values(rows, failed, big):
    """Either backend (bit set, hash set) agrees with a Python dict over two batches of 16 (fixed shapes:
    one compilation each): membership, fresh rows, the count (a failed evaluation is a query too), the
    best, the values looked up (the first finite one; NaN while every evaluation failed) and the trace."""
    space = _huge() if big else spaces.get("nb201")
    ops = np.zeros((32, space.num_slots), np.int32)
    ops[:, :4] = np.asarray(rows)
    values = np.where(failed, np.nan, np.arange(32, dtype=np.float32)[::-1] * 0.5).astype(np.float32)
    a = archive.init(space, capacity=64, keep_values=True, trace=40)
    ids = None if big else np.asarray(_ids(space, jnp.asarray(ops)))
    key = (lambda i: tuple(ops[i].tolist())) if big else (lambda i: int(ids[i]))
    ref, trace, best = {}, [], -np.inf
    for lo in (0, 16):
        batch = jnp.asarray(ops[lo:lo + 16])
        fresh = np.asarray(_fresh(a, batch, space))
        a, new = _insert(a, batch, jnp.asarray(values[lo:lo + 16]), space)
        expect = []
        for i in range(lo, lo + 16):
            k, v = key(i), values[i]
            expect.append(k not in ref)
            best = max(best, v) if np.isfinite(v) else best
            if k not in ref or np.isnan(ref[k]):
                ref[k] = v if (k not in ref or np.isfinite(v)) else ref[k]
            if expect[-1]:
                trace.append(best)
        assert fresh.tolist() == expect == np.asarray(new).tolist()
    assert int(a.queries) == len(ref)
    assert float(a.best_fitness) == best
    np.testing.assert_array_equal(np.asarray(archive.best_trace(a))[:len(trace)], np.maximum.accumulate(trace))
    looked = np.asarray(_lookup(a, jnp.asarray(ops), space))
    np.testing.assert_array_equal(looked, [ref[key(i)] for i in range(32)])
    assert np.asarray(archive.contains(a, jnp.asarray(ops), space)).all()


@pytest.mark.slow  # >= 6 s on 2 cores
def test_bench_and_compose_wrap_a_method_from_its_settings(tmp_path):
    """``budget`` and the surrogate's ``query`` in a grid's settings wrap the method, as on the command line
    (one library function, registry.compose, for both)."""
    from jaxnag import bench
    assert registry.compose("rea", {"budget": 30}) is registry.get("rea")
    assert registry.compose("ednag", {"budget": 30}) is budget.with_budget(registry.get("ednag"))
    grid = tmp_path / "g.toml"
    grid.write_text('seeds = 2\n[[benchmarks]]\nname = "nasbench_graph"\ndatasets = ["cora"]\n'
                    '[[methods]]\nname = "ednag"\nsettings = {budget = 20, query = 4, population = 8, steps = 40}\n')
    summary = bench.run_grid(grid, progress=False, plot=False, echo=False)
    assert [row["runs"] for row in summary] == [2]
    import json
    records = [json.loads(line) for line in (tmp_path / "g.jsonl").read_text().splitlines()]
    assert [r["queries"] for r in records] == [20, 20]
