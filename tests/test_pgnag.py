import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnag import errors, pgnag, prior, spaces, tables
from jaxnag.discrete import diffusion, train
from jaxnag.prior import shapley


def brute_force_shapley(v, n):
    """Shapley values by the permutation definition (all n! orders)."""
    phi = np.zeros(n)
    for perm in itertools.permutations(range(n)):
        s = set()
        for i in perm:
            phi[i] += v(s | {i}) - v(s)
            s = s | {i}
    return phi / math.factorial(n)


@pytest.fixture(scope="module")
def tiny_table():
    """A random table on TNB101 micro (4 ops, removed op = none)."""
    space = spaces.get("tnb101_micro")
    rng = np.random.default_rng(0)
    return tables.from_arrays(space, space.all_ops(), rng.normal(size=space.size).astype(np.float32) * 10)


@pytest.mark.slow  # >= 6 s on 2 cores
def test_exact_shapley_matches_brute_force(tiny_table):
    space = tiny_table.space
    a = np.array([3, 1, 2, 3, 0, 1])
    removed = shapley.removed_choices(space)
    assert removed.tolist() == [0] * 6

    def v(coalition):
        ops = np.where([i in coalition for i in range(6)], a, 0)
        return float(tiny_table(jnp.asarray(ops)))

    want = brute_force_shapley(v, 6)
    got, lookups = shapley.exact(tiny_table, jnp.asarray(a), removed)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)
    assert lookups == 64
    # Efficiency: the values add up to v(all) - v(empty).
    assert float(got.sum()) == pytest.approx(v(set(range(6))) - v(set()), abs=1e-3)
    # Monte-Carlo converges to it; leave-one-out is its own thing.
    mc, n_mc = shapley.monte_carlo(tiny_table, jnp.asarray(a), removed, jax.random.key(0), permutations=2000)
    np.testing.assert_allclose(np.asarray(mc), want, atol=0.6)
    assert n_mc == 2000 * 7
    loo, n_loo = shapley.leave_one_out(tiny_table, jnp.asarray(a), removed)
    np.testing.assert_allclose(np.asarray(loo), [v(set(range(6))) - v(set(range(6)) - {i}) for i in range(6)],
                               rtol=1e-4, atol=1e-4)
    assert n_loo == 7


def test_exact_shapley_vmapped_and_non_players():
    additive = lambda ops: (ops @ jnp.array([1, 10, 100])).astype(jnp.float32)  # noqa: E731
    phi, n = shapley.exact(additive, jnp.array([[1, 2, 3], [2, 0, 1]]), removed=np.array([0, 0, -1]))
    np.testing.assert_allclose(np.asarray(phi), [[1, 20, 0], [2, 0, 0]])
    assert n == 4


def test_score_table_nb201_lookups_and_priors(nb201_c10):
    r = prior.score_table(jax.random.key(0), nb201_c10, k=20)
    assert r.lookups == 20 * 64 and r.unique_lookups <= 1280
    assert r.score.shape == r.prior.shape == r.frequency.shape == (6, 5)
    np.testing.assert_allclose(r.prior.sum(1), 1, rtol=1e-6)
    np.testing.assert_allclose(r.frequency.sum(1), 1, rtol=1e-6)
    assert (r.prior >= 0.05 / 5 - 1e-7).all()  # eps-uniform floor
    np.testing.assert_allclose(r.score[:, 0], 0.0, atol=1e-4)  # "none" is the removed state: no credit
    # The 0->3 residual is skip_connect in the best cells and the prior says so.
    assert int(np.argmax(r.prior[3])) == 1
    b = prior.score_table(jax.random.key(0), nb201_c10, k=10, method="loo", budget=200)
    assert b.lookups == 200 + 10 * 7 and b.unique_lookups <= b.lookups
    with pytest.raises(errors.UnknownName, match="unknown scoring method"):
        prior.score_table(jax.random.key(0), nb201_c10, method="banzhaf")


def test_score_matrix_fallbacks():
    space = spaces.get("tnb101_micro")
    ops = np.array([[3, 3, 3, 1, 3, 3], [2, 3, 3, 1, 3, 3]])
    phi = np.ones((2, 6))
    phi[:, 3] = 5.0
    z = prior.score_matrix(ops, phi, space)
    assert z[0, 1] == 0.0 and z[3, 1] == 5.0 and z[0, 3] == 1.0
    m = prior.score_matrix(ops, phi, space, fallback="op_mean")
    assert m[0, 1] == 5.0  # skip's mean over the slots where it was seen


