"""Multi-objective generation (jaxnag.pareto, tables.objectives, NSGA-II): the machinery against pymoo and
moocore (independent implementations), the front and its hypervolume from every generator, bad input."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxnag import budget, pareto, protocol, registry, spaces, tables
from jaxnag.errors import ConfigError, UnknownName

moocore = pytest.importorskip("moocore")
nds = pytest.importorskip("pymoo.util.nds.non_dominated_sorting")
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance  # noqa: E402

_ranks = jax.jit(pareto.ranks)
_crowding = jax.jit(pareto.crowding)
_hv = jax.jit(pareto.hypervolume)


def _pymoo_ranks(f):
    """pymoo's non-dominated sorting of the finite rows of ``f`` (maximised), as ranks (n for the others)."""
    out = np.full(len(f), len(f))
    ok = np.flatnonzero(np.all(np.isfinite(f), axis=1))
    for k, front in enumerate(nds.NonDominatedSorting().do(-f[ok])):
        out[ok[front]] = k
    return out


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 4), st.integers(0, 2**31 - 1), st.booleans())
def test_sorting_equals_pymoo(m, seed, coarse):
    rng = np.random.default_rng(seed)
    f = rng.random((40, m)).astype(np.float32)
    if coarse:  # ties and duplicate rows, as tables have
        f = np.round(f * 3) / 3
    f[rng.random(40) < 0.1, rng.integers(m)] = np.nan  # failed evaluations
    np.testing.assert_array_equal(np.asarray(_ranks(f)), _pymoo_ranks(f))


def test_crowding_equals_pymoo_on_a_front():
    rng = np.random.default_rng(1)
    for m in (2, 3):
        f = rng.random((200, m)).astype(np.float32)
        front = np.flatnonzero(_pymoo_ranks(f) == 0)
        ours = np.asarray(_crowding(f))[front]
        theirs = calc_crowding_distance(-f[front].astype(np.float64))
        np.testing.assert_array_equal(np.isinf(ours), np.isinf(theirs))
        np.testing.assert_allclose(ours[np.isfinite(ours)], theirs[np.isfinite(theirs)], rtol=1e-4)


_hv_sorted = jax.jit(functools.partial(pareto.hypervolume, presorted=True))


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 3), st.integers(0, 2**31 - 1), st.booleans())
def test_exact_hypervolume_equals_moocore(m, seed, coarse):
    rng = np.random.default_rng(seed)
    f = rng.random((30, m)).astype(np.float32)
    if coarse:  # ties in every objective and duplicate rows
        f = np.round(f * 4) / 4
    ref = np.full(m, 0.2, np.float32)  # some points are not better than the reference: no volume
    inside = np.all(f > ref, axis=1)
    want = moocore.hypervolume(-f[inside].astype(np.float64), ref=-ref.astype(np.float64)) if inside.any() else 0.0
    assert float(_hv(f, ref)) == pytest.approx(want, rel=1e-5, abs=1e-7)
    # rows in descending order of the first objective (a front's order), those left out anywhere among them
    assert float(_hv_sorted(f[np.argsort(-f[:, 0], kind="stable")], ref)) == pytest.approx(want, rel=1e-5, abs=1e-7)


def test_indicators_on_a_real_front_equal_moocore(data_dir):
    obj = tables.objectives("nb201", "cifar100", ["test_acc", "params_mb", "flops_m"], data_dir=data_dir)
    _, front = obj.exact_front()
    # the exact front against pymoo's non-dominated sorting of the whole table
    allv = np.stack([np.asarray(t.values) for t in obj.tables], 1)
    nd = np.unique(allv[_pymoo_ranks(allv) == 0], axis=0)
    np.testing.assert_array_equal(np.unique(front, axis=0), nd)
    z = np.asarray(pareto.normalise(front, obj.ideal, obj.nadir), np.float64)
    for cols in ((0, 1), (0, 1, 2)):
        got = float(_hv(z[:, cols], np.zeros(len(cols))))
        assert got == pytest.approx(moocore.hypervolume(-z[:, cols], ref=np.zeros(len(cols))), rel=1e-5)
    half = z[::2]
    assert float(pareto.igd(half, z)) == pytest.approx(moocore.igd(-half, -z), rel=1e-5)
    assert float(pareto.igd_plus(half, z)) == pytest.approx(moocore.igd_plus(-half, -z), rel=1e-5)


