import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxnag import budget, protocol, registry, spaces
from jaxnag.errors import ConfigError, GenerationError
from jaxnag.diffusionnag import encoding, generator, guidance, train
from jaxnag.diffusionnag.sampler import guided, pc_sample
from jaxnag.nn.score_net import REFERENCE, SMALL, ScoreNet, attention_mask, count_params, nb201_graph, space_graph
from jaxnag.sde import VESDE, VPSDE, dsm_loss

S = spaces.get("nb201")


def test_reference_parameter_count():
    net = nnx.eval_shape(lambda: ScoreNet(REFERENCE, nb201_graph(), rngs=nnx.Rngs(0)))  # shapes only
    total = count_params(net)
    head = count_params(net.h1) + count_params(net.h2) + count_params(net.h3)
    assert 3.95e6 < total < 4.05e6 and head == 3_552_775
    assert count_params(nnx.eval_shape(lambda: ScoreNet(SMALL, nb201_graph(), rngs=nnx.Rngs(0)))) < 200_000


def test_graph_and_masks():
    a = nb201_graph()
    # input feeds the three edges leaving node 0; the edges into node 3 feed the output.
    assert np.flatnonzero(a[0]).tolist() == [1, 2, 4] and np.flatnonzero(a[:, 7]).tolist() == [4, 5, 6]
    assert np.flatnonzero(a[1]).tolist() == [3, 5]  # edge 0->1 feeds 1->2 and 1->3
    raw, clo = attention_mask(a, "raw"), attention_mask(a, "closure")
    assert raw.sum() < clo.sum() and clo[0, 7] and not raw[0, 7]
    assert np.all(np.diag(raw)) and np.all(raw.sum(1) >= 1)
    with pytest.raises(ValueError, match="mask mode"):
        attention_mask(a, "full")


def test_encoding_round_trip_and_validity():
    ops = S.all_ops()[::97]
    b = encoding.to_matrix(ops, S)
    assert b.shape == (len(ops), 8, 7) and bool(jnp.all(encoding.is_valid(b, S)))
    assert np.array_equal(np.asarray(encoding.from_matrix(b, S)), ops)
    bad = b.at[0, 3, 0].set(1.0)  # two ones in a row, one of them "input"
    assert not bool(encoding.is_valid(bad, S)[0])
    bad2 = b.at[1, 0].set(jnp.eye(7)[2])  # row 0 is not input
    assert not bool(encoding.is_valid(bad2, S)[1])
    m = encoding.metrics(jnp.concatenate([b[:3], b[:1], bad[:1]]), S, train_ops=ops[:2])
    assert m["validity"] == pytest.approx(0.8) and m["uniqueness"] == pytest.approx(0.75)
    assert m["novelty"] == pytest.approx(1 / 3)


def test_sdes_and_loss():
    ve = VESDE(0.1, 5.0)
    assert float(ve.sigma(jnp.float32(0.0))) == pytest.approx(0.1)
    _, g = ve.sde(jnp.zeros(3), jnp.float32(1.0))
    assert float(g) == pytest.approx(5.0 * np.sqrt(2 * np.log(50)), rel=1e-5)
    vp = VPSDE()
    mean, std = vp.marginal(jnp.ones((2, 3)), jnp.array([0.0, 1.0]))
    assert float(std[0]) == pytest.approx(0.0, abs=1e-6) and float(mean[1, 0]) < 0.01
    # The exact score of Gaussian data gives the minimal DSM loss (= 1 per entry at the optimum? no: compare).
    x0 = jax.random.normal(jax.random.key(0), (4096, 3))
    exact = lambda x, s: -x / (1.0 + s[:, None] ** 2)  # noqa: E731
    zero = lambda x, s: jnp.zeros_like(x)  # noqa: E731
    assert float(dsm_loss(exact, ve, x0, jax.random.key(1))) < float(dsm_loss(zero, ve, x0, jax.random.key(1)))


def test_sampler_recovers_gaussian_and_is_deterministic():
    sde = VESDE(0.1, 5.0)
    score = lambda x, s: -(x - 2.0) / (0.25 + s[:, None] ** 2)  # noqa: E731  data N(2, 0.5^2)
    run = jax.jit(lambda k: pc_sample(k, score, sde, (2000, 2), steps=300))
    x = run(jax.random.key(0))
    assert x.shape == (2000, 2)
    np.testing.assert_allclose(np.asarray(x.mean(0)), 2.0, atol=0.06)
    np.testing.assert_allclose(np.asarray(x.std(0)), 0.5, atol=0.06)
    np.testing.assert_array_equal(np.asarray(run(jax.random.key(0))), np.asarray(x))
    batched = jax.vmap(lambda k: pc_sample(k, score, sde, (16, 2), steps=20))(jax.random.split(jax.random.key(1), 3))
    assert batched.shape == (3, 16, 2)