def test_prior_temperature_and_uniform():
    space = spaces.get("nb201")
    score = np.tile(np.arange(5.0), (6, 1))
    sharp = prior.prior_from_scores(score, space, 0.1, eps=0.0)
    flat = prior.prior_from_scores(score, space, 100.0, eps=0.0)
    assert sharp[0, 4] > 0.99 and abs(flat[0, 4] - 0.2) < 0.01
    np.testing.assert_allclose(prior.uniform_prior(space), 0.2)
    with pytest.raises(errors.ConfigError, match=r"temperature must be in \(0, inf\]"):
        prior.prior_from_scores(score, space, 0.0)


def test_op_mapping_nb201_to_tnb101():
    src, dst = spaces.get("nb201"), spaces.get("tnb101_micro")
    idx = prior.mapping.op_index_map(src, dst)
    assert idx[0].tolist() == [0, 1, 2, 3]  # none, skip, conv_1x1 <- nor_conv_1x1, conv_3x3 <- nor_conv_3x3
    p = np.tile([0.1, 0.1, 0.1, 0.3, 0.4], (6, 1))  # avg_pool has no counterpart: its mass is dropped
    q = prior.map_prior(p, src, dst, eps=0.0)
    np.testing.assert_allclose(q[0], [1 / 6, 1 / 6, 1 / 6, 0.5], rtol=1e-5)
    back = prior.mapping.op_index_map(dst, src)
    assert back[0].tolist() == [0, 1, 2, 3, -1]
    with pytest.raises(ValueError, match="cell graphs differ"):
        prior.mapping.op_index_map(src, spaces.get("nasbench_graph"))


def test_op_mapping_across_cell_graphs_and_vocabularies():
    """NB201 (6 edges, 5 ops) -> DARTS (28 slots, 8 ops): each op's mean over NB201's slots on every DARTS slot,
    through a declared op map; architectures do not carry; a transfer without any shared op is refused."""
    src, dst = spaces.get("nb201"), spaces.get("darts")
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), size=6).astype(np.float32)  # none, skip, conv1x1, conv3x3, avg_pool per edge
    op_map = {"sep_conv_3x3": "nor_conv_3x3", "dil_conv_3x3": "nor_conv_3x3"}
    with pytest.raises(errors.ConfigError, match="slot by slot: the cell graphs differ.*map_by='op'"):
        prior.map_prior(p, src, dst, op_map=op_map)  # the default carries slot to slot
    with pytest.raises(errors.UnknownName, match="unknown map_by 'ops'; available: slot, op"):
        prior.map_prior(p, src, dst, op_map=op_map, map_by="ops")
    q = np.asarray(prior.map_prior(p, src, dst, eps=0.0, op_map=op_map, map_by="op"))
    mean = p.mean(0)
    want = np.array([mean[0], 0, mean[4], mean[1], mean[3], 0, mean[3], 0])  # darts.choices order
    np.testing.assert_allclose(q, np.tile(want / want.sum(), (28, 1)), rtol=1e-5)
    assert np.all(np.asarray(prior.map_prior(p, src, dst, eps=0.1, op_map=op_map, map_by="op")) > 0)  # all keep mass
    score = rng.normal(size=(6, 5)).astype(np.float32)
    got = np.asarray(prior.map_scores(score, src, dst, op_map, map_by="op"))
    means = score.mean(0)
    np.testing.assert_allclose(got[5], [means[0], min(means[[0, 4, 1, 3]]), means[4], means[1], means[3],
                                        min(means[[0, 4, 1, 3]]), means[3], min(means[[0, 4, 1, 3]])], rtol=1e-5)
    ops, kept = prior.mapping.map_ops(np.zeros((3, 6), np.int32), src, dst, op_map)
    assert ops.shape == (3, 28) and not bool(kept.any())
    # the same cell graph with a declared map: TNB101 has no avg_pool; take skip's mass for it
    back = prior.mapping.op_index_map(spaces.get("tnb101_micro"), src, {"avg_pool_3x3": "skip_connect"})
    assert back[0].tolist() == [0, 1, 2, 3, 1]
    mapped, kept = prior.mapping.map_ops(np.array([[1, 1, 1, 1, 1, 1]]), spaces.get("tnb101_micro"), src,
                                         {"avg_pool_3x3": "skip_connect"})
    assert mapped.tolist() == [[1] * 6] and kept.tolist() == [True]  # skip goes to skip, the first it maps to
    with pytest.raises(errors.ConfigError, match="op_map names 'conv9', not an op of darts"):
        prior.map_prior(p, src, dst, op_map={"conv9": "nor_conv_3x3"}, map_by="op")
    with pytest.raises(errors.ConfigError, match="to 'sep_conv_3x3', not an op of nb201"):
        prior.map_prior(p, src, dst, op_map={"sep_conv_3x3": "sep_conv_3x3"}, map_by="op")
    mine = spaces.categorical("mine", ("zero", "conv", "pool"), edges=[(0, 1), (0, 2), (1, 2)], remove="zero")
    with pytest.raises(errors.ConfigError, match="no op of mine has a counterpart in darts.*declare op_map"):
        prior.map_prior(np.full((28, 8), 1 / 8, np.float32), dst, mine, map_by="op")