def test_monte_carlo_hypervolume_within_its_error():
    rng = np.random.default_rng(2)
    f = rng.random((25, 4)).astype(np.float32)
    want = moocore.hypervolume(-f.astype(np.float64), ref=np.zeros(4))
    got = float(pareto.hypervolume(f, np.zeros(4, np.float32), samples=200_000))
    box = float(np.prod(f.max(0)))
    se = box * np.sqrt((want / box) * (1 - want / box) / 200_000)
    assert abs(got - want) < 4 * se


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 6))
def test_front_archive_holds_the_distinct_non_dominated_vectors(seed, capacity):
    rng = np.random.default_rng(seed)
    insert, insert_one = jax.jit(pareto.insert), jax.jit(pareto.insert_one)
    front = one = pareto.empty(capacity, 3, 2)
    seen_v = []
    for _ in range(4):
        ops = rng.integers(0, 5, (8, 3)).astype(np.int32)
        v = (np.round(rng.random((8, 2)) * 4) / 4).astype(np.float32)
        v[rng.random(8) < 0.2, 1] = np.nan
        front = insert(front, ops, v)
        for o, x in zip(ops, v):  # one at a time: the same front while it fits
            one = insert_one(one, o, x)
        seen_v.append(v)
    allv = np.concatenate(seen_v)
    want = np.unique(allv[_pymoo_ranks(allv) == 0], axis=0)
    key = lambda f: sorted(map(tuple, np.asarray(f.values)[:int(f.size)].tolist()))  # noqa: E731
    if not bool(front.truncated) and not bool(one.truncated):
        assert key(one) == key(front)
    assert all(any(np.array_equal(g, w) for w in want) for g in key(one))
    size = int(front.size)
    got = np.asarray(front.values)[:size]
    assert np.all(np.isfinite(got))
    if not bool(front.truncated):
        np.testing.assert_array_equal(np.unique(got, axis=0), want)
    else:  # more than the capacity at some point: a subset of the front, said so
        assert 1 <= size <= capacity
        assert all(any(np.array_equal(g, w) for w in want) for g in got)
    if len(want) > capacity:
        assert bool(front.truncated) and bool(one.truncated)


@pytest.mark.parametrize("name, capacity, seed", [("random", 2, 0), ("rea", 4, 0), ("rea", 64, 0),
                                                  ("random", 3, 3)])  # a row dropped for room uncovers a query