def test_guidance_gradient_direction():
    sde = VESDE(0.1, 5.0)
    zero = lambda x, s: jnp.zeros_like(x)  # noqa: E731
    pred = lambda x, s: jnp.sum(x[..., 0], axis=-1)  # noqa: E731  rewards feature 0
    g = guided(zero, pred, 3.0)(jnp.zeros((2, 4, 2)), jnp.ones(2))
    np.testing.assert_allclose(np.asarray(g[..., 0]), 3.0)
    np.testing.assert_allclose(np.asarray(g[..., 1]), 0.0)
    x = pc_sample(jax.random.key(0), guided(lambda x, s: -x / (1 + s[:, None, None] ** 2), pred, 1.0), sde,
                  (512, 4, 2), steps=100)
    assert float(x[..., 0].mean()) > float(x[..., 1].mean()) + 0.5


@pytest.mark.slow  # >= 6 s on 2 cores
def test_training_loss_decreases(tmp_path):
    cfg = train.ScoreTrainConfig(iterations=60, batch=32, log_every=20, ckpt_every=60)
    model, info = train.train_score(jax.random.key(0), S, cfg, tmp_path / "ck", verbose=False)
    assert info["steps"] == 60 and info["losses"][-1] < info["losses"][0] and info["saved"] == [60]


@pytest.mark.slow  # 10 s on 2 cores: the default run stays under 5 minutes
def test_predictor_learns_to_rank(nb201_c10):
    sde = VESDE(0.1, 5.0)
    q = S.sample_unique(jax.random.key(0), 200)
    pred = guidance.fit_predictor(jax.random.key(1), S, q, nb201_c10(q), sde, iterations=300)
    test = S.sample_unique(jax.random.key(2), 500)
    p = guidance.rank_by_predictor(pred, test, S, sde)
    from scipy.stats import spearmanr
    assert spearmanr(p, np.asarray(nb201_c10(test)))[0] > 0.6


GEN_CFG = generator.Config(predictor_queries=100, top=5, round_size=16, rounds=2, pc_steps=20, guidance_scale=0.0,
                           predictor=generator.PredictorConfig(iterations=50))


@pytest.mark.slow  # 19 s on 2 cores
def test_generator_rounds_and_validity(nb201_c10):
    sde = VESDE(0.1, 5.0)
    # A score that pulls every entry to 0 gives no valid sample: check() says so.
    zero = generator.ScoreModel.of(Score(zero=True), sde)
    run = jax.jit(lambda k, s, c: generator.generate(k, nb201_c10, S, c, s))
    res = run(jax.random.key(3), zero, GEN_CFG)
    assert float(res.extras["validity"]) == 0.0 and bool(jnp.all(jnp.isnan(res.extras["candidate_values"])))
    with pytest.raises(GenerationError, match="0% of the generated samples are valid"):
        generator.check(res)
    # The exact score of the data gives valid samples; the top-5 are the best-predicted distinct ones.
    # (At scale 50 the predictor's gradient pulls every sample onto its favourite cell: scale 0 here.)
    res = run(jax.random.key(3), generator.ScoreModel.of(Score(zero=False), sde), GEN_CFG)
    assert float(res.extras["validity"]) > 0.5 and int(res.extras["distinct"]) >= 5
    assert res.extras["candidates"].shape == (5, 6) and bool(jnp.all(jnp.diff(res.extras["predicted"]) <= 0))
    assert 100 < int(res.queries) <= 105  # 100 predictor queries + the candidates that are new
    assert float(res.best_fitness) >= float(res.extras["generated_best"])


@pytest.mark.slow
def test_generator_ask_tell_equals_generate(nb201_c10):
    """ask/tell with a host fitness gives the run generate gives (same keys)."""
    exact = generator.ScoreModel.of(Score(zero=False), VESDE(0.1, 5.0))
    res = jax.jit(lambda k: generator.generate(k, nb201_c10, S, GEN_CFG, exact))(jax.random.key(3))
    host = protocol.run(registry.get("diffusionnag"), jax.random.key(3), lambda o: np.asarray(nb201_c10(o)), S,
                        GEN_CFG, score_model=exact)
    np.testing.assert_array_equal(np.asarray(host.best_ops), np.asarray(res.best_ops))
    assert int(host.extras["rounds"]) == 2 and int(host.queries) == int(res.queries)