def test_forward_process_converges_to_prior():
    p = jnp.asarray(np.random.default_rng(0).dirichlet(np.ones(5), size=6), jnp.float32)
    abar = diffusion.cosine_schedule(100)
    assert float(abar[0]) == 1.0 and float(abar[-1]) == 0.0 and bool(jnp.all(jnp.diff(abar) <= 0))
    x0 = jnp.zeros((20000, 6), jnp.int32)
    xt = diffusion.q_sample(jax.random.key(0), x0, abar[100], p)
    freq = np.stack([np.bincount(np.asarray(xt[:, s]), minlength=5) for s in range(6)]) / 20000
    np.testing.assert_allclose(freq, np.asarray(p), atol=0.015)
    # Marginal and posterior are proper distributions; at abar=1 the marginal is x0.
    q0 = diffusion.q_probs(jax.nn.one_hot(x0[:2], 5), 1.0, p)
    np.testing.assert_allclose(np.asarray(q0), np.asarray(jax.nn.one_hot(x0[:2], 5)))
    post = diffusion.posterior_probs(x0[:3] + 2, jax.nn.one_hot(x0[:3], 5), 0.9, 0.5, p)
    np.testing.assert_allclose(np.asarray(post.sum(-1)), 1.0, rtol=1e-5)


def test_posterior_matches_bayes_rule():
    p = jnp.asarray([[0.1, 0.2, 0.3, 0.4]])
    x0, xt, a, b = 2, 1, 0.7, 0.6
    prev = b * np.eye(4)[x0] + (1 - b) * np.asarray(p[0])                      # q(x_{t-1} | x0)
    like = np.array([a * (i == xt) + (1 - a) * float(p[0, xt]) for i in range(4)])  # q(x_t | x_{t-1} = i)
    want = prev * like / (prev * like).sum()
    got = diffusion.posterior_probs(jnp.array([xt]), jax.nn.one_hot(jnp.array([x0]), 4), a, b, p)
    np.testing.assert_allclose(np.asarray(got[0]), want, rtol=1e-5)


@pytest.mark.slow  # 6-8 s on 2 cores: the default run keeps to its 5-minute budget
def test_train_sample_shapes_validity_and_loss(nb201_c10):
    space = nb201_c10.space
    top, _ = nb201_c10.top_k(20)
    p = prior.frequency_prior(top, space)
    model, losses = train.fit(jax.random.key(0), top, p, space, train.DenoiserTrainConfig(iterations=200, batch=64))
    assert losses.shape == (200,) and float(losses[-20:].mean()) < float(losses[:20].mean())
    x = train.generate(jax.random.key(1), model, p, 64)
    assert x.shape == (64, 6) and x.dtype == jnp.int32 and bool(jnp.all(space.is_valid(x)))
    assert np.array_equal(np.asarray(x), np.asarray(train.generate(jax.random.key(1), model, p, 64)))
    # A model trained on the best cells samples far better than chance.
    assert float(jnp.nanmean(nb201_c10(x))) > float(jnp.nanmean(nb201_c10.values)) + 5