def test_hypervolume_trace_is_the_front_after_every_new_query(name, capacity, seed):
    """The wrapper's trace and front (it puts only the queries that can change the front through its loop)
    equal the hypervolume after inserting every new query in order, one at a time, and the front that
    leaves; failed, repeated and tied evaluations included, and a front that outgrows its capacity."""
    space = spaces.get("nb201")

    def fitness(ops):  # coarse objectives: many ties and equal vectors; a failure now and then
        count = lambda op: jnp.sum(ops == op, axis=-1).astype(jnp.float32)  # noqa: E731
        a, b = count(3) + 0.5 * count(2), count(1) + 0.5 * count(0)  # a trade-off: a front of many points
        return jnp.stack([a, jnp.where(ops[:, 5] == 4, jnp.nan, b)], axis=-1)
    gen = pareto.with_objectives(registry.get(name))
    settings = dict(population=8, sample=3) if name == "rea" else {}
    cfg = gen.config(space, ideal=[6.0, 6.0], nadir=[-0.5, -0.5], budget=40, capacity=capacity, **settings)
    ask, tell = jax.jit(lambda k, s: gen.ask(k, s, space, cfg)), jax.jit(lambda s, v: gen.tell(s, v, space, cfg))
    state = gen.init(jax.random.key(seed), space, cfg)
    insert_one = jax.jit(pareto.insert_one)
    hv = jax.jit(lambda f: pareto.hypervolume(pareto.normalise(f.values, cfg.ideal, cfg.nadir), jnp.zeros(2),
                                              f.mask, presorted=True))
    front, seen, want, i = pareto.empty(capacity, 6, 2), set(), [], 0
    while not bool(gen.done(state, cfg)) and i < 60:
        ops, state = ask(jax.random.key(1000 * seed + i), state)
        values = fitness(ops)
        state = tell(state, values)
        for o, v, q in zip(np.asarray(ops), np.asarray(values), np.asarray(space.query_id(ops))):
            if int(q) not in seen and len(seen) < 40:
                seen.add(int(q))
                front = insert_one(front, o, v, bool(space.is_valid(jnp.asarray(o))))
                want.append(float(hv(front)))
        i += 1
    assert len(want) == 40 and int(state.queries) == 40
    np.testing.assert_array_equal(np.asarray(state.hv_trace), np.asarray(want, np.float32))
    np.testing.assert_array_equal(np.asarray(state.front.values), np.asarray(front.values))
    np.testing.assert_array_equal(np.asarray(state.front.ops), np.asarray(front.ops))
    assert bool(state.front.truncated) == bool(front.truncated) and (capacity > 4 or bool(front.truncated))


# --------------------------------------------------------------------------- generators on a vector fitness
def _front_checks(res, obj, space):
    size = int(res.extras["front_size"])
    ops = np.asarray(res.extras["front_ops"])[:size]
    vals = np.asarray(res.extras["front_values"])[:size]
    assert size >= 1
    np.testing.assert_array_equal(np.asarray(obj(jnp.asarray(ops))), vals)  # what the table says
    assert not np.any(np.asarray(pareto.domination_matrix(vals)))  # mutually non-dominated
    best, q = np.asarray(res.best_trace), np.asarray(res.queries_trace)
    assert np.all(np.diff(best) >= -1e-7) and np.all(np.diff(q) >= 0)
    assert float(res.best_fitness) == pytest.approx(float(best[q == int(res.queries)][0]), abs=1e-6)
    assert 0 < float(res.best_fitness) <= 1


@pytest.fixture(scope="module")
def cora():
    return tables.objectives("nasbench_graph", "cora", "test,latency")


@pytest.mark.parametrize("name", [pytest.param("nsga2", marks=pytest.mark.slow),  # 13 s on 2 cores
                                  pytest.param("local_search", marks=pytest.mark.slow),
                                  pytest.param("rea", marks=pytest.mark.slow),
                                  pytest.param("ednag", marks=pytest.mark.slow)])
def test_generators_on_a_vector_fitness(name, cora):
    space = cora.space
    base = registry.get(name)
    if name == "ednag":
        base = budget.with_budget(base)
    gen = pareto.with_objectives(base)
    extra = dict(steps=20) if name == "ednag" else {}  # rounds enough to spend the budget
    cfg = gen.config(space, objectives=cora, **dict(base.small, budget=40, **extra))
    res = jax.jit(lambda k: gen.generate(k, cora, space, cfg))(jax.random.key(3))
    assert int(res.queries) == 40
    _front_checks(res, cora, space)
    # the host protocol: the same queries counted as the distinct architectures the host was asked
    asked = []

    def host(ops):
        asked.append(ops)
        return np.asarray(cora(jnp.asarray(ops)))
    run = protocol.run(gen, jax.random.key(4), host, space, cfg)
    rows = np.concatenate(asked)
    assert int(run.queries) == len(set(np.asarray(space.query_id(jnp.asarray(rows))).tolist())) == 40
    _front_checks(run, cora, space)