class Score(nnx.Module):
    """The exact score of VE-noised NB201 matrices (each row an independent one-hot: input, any op,
    output), or with ``zero`` a score that pulls every entry to 0 (never a valid sample)."""

    def __init__(self, zero: bool):
        self.zero = zero

    def __call__(self, x, sigma):
        s2 = (sigma ** 2)[:, None, None]
        if self.zero:
            return -x / (1.0 + s2)
        v, f = encoding.shape(S)
        cand = jnp.eye(f) * 2.0 - 1.0
        d2 = jnp.sum((x[:, :, None, :] - cand[None, None]) ** 2, axis=-1)  # [B, V, F]
        eye = jnp.eye(f, dtype=bool)
        allowed = jnp.concatenate([eye[:1], jnp.tile((jnp.arange(f) >= 2)[None], (v - 2, 1)), eye[1:2]])
        w = jax.nn.softmax(jnp.where(allowed[None], -d2 / (2 * s2), -jnp.inf), axis=-1)
        return (jnp.einsum("bvf,fg->bvg", w, cand) - x) / s2


@pytest.mark.slow
def test_generator_vmaps_over_guidance_scales(nb201_c10):
    """A config whose scale leaf is an array is a sweep: one call, one run per scale."""
    exact = generator.ScoreModel.of(Score(zero=False), VESDE(0.1, 5.0))
    scales = GEN_CFG.replace(guidance_scale=jnp.array([0.0, 5.0, 50.0]), decrement=jnp.zeros(3),
                             snr=jnp.full(3, GEN_CFG.snr))  # every leaf batched: vmap over axis 0
    res = jax.jit(jax.vmap(lambda c: generator.generate(jax.random.key(0), nb201_c10, S, c, exact)))(scales)
    assert res.best_fitness.shape == (3,) and res.extras["validity"].shape == (3,)
    # The same key and predictor: the unguided run (scale 0) differs from the guided ones.
    assert not np.array_equal(np.asarray(res.extras["candidates"][0]), np.asarray(res.extras["candidates"][2]))


@pytest.mark.slow
def test_closed_loop_queries_new_candidates_and_refits(nb201_c10):
    """loops=3: every cycle's candidates are new queries (Q + 3 * top in all), the predictor changes
    between cycles (warm-start refit on the grown archive), and it runs under a query budget."""
    exact = generator.ScoreModel.of(Score(zero=False), VESDE(0.1, 5.0))
    cfg = GEN_CFG.replace(predictor_queries=20, loops=3, refit_iterations=5)
    res = jax.jit(lambda k: generator.generate(k, nb201_c10, S, cfg, exact))(jax.random.key(3))
    assert int(res.queries) == 20 + 3 * 5
    assert res.best_trace.shape == (4,) and np.all(np.diff(np.asarray(res.best_trace)) >= 0)
    assert np.asarray(res.queries_trace).tolist() == [20, 25, 30, 35]
    # by hand: the predictor after the first cycle is not the one before it; the archive holds the candidates
    state = generator.init(jax.random.key(0), S, cfg, exact)
    ops, state = generator.ask(jax.random.key(1), state, S, cfg)
    state = generator.tell(state, nb201_c10(ops), S, cfg)
    ops, state = generator.ask(jax.random.key(2), state, S, cfg)
    after = generator.tell(state, nb201_c10(ops), S, cfg)
    before_w = jax.tree.leaves(state.predictor)
    assert any(not np.allclose(a, b) for a, b in zip(before_w, jax.tree.leaves(after.predictor)))
    np.testing.assert_array_equal(np.asarray(after.archive_ops[20:25]), np.asarray(ops))
    assert not bool(after.told) and int(after.cycle) == 1
    # under a budget: stops at B unique queries
    gen = budget.with_budget(registry.get("diffusionnag"))
    bcfg = budget.Config(cfg, budget=28)
    out = jax.jit(lambda k: gen.generate(k, nb201_c10, S, bcfg, score_model=exact))(jax.random.key(3))
    assert int(out.queries) == 28


@pytest.mark.slow  # a two-head predictor and a guided run: about 40 s on 2 cores
def test_two_objectives_two_heads_and_candidates_in_pareto_order(data_dir):
    """A vector fitness: the predictor learns each objective (its own head), each sample is guided by its own
    weights, and the candidates come in predicted Pareto order (none dominated by a later one)."""
    from jaxnag import pareto, tables
    from scipy.stats import spearmanr
    obj = tables.objectives("nb201", "cifar10", "test_acc,params_mb", data_dir=data_dir)
    sde, pcfg = VESDE(0.1, 5.0), guidance.PredictorConfig(iterations=300, outputs=2)
    q, test = S.sample_unique(jax.random.key(0), 200), S.sample_unique(jax.random.key(2), 500)
    state, mean, std = jax.jit(guidance.predictor_state, static_argnums=(1, 4, 5))(
        jax.random.key(1), S, q, obj(q), sde, pcfg)
    assert mean.shape == std.shape == (2,)
    p, truth = np.asarray(guidance.predict_clean(state, test, S, sde, pcfg)), np.asarray(obj(test))
    assert p.shape == (500, 2)
    assert min(spearmanr(p[:, j], truth[:, j])[0] for j in range(2)) > 0.6
    cfg = GEN_CFG.replace(num_objectives=2, guidance_scale=1.0)
    exact = generator.ScoreModel.of(Score(zero=False), sde)
    res = jax.jit(lambda k: generator.generate(k, obj, S, cfg, exact))(jax.random.key(3))
    pred, values = np.asarray(res.extras["predicted"]), np.asarray(res.extras["candidate_values"])
    assert pred.shape == values.shape == (5, 2) and np.all(np.isfinite(values))
    assert 100 < int(res.queries) <= 105 and float(res.extras["validity"]) > 0.5
    later_dominates = pareto.dominates(jnp.asarray(pred)[None, :], jnp.asarray(pred)[:, None])  # [i, j]: j over i
    assert not np.any(np.triu(np.asarray(later_dominates), 1))
    # a scalar where two objectives are declared: one clear line
    start = generator.init(jax.random.key(0), S, cfg, exact)
    with pytest.raises(ConfigError, match=r"one value per objective per predictor query: shape \(100, 2\)"):
        generator.tell(start, jnp.zeros(100), S, cfg)