def test_pgnag_run_transfer_and_errors(data_dir):
    src = tables.load("nb201", "cifar10", data_dir=data_dir)
    dst = tables.load("tnb101_micro", "class_scene", data_dir=data_dir)
    r = pgnag.report(jax.random.key(0), src, dst, pgnag.Config(sampler="direct", samples=50))
    assert r.samples.shape == (50, 6) and r.prior.shape == (6, 4)
    assert r.target_queries == len(np.unique(np.asarray(dst.space.rank(r.samples))))
    assert np.isfinite(r.best) and r.best >= r.mean
    with pytest.raises(errors.UnknownName, match="unknown prior"):
        pgnag.Config(prior="gaussian")


@pytest.mark.slow  # 15-40 s on 2 cores (scores NB201, samples DARTS)
def test_transfer_to_another_cell_graph_samples_the_mapped_prior(nb201_c10):
    """PG-NAG with NB201's prior on DARTS cells (the paper's transfer): the direct sampler draws valid DARTS
    cells from the mapped prior; the denoiser, which needs carried architectures, is refused."""
    darts = spaces.get("darts")
    convs = np.array([c in ("sep_conv_3x3", "dil_conv_3x3") for c in darts.choices[0]])
    fitness = lambda o: jnp.sum(jnp.asarray(convs)[o], -1).astype(jnp.float32)  # noqa: E731  (DARTS 3x3 convs)
    cfg = pgnag.Config(k=5, prior_method="loo", sampler="direct", samples=64, map_by="op",
                       op_map={"sep_conv_3x3": "nor_conv_3x3", "dil_conv_3x3": "nor_conv_3x3"})
    assert cfg.op_map == (("dil_conv_3x3", "nor_conv_3x3"), ("sep_conv_3x3", "nor_conv_3x3"))  # static, one order
    res = pgnag.generate(jax.random.key(0), fitness, darts, cfg, source=nb201_c10)
    samples, p = np.asarray(res.extras["samples"][0]), np.asarray(res.extras["prior"])
    assert p.shape == (28, 8) and bool(np.all(darts.is_valid(samples)))
    # NB201's best cells are mostly 3x3 convolutions: the mapped prior favours DARTS's 3x3 convolutions
    conv_mass = p[:, convs].sum(1)
    assert float(conv_mass.min()) > 0.4, conv_mass
    uniform = np.asarray(fitness(darts.random(jax.random.key(1), (64,))))
    assert float(np.asarray(fitness(samples)).mean()) > float(uniform.mean()) + 1
    with pytest.raises(errors.ConfigError, match="do not carry to darts.*sampler='direct'"):
        pgnag.generate(jax.random.key(0), fitness, darts, cfg.replace(sampler="diffusion"), source=nb201_c10)
    with pytest.raises(errors.ConfigError, match="op_map must map target op names"):
        pgnag.Config(op_map={"sep_conv_3x3": 3})
    with pytest.raises(errors.UnknownName, match="unknown map_by"):
        pgnag.Config(map_by="edge")


@pytest.mark.slow  # 6-13 s on 2 cores: the default run keeps to its 5-minute budget
def test_candidates_are_what_the_estimators_evaluate(tiny_table):
    """Count the distinct calls each estimator makes with a recording fitness, compare with candidates()."""
    space = tiny_table.space
    removed = shapley.removed_choices(space)
    ops = np.array([[3, 1, 2, 3, 0, 1], [1, 1, 1, 1, 1, 1]])
    key = jax.random.key(5)
    for method, call in [("exact", lambda f: shapley.exact(f, jnp.asarray(ops), removed)),
                         ("loo", lambda f: shapley.leave_one_out(f, jnp.asarray(ops), removed)),
                         ("mc", lambda f: shapley.monte_carlo(f, jnp.asarray(ops), removed, key, 4))]:
        seen = []

        def recording(o):
            jax.debug.callback(lambda x: seen.append(np.asarray(x).reshape(-1, 6)), o)
            return tiny_table(o)

        jax.block_until_ready(call(recording)[0])
        got = {tuple(r) for batch in seen for r in batch}
        want = {tuple(r) for r in np.asarray(shapley.candidates(ops, removed, method, key, 4)).reshape(-1, 6)}
        assert got == want, method