@pytest.mark.slow
def test_nsga2_finds_most_of_a_small_front(cora):
    """NSGA-II with a budget of 300 of NAS-Bench-Graph's 26,206 cora architectures: over 90% of the exact
    front's normalised hypervolume (random search: docs/pareto.md)."""
    gen = pareto.with_objectives(registry.get("nsga2"))
    cfg = gen.config(cora.space, objectives=cora, budget=300, population=20)
    res = jax.jit(jax.vmap(lambda k: gen.generate(k, cora, cora.space, cfg)))(jax.random.split(jax.random.key(0), 4))
    share = pareto.exact_share(res.best_fitness, cora)
    assert np.all(share > 0.9) and np.all(share <= 1 + 1e-6)


# --------------------------------------------------------------------------- bad input, one line each
def test_bad_input(data_dir, cora):
    with pytest.raises(UnknownName, match="unknown metric 'latency_ms'"):
        tables.objectives("nasbench_graph", "cora", "test,latency_ms")
    with pytest.raises(ConfigError, match="is minimised"):
        tables.objectives("nasbench_graph", "cora", "test,latency@max")
    with pytest.raises(ConfigError, match="at least two"):
        tables.objectives("nasbench_graph", "cora", "test")
    with pytest.raises(ConfigError, match="at most 3 objectives"):
        pareto.check_exact(4)
    gen = pareto.with_objectives(registry.get("random"))
    with pytest.raises(ConfigError, match="at most 3 objectives"):
        gen.config(cora.space, ideal=np.ones(4), nadir=np.zeros(4), budget=10)
    with pytest.raises(ConfigError, match="needs the objectives"):
        gen.config(cora.space, budget=10)
    with pytest.raises(ConfigError, match="worse than the nadir"):
        gen.config(cora.space, ideal=np.zeros(2), nadir=np.ones(2), budget=10)
    # a failed evaluation never enters the front; a front of failures is empty, with no volume
    front = pareto.insert(pareto.empty(4, 2, 2), jnp.array([[0, 1], [1, 1]]), jnp.array([[jnp.nan, 1.0],
                                                                                       [2.0, jnp.inf]]))
    assert int(front.size) == 0
    assert float(pareto.hypervolume(front.values, jnp.zeros(2), front.mask)) == 0.0
    with pytest.raises(ConfigError, match="shape"):
        pareto.ranks(jnp.ones(3))


@pytest.mark.slow
def test_wrappers_and_context_methods_on_a_vector_fitness(data_dir):
    """The surrogate under a budget, PG-NAG with a prior from another task's Pareto standing, DiffusionNAG
    (an untrained score network: the mechanics only) and NSGA-II under the query budget (told vectors, repeats
    answered from the budget's archive of vectors) all run through with_objectives and count exactly."""
    from jaxnag import surrogate
    from jaxnag.diffusionnag import generator as dn
    from jaxnag.diffusionnag import train as dn_train
    obj = tables.objectives("nb201", "cifar10", "test_acc,params_mb", data_dir=data_dir)
    space = obj.space
    source = pareto.rank_table(tables.objectives("nb201", "cifar100", "test_acc,params_mb", data_dir=data_dir))
    assert source.top_k(1)[1][0] == pytest.approx(1.0)  # a front extreme: crowding bonus 1 at rank 0
    tcfg = dn_train.ScoreTrainConfig(net="small")
    model = dn.ScoreModel.of(dn_train.build(space, tcfg, jax.random.key(0)), tcfg.make_sde())
    cases = [(budget.with_budget(surrogate.with_surrogate(registry.get("ednag"))), dict(query=3), {}),
             (budget.with_budget(registry.get("pgnag")), dict(k=5, sampler="direct", samples=10, rounds=100),
              dict(source=source)),
             (budget.with_budget(registry.get("diffusionnag")), {}, dict(score_model=model)),
             (budget.with_budget(registry.get("nsga2")), dict(population=6), {})]  # vectors through the budget
    for base, extra, ctx in cases:
        gen = pareto.with_objectives(base)
        cfg = gen.config(space, objectives=obj, **dict(base.small, budget=30, **extra))
        res = jax.jit(lambda k, c: gen.generate(k, obj, space, cfg, **c))(jax.random.key(0), ctx)
        assert 1 <= int(res.queries) <= 30
        _front_checks(res, obj, space)