def test_closed_loop_config_errors():
    with pytest.raises(ConfigError, match="needs predictor_queries > 0"):
        generator.Config(predictor_queries=0, loops=2)
    with pytest.raises(ConfigError, match="refit_iterations"):
        generator.Config(refit_iterations=-1)


class MixtureScore(nnx.Module):
    """The exact score of VE-noised copies of a few data matrices ``[K, V, F]`` (a Gaussian mixture)."""

    def __init__(self, data):
        self.data = nnx.Variable(jnp.asarray(data))

    def __call__(self, x, sigma):
        s2 = (sigma ** 2)[:, None, None]
        d = self.data[...]
        d2 = jnp.sum((x[:, None] - d[None]) ** 2, axis=(-2, -1))  # [B, K]
        w = jax.nn.softmax(-d2 / (2 * s2[:, :, 0]), axis=-1)
        return (jnp.einsum("bk,kvf->bvf", w, d) - x) / s2


def test_a_space_without_fixed_edges_gets_a_complete_slot_graph():
    nb101 = spaces.get("nb101")
    a = space_graph(nb101)
    mask = attention_mask(a, "closure")
    r = nb101.num_slots
    assert a.shape == (r + 2, r + 2) and mask[1:-1, 1:].all() and mask[0].all()  # every slot sees every slot
    assert not mask[-1, :-1].any() and np.array_equal(space_graph(S), nb201_graph())
    darts = spaces.get("darts")  # too large to rank: the metrics compare encodings as rows
    cells = np.asarray(darts.random(jax.random.key(0), (2,)))
    m = encoding.metrics(encoding.to_matrix(cells[[0, 1, 0]], darts), darts, train_ops=cells[:1])
    assert (m["validity"], m["novelty"]) == (1.0, 0.5) and m["uniqueness"] == pytest.approx(2 / 3)


@pytest.mark.slow  # a real score network on NB101 and a run through the generator: about 20 s on 2 cores
def test_diffusionnag_runs_on_nb101():
    """NB101 (26 slots: adjacency bits and node ops, no fixed edges): the score network trains on drawn valid
    cells, and a guided run proposes valid distinct NB101 cells."""
    nb101 = spaces.get("nb101")
    data = train.default_data(jax.random.key(0), nb101)
    assert not nb101.enumerable and len(data) == train.DRAWN and bool(nb101.is_valid(data).all())
    cfg = train.ScoreTrainConfig(iterations=4, batch=8, log_every=4)
    net, info = train.train_score(jax.random.key(0), nb101, cfg, data_ops=data[:64], verbose=False)
    v, f = encoding.shape(nb101)
    assert info["steps"] == 4 and np.isfinite(info["losses"]).all()
    assert net(jnp.zeros((2, v, f)), jnp.ones(2)).shape == (2, v, f)
    # the generator with the exact score of 16 valid cells: its samples are those cells
    cells = data[:16]
    score = generator.ScoreModel.of(MixtureScore(encoding.to_matrix(cells, nb101) * 2.0 - 1.0), VESDE(0.1, 5.0))
    fitness = lambda ops: jnp.sum(ops[..., 21:] == 0, axis=-1).astype(jnp.float32)  # noqa: E731 - op 0 count
    res = jax.jit(lambda k: generator.generate(k, fitness, nb101, GEN_CFG, score))(jax.random.key(1))
    cand = np.asarray(res.extras["candidates"])
    assert float(res.extras["validity"]) > 0.5 and bool(nb101.is_valid(cand).all())
    assert {c.tobytes() for c in cand} <= {c.tobytes() for c in np.asarray(cells)}
    assert float(res.best_fitness) >= float(np.asarray(fitness(cand)).max())  # the candidates were queried