def test_protocols_say_what_they_read(data_dir):
    c10 = tables.load("nb201", "cifar10", data_dir=data_dir)
    c100 = tables.load("nb201", "cifar100", data_dir=data_dir)
    cfg = pgnag.Config(k=5, prior_method="loo", sampler="direct", samples=10)
    whole = pgnag.report(jax.random.key(0), c10, c10, cfg)
    assert whole.protocol == "whole-table" and whole.target_queries == 15625
    budgeted = pgnag.report(jax.random.key(0), c10, c10, cfg.__class__(**{**cfg.__dict__, "prior_budget": 50}))
    assert budgeted.protocol == "budgeted" and 50 <= budgeted.target_queries <= 50 + 5 * 7 + 10
    transfer = pgnag.report(jax.random.key(0), c10, c100, cfg)
    assert transfer.protocol == "transfer" and transfer.prior_source == c10.name
    assert transfer.target_queries == len(np.unique(np.asarray(c100.space.rank(transfer.samples))))


@pytest.mark.slow
def test_generate_vmaps_over_seeds_and_stacked_target_tasks(data_dir):
    """One call: 2 target tasks x 3 seeds, the whole pipeline (scoring, prior, training, sampling)."""
    c10 = tables.load("nb201", "cifar10", data_dir=data_dir)
    targets = tables.stack([tables.load("nb201", d, data_dir=data_dir) for d in ("cifar100", "imagenet16")])
    cfg = pgnag.Config(k=5, prior_method="loo", samples=20, train=pgnag.DenoiserTrainConfig(iterations=30))
    one = lambda k, t: pgnag.generate(k, t, t.space, cfg, source=c10)  # noqa: E731
    res = jax.jit(jax.vmap(jax.vmap(one, in_axes=(0, None)), in_axes=(None, 0)))(
        jax.random.split(jax.random.key(0), 3), targets)
    assert res.best_fitness.shape == (2, 3) and res.extras["samples"].shape == (2, 3, 1, 20, 6)
    for i, t in enumerate(tables.unstack(targets)):
        np.testing.assert_allclose(np.asarray(res.best_fitness[i]), np.asarray(t(res.best_ops[i])))
    # The prior comes from the same source for every task: identical scoring, different targets.
    np.testing.assert_array_equal(np.asarray(res.extras["prior"][0]), np.asarray(res.extras["prior"][1]))
    assert float(res.extras["missing_share"].max()) == 0.0


@pytest.mark.slow  # about 5 s on 2 cores
def test_additive_shapley_is_exact_shapley_of_an_additive_fitness():
    """Closed form == the 2^P-coalition estimator on f(a) = sum_r w[r, a_r], NB201 and NAS-Bench-Graph."""
    for name in ("nb201", "nasbench_graph"):
        space = spaces.get(name)
        w = jax.random.normal(jax.random.key(1), (space.num_slots, space.num_choices))
        w = jnp.where(jnp.asarray(space.choice_mask), w, 0.0)
        additive = lambda ops: jnp.sum(w[jnp.arange(space.num_slots), ops], axis=-1)  # noqa: E731
        ops = space.sample_unique(jax.random.key(2), 4)
        removed = shapley.removed_choices(space)
        want, _ = shapley.exact(additive, ops, removed)
        got = pgnag.additive_shapley(w, ops, space)
        players = removed >= 0
        np.testing.assert_allclose(np.asarray(got)[:, players], np.asarray(want)[:, players], atol=1e-5)
        if not players.all():  # a slot with no removed choice: against its mean choice
            mask = np.asarray(space.choice_mask)[~players]
            mean = (np.asarray(w)[~players] * mask).sum(1) / mask.sum(1)
            np.testing.assert_allclose(np.asarray(got)[:, ~players],
                                       np.asarray(w)[~players][0][np.asarray(ops)[:, ~players]] - mean, atol=1e-5)