def test_ridge_fits_one_model_per_objective():
    """Several targets in one solve equal one solve per target (NSGA-II's pre-selection reads them)."""
    from jaxnag import ridge
    space = spaces.get("nb201")
    ops = jnp.asarray(space.all_ops()[::7])
    y = jnp.stack([jnp.sum(ops == 3, 1), jnp.sum(ops == 1, 1) * 2 - 1], 1).astype(jnp.float32)
    both = ridge.predictor(ridge.update(ridge.empty(space, 2), ops, y, space), space, 1e-3)(ops[:5])
    for j in range(2):
        one = ridge.predictor(ridge.update(ridge.empty(space), ops, y[:, j], space), space, 1e-3)(ops[:5])
        np.testing.assert_allclose(np.asarray(both[:, j]), np.asarray(one), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(both), np.asarray(y[:5]), atol=1e-2)


@pytest.mark.slow
def test_many_tasks_in_one_call_each_on_its_own_scale(cora):
    """A vmap over stacked objectives equals each task's own run (each task's ideal and nadir points)."""
    citeseer = tables.objectives("nasbench_graph", "citeseer", "test,latency")
    gen = pareto.with_objectives(registry.get("nsga2"))
    cfg = gen.config(cora.space, objectives=cora, budget=30, population=10)
    run = jax.jit(lambda o: gen.generate(jax.random.key(0), o, cora.space, cfg))
    both = jax.vmap(run)(tables.stack_objectives([cora, citeseer]))
    for i, o in enumerate((cora, citeseer)):
        one = run(o)
        assert float(both.best_fitness[i]) == pytest.approx(float(one.best_fitness), abs=1e-6)
        np.testing.assert_array_equal(np.asarray(both.extras["front_ops"][i]), np.asarray(one.extras["front_ops"]))


@pytest.mark.slow  # about 5 s on 2 cores
def test_a_bench_grid_takes_objectives(tmp_path):
    """A grid's [[benchmarks]] with objectives: each cell's best is its front's HV share, with the front and its
    IGD+ in the record; a scalar benchmark beside it keeps its metric; a rerun finds every cell done."""
    from jaxnag import bench
    grid = tmp_path / "g.toml"
    grid.write_text('seeds = 2\n[[benchmarks]]\nname = "nasbench_graph"\ndatasets = ["cora"]\n'
                    'objectives = ["test", "latency"]\n[[methods]]\nname = "random"\nsettings = { budget = 20 }\n')
    bench.run_grid(grid, progress=False, plot=False, echo=False)
    recs = bench.read_results(tmp_path / "g.jsonl")
    cora = tables.objectives("nasbench_graph", "cora", "test,latency")
    assert len(recs) == 2 and recs[0]["metric"] == "hypervolume share: test x latency"
    for r in recs:
        metrics = np.asarray(r["front_metrics"])
        ops = jnp.asarray(np.stack([cora.space.from_string(a) for a in r["front"]]))
        np.testing.assert_allclose(cora.to_metric(np.asarray(cora(ops))), metrics, rtol=1e-6)
        assert 0 < r["best"] <= 1 and r["trace_best"][-1] == r["best"] and r["igd_plus"] >= 0
    again = bench.run_grid(grid, progress=False, plot=False, echo=False)
    assert again[0]["runs"] == 2 and len(bench.read_results(tmp_path / "g.jsonl")) == 2
    grid.write_text(grid.read_text().replace('"latency"]', '"latency"]\nmetric = "test"'))
    with pytest.raises(ConfigError, match="not both"):
        bench.load(grid)