@pytest.mark.slow
def test_iterative_beats_the_same_prior_without_rescoring(nb201_c10):
    """Under one budget, nearly every round of the iterative variant is a new query and it finds better
    architectures than the same budgeted prior sampled without rescoring."""
    from jaxnag import budget, registry
    space = nb201_c10.space
    gen = budget.with_budget(registry.get("pgnag"))
    base = dict(k=5, prior_budget=20, prior_method="loo", sampler="direct", samples=2, rounds=200, sharpness=8.0)
    keys = jax.random.split(jax.random.key(0), 16)
    run = jax.jit(jax.vmap(lambda k, cfg: gen.generate(k, nb201_c10, space, cfg), in_axes=(0, None)))
    it = run(keys, gen.config(space, budget=150, iterative=True, **base))
    plain = run(keys, gen.config(space, budget=150, **base))
    assert np.asarray(it.queries).min() >= 140  # 200 rounds of 2: nearly every sample a new query
    trace = np.asarray(it.best_trace)
    assert np.all(np.diff(trace[:, -100:], axis=1) >= 0)
    assert float(np.mean(trace[:, -1])) > float(np.mean(np.asarray(plain.best_trace)[:, -1]))


@pytest.mark.slow  # about 5 s on 2 cores
def test_iterative_rescoring_moves_the_prior_and_asks_fresh(nb201_c10):
    """The rescored prior leaves the budgeted scoring's and puts most mass on the best's ops; ask puts
    unqueried draws first."""
    from jaxnag import queries
    space = nb201_c10.space
    cfg = pgnag.Config(k=5, prior_method="loo", prior_budget=20, sampler="direct", samples=2, rounds=60, iterative=True,
                       sharpness=8.0)
    res = jax.jit(lambda k: pgnag.generate(k, nb201_c10, space, cfg))(jax.random.key(3))
    prior_final = np.asarray(res.extras["prior"])
    best = np.asarray(res.best_ops)
    state = jax.jit(lambda k: pgnag.init_on_target(k, nb201_c10, space, cfg))(jax.random.key(0))
    assert not np.allclose(prior_final, np.asarray(state.prior))
    assert np.mean(prior_final[np.arange(6), best]) > 0.5
    # from a prior peaked on the (queried) best of the scoring, the picks are still new queries
    top = np.asarray(state.scoring.top_ops[0])
    peaked = jnp.asarray(np.where(np.arange(5)[None, :] == top[:, None], 0.9, 0.025), jnp.float32)
    ops, _ = pgnag.ask(jax.random.key(1), state._replace(prior=peaked), space, cfg)
    assert np.asarray(queries.contains(state.archive.seen, space.query_id(jnp.asarray(top)[None])))[0]
    assert not np.any(np.asarray(queries.contains(state.archive.seen, space.query_id(ops))))


def test_iterative_config_errors():
    from jaxnag import predictors, registry
    with pytest.raises(errors.ConfigError, match="sampler='direct'"):
        pgnag.Config(iterative=True)
    with pytest.raises(errors.ConfigError, match="ridge"):
        pgnag.Config(iterative=True, sampler="direct", ridge=0.0)
    with pytest.raises(errors.ConfigError, match="sharpness"):
        pgnag.Config(iterative=True, sampler="direct", sharpness=-1.0)
    with pytest.raises(errors.ConfigError, match="iterative variant's model of the target: set iterative=True"):
        pgnag.Config(sampler="direct", predictor=predictors.get("gp"))
    with pytest.raises(errors.ConfigError, match="must be a jaxnag.predictors model .* got str"):
        pgnag.Config(iterative=True, sampler="direct", predictor="gp")
    space, gen = spaces.get("nb201"), registry.get("pgnag")
    with pytest.raises(errors.ConfigError, match="unknown predictor 'gq'; the predictors: ridge, gp"):
        gen.config(space, iterative=True, sampler="direct", predictor="gq")
    with pytest.raises(errors.ConfigError, match="memory must be an integer >= 2"):
        gen.config(space, iterative=True, sampler="direct", predictor="gp", memory=1)
    earlier = gen.config(space, d=64, heads=4).train  # the denoiser's size is a setting (docs/pgnag_sizes.md)
    assert (earlier.d, earlier.heads, earlier.layers) == (64, 4, 2)
    with pytest.raises(errors.ConfigError, match=r"d \(30\) must be a multiple of heads \(4\)"):
        gen.config(space, d=30, heads=4)


def _pairs_space():
    return spaces.categorical("pgnag_pairs", ("zero", "a", "b"), slots=3, remove="zero")  # 27 architectures


def _pairs_fitness(o):
    """1 when slots 0 and 1 both hold ``a`` (an interaction), plus 0.3 for ``b`` on slot 2."""
    both = (o[..., 0] == 1) & (o[..., 1] == 1)
    return both.astype(jnp.float32) + 0.3 * (o[..., 2] == 2).astype(jnp.float32)


def test_predicted_shapley_sees_the_interaction_the_closed_form_cannot():
    """f = 1 when slots 0 and 1 both hold ``a`` (an interaction), plus 0.3 for ``b`` on slot 2. A GP fitted on the
    whole space gives the exact Shapley values (0.5, 0.5, 0.3 at the optimum); the ridge model's closed form
    splits the interaction by its marginal effect instead."""
    from jaxnag import predictors, ridge
    space = _pairs_space()
    ops = jnp.asarray(space.all_ops())
    f = _pairs_fitness
    best = jnp.array([[1, 1, 2]])
    removed = shapley.removed_choices(space)
    want = np.asarray(shapley.exact(f, best, removed)[0])
    np.testing.assert_allclose(want, [[0.5, 0.5, 0.3]], atol=1e-6)
    gp = predictors.get("gp", memory=32)

    @jax.jit
    def scores(o, v):
        st = gp.update(gp.init(space), o, v, space)
        exact = pgnag.predicted_shapley(gp, st, best, space, "exact")
        loo = pgnag.predicted_shapley(gp, st, best, space, "loo")
        w = ridge.slot_weights(ridge.weights(ridge.update(ridge.empty(space), o, v, space), 1e-3), space)
        return exact, loo, pgnag.additive_shapley(w, best, space)
    exact, loo, additive = (np.asarray(x) for x in scores(ops, f(ops)))
    np.testing.assert_allclose(exact, want, atol=0.02)
    np.testing.assert_allclose(loo, [[1.0, 1.0, 0.3]], atol=0.02)  # leave-one-out: the whole pair for each
    assert abs(additive[0, 0] - 0.5) > 0.1  # ridge: the interaction's marginal share, not the Shapley value


def test_iterative_variant_runs_a_predictor_in_the_compiled_loop():
    """PG-NAG iterative with a GP rescoring the prior: 16 seeds in one compiled call reach the interacting
    optimum (at least 14: 96% of 128 seeds do, where 6 random draws of 27 architectures make a poor start), their
    queries counted (the budgeted draws, the coalitions, the rounds' samples)."""
    from jaxnag import predictors
    space = _pairs_space()
    f = _pairs_fitness
    cfg = pgnag.Config(k=3, prior_method="exact", prior_budget=6, sampler="direct", samples=2, rounds=8,
                       iterative=True, sharpness=8.0, predictor=predictors.get("gp", memory=32))
    res = jax.jit(jax.vmap(lambda k: pgnag.generate(k, f, space, cfg)))(jax.random.split(jax.random.key(0), 16))
    hit = np.abs(np.asarray(res.best_fitness) - 1.3) < 1e-6
    assert hit.sum() >= 14 and (np.asarray(res.best_ops)[hit] == [1, 1, 2]).all()
    q = np.asarray(res.queries)
    assert (q > 6).all() and (q <= 27).all()


@pytest.mark.slow  # about 20 s on 2 cores (two vmapped transfer runs with a small denoiser)
def test_denoiser_seed_shares_one_denoiser_and_only_samples_differ(data_dir):
    """With ``denoiser_seed`` the transfer runs of different keys train the same denoiser (same final loss and
    weights) and draw different samples; without it each key trains its own."""
    c10, c100 = (tables.load("nb201", d, data_dir=data_dir) for d in ("cifar10", "cifar100"))
    base = pgnag.Config(k=5, prior_method="loo", samples=20, train=pgnag.DenoiserTrainConfig(iterations=60))
    keys = jax.random.split(jax.random.key(0), 3)
    for cfg, shared in ((base.replace(denoiser_seed=7), True), (base, False)):  # tables as arguments, not constants
        run = jax.jit(jax.vmap(lambda k, t, s, c=cfg: pgnag.generate(k, t, t.space, c, source=s),
                               in_axes=(0, None, None)))
        res = run(keys, c100, c10)
        loss = np.asarray(res.extras["final_loss"])
        assert bool(np.ptp(loss) == 0.0) is shared, loss
        samples = np.asarray(res.extras["samples"])
        assert not np.array_equal(samples[0], samples[1])  # the seeds draw their own samples either way
    with pytest.raises(ValueError, match="denoiser_seed"):
        pgnag.Config(denoiser_seed=-1)
