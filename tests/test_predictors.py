"""jaxnag.predictors: the incrementally updated Gaussian process equals exact GP inference (float64 numpy),
its additive and pairwise kernels are ridge regression on one-hot (plus pairwise) features, the path kernel is
BANANAS's path encoding, acquisitions, and bad input. The budget benchmark measures what they do for
generation (docs/budget.md)."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnag import budget, errors, predictors, registry, ridge, spaces, surrogate

SPACE = spaces.get("nb201")
R = SPACE.num_slots


def _path_features(ops, space=SPACE):
    """BANANAS's encoding written out: one-hot, one indicator per (path, ops along it: the removing choice
    excluded), a constant."""
    feats = [np.eye(space.num_choices)[ops].reshape(len(ops), -1), np.ones((len(ops), 1))]
    for path in space.paths():
        kept = [[c for c in range(space.choice_counts[s]) if c != space.remove[s]] for s in path]
        for seq in itertools.product(*kept):
            feats.append(np.all(ops[:, list(path)] == np.array(seq), axis=1)[:, None])
    return np.concatenate(feats, axis=1).astype(np.float64)


def _kernel_np(kernel, a, b, scale):
    if kernel == "path":
        fa, fb = _path_features(a), _path_features(b)
        return (fa @ fb.T) / np.sqrt(np.outer((fa * fa).sum(1), (fb * fb).sum(1)))
    m = (a[:, None, :] == b[None, :, :]).sum(-1).astype(np.float64)
    if kernel == "hamming":
        return np.exp(-((R - m) / R) / scale)
    if kernel == "additive":
        return (1 + m) / (1 + R)
    return (1 + m + m * (m - 1) / 2) / (1 + R + R * (R - 1) / 2)


def _exact(gp, ops, vals, test):
    """Exact GP inference at the grid point of highest evidence: (mean, std, evidence per grid point)."""
    mu, sd = vals.mean(), vals.std()
    y = (vals - mu) / sd
    fits = []
    for scale, noise in gp.grid:
        k = _kernel_np(gp.kernel, ops, ops, scale) + noise * np.eye(len(ops))
        inv = np.linalg.inv(k)
        ks = _kernel_np(gp.kernel, test, ops, scale)
        fits.append((-0.5 * y @ inv @ y - 0.5 * np.linalg.slogdet(k)[1], mu + sd * ks @ inv @ y,
                     sd * np.sqrt(np.maximum(1 - np.sum((ks @ inv) * ks, 1), 1e-9))))
    evidence = np.array([f[0] for f in fits])
    return fits[int(np.argmax(evidence))][1:] + (evidence,)


@pytest.fixture(scope="module")
def batches():
    """Ten batches of 7 random NB201 cells with values, some NaN, some repeats (within and across batches)."""
    rng = np.random.default_rng(0)
    out = []
    for r in range(10):
        ops = np.array(SPACE.random(jax.random.key(r), (7,)))
        if r >= 1:
            ops[0] = out[-1][0][1]  # told before
            ops[3] = ops[2]         # twice in the batch
        vals = (rng.normal(size=7) + (ops == 3).sum(1)).astype(np.float32)
        vals[rng.random(7) < 0.15] = np.nan
        out.append((ops, vals))
    return out


@pytest.mark.parametrize("kernel", predictors.KERNELS)
def test_incremental_gp_equals_exact_inference(kernel, batches):
    """After each batch: the buffer holds the first `memory` distinct finite observations, and mean, std and
    the evidence of every grid point equal exact float64 inference on them (repeats, NaN, a full buffer)."""
    gp = predictors.GP(kernel=kernel, memory=40)
    update = jax.jit(lambda s, o, v: gp.update(s, o, v, SPACE))
    evidence = jax.jit(gp.evidence)
    predict = jax.jit(lambda s, o: gp.predict(s, o, SPACE))
    state, held, told = gp.init(SPACE), {}, 0
    test = np.asarray(SPACE.random(jax.random.key(99), (25,)))
    for ops, vals in batches:
        state = update(state, ops, vals)
        told += int(np.isfinite(vals).sum())
        for o, v in zip(ops.tolist(), vals.tolist()):
            if math.isfinite(v) and tuple(o) not in held and len(held) < gp.memory:
                held[tuple(o)] = v
        buf = state.buffer
        got = {tuple(o): v for o, v, u in zip(np.asarray(buf.ops).tolist(), np.asarray(buf.values).tolist(),
                                               np.asarray(buf.used)) if u}
        assert got.keys() == held.keys() and int(state.count) == told
        np.testing.assert_allclose([got[k] for k in held], list(held.values()), rtol=1e-6)
        ops_h, vals_h = np.array(list(held), np.int64), np.array(list(held.values()), np.float64)
        mean, std, ev = _exact(gp, ops_h, vals_h, test)
        m, s = predict(state, test)
        np.testing.assert_allclose(m, mean, atol=2e-4 * max(1.0, np.abs(mean).max()))
        np.testing.assert_allclose(s, std, atol=2e-4 * vals_h.std())
        np.testing.assert_allclose(evidence(state), ev - ev.max() + float(evidence(state).max()),
                                   rtol=1e-4, atol=2e-3)
    assert len(held) == gp.memory  # the buffer filled up: later rows were not added


def _pairwise_features(ops):
    onehot = np.eye(SPACE.num_choices)[ops].reshape(len(ops), -1)
    pairs = [np.eye(SPACE.num_choices ** 2)[ops[:, r] * SPACE.num_choices + ops[:, s]]
             for r, s in itertools.combinations(range(R), 2)]
    return np.concatenate([np.ones((len(ops), 1)), onehot] + pairs, axis=1)


@pytest.mark.parametrize("kernel", ["additive", "pairwise"])
def test_gp_mean_is_ridge_on_one_hot_or_pairwise_features(kernel, batches):
    """The additive kernel's mean is ridge on one-hot features (jaxnag.ridge) and the pairwise one's ridge on
    one-hot plus (slot, slot) features, with penalty noise x the kernel's normaliser, on centred values."""
    noise = 0.05
    gp = predictors.GP(kernel=kernel, noises=(noise,), memory=70)
    ops = np.concatenate([b[0] for b in batches])
    vals = np.concatenate([b[1] for b in batches])
    _, first = np.unique(ops, axis=0, return_index=True)
    keep = np.sort(first)[np.isfinite(vals[np.sort(first)])]
    ops, vals = ops[keep], vals[keep].astype(np.float64)
    test = np.asarray(SPACE.random(jax.random.key(7), (30,)))
    mean = np.asarray(jax.jit(lambda o, v, t: gp.predict(gp.update(gp.init(SPACE), o, v, SPACE), t, SPACE)[0])(
        ops, vals.astype(np.float32), test))
    centred = (vals - vals.mean()) / vals.std()
    if kernel == "additive":
        stats = ridge.update(ridge.empty(SPACE), ops, centred.astype(np.float32), SPACE)
        want = np.asarray(ridge.predictor(stats, SPACE, noise * (1 + R))(test))
    else:
        x, xt = _pairwise_features(ops), _pairwise_features(test)
        w = np.linalg.solve(x.T @ x + noise * (1 + R + R * (R - 1) / 2) * np.eye(x.shape[1]), x.T @ centred)
        want = xt @ w
    np.testing.assert_allclose(mean, vals.mean() + vals.std() * want, atol=2e-3 * vals.std())


def test_acquisitions_and_bad_input():
    mean, std = jnp.array([1.0, 0.8, 0.0]), jnp.array([0.0, 0.3, 1.0])
    key = jax.random.key(0)
    assert int(jnp.argmax(predictors.acquire("greedy", key, mean, std, 1.0, 2.0))) == 0
    assert int(jnp.argmax(predictors.acquire("ucb", key, mean, std, 1.0, 2.0))) == 2
    ei = predictors.acquire("ei", key, mean, std, 1.0, 2.0)
    assert float(ei[0]) == pytest.approx(0.0, abs=1e-6) and float(ei[2]) > float(ei[1]) > 0
    draws = jax.vmap(lambda k: predictors.acquire("thompson", k, mean, std, 1.0, 2.0))(jax.random.split(key, 4000))
    np.testing.assert_allclose(draws.mean(0), mean, atol=0.06)
    np.testing.assert_allclose(draws.std(0), std, atol=0.06)
    gen = surrogate.with_surrogate(registry.get("ednag"))
    for kw, words in [(dict(predictor="forest"), "unknown predictor 'forest'"),
                      (dict(predictor="gp", acquisition="pi"), "unknown acquisition 'pi'"),
                      (dict(acquisition="ucb"), "needs a predictor with an uncertainty"),
                      (dict(predictor="gp", memory=3), "memory"),
                      (dict(predictor="gp", beta=-1.0), "beta"),
                      (dict(predictor="gp", joint=True), "joint works with the neighbours of the best")]:
        with pytest.raises(errors.ConfigError, match=words) as e:
            gen.config(SPACE, query=4, population=8, **kw)
        assert "\n" not in str(e.value)
    with pytest.raises(errors.ConfigError, match="kernel"):
        predictors.GP(kernel="rbf")
    with pytest.raises(errors.ConfigError, match="noises"):
        predictors.GP(noises=())
    with pytest.raises(errors.ConfigError, match="members must be an int >= 2"):
        predictors.Ensemble(members=1)
    with pytest.raises(errors.ConfigError, match="learning_rate must be a number > 0"):
        predictors.get("ensemble", learning_rate=0.0)
    with pytest.raises(errors.ConfigError, match="predictor 'gp'"):
        predictors.get("gp", penalty=1.0)


def test_gp_learns_an_interaction_ridge_cannot():
    """A fitness that is a pure (slot 0, slot 1) interaction: on held-out cells the GP's prediction separates
    the two values (the pairwise kernel, which has the term, best); ridge on one-hot features cannot."""
    def fitness(ops):
        return (ops[..., 0] == ops[..., 1]).astype(jnp.float32)
    ops = np.asarray(SPACE.random(jax.random.key(3), (150,)))
    test = np.asarray(SPACE.random(jax.random.key(4), (300,)))
    truth = np.asarray(fitness(test)) == 1
    gaps = {}
    for name in ("gp", "pairwise", "ridge"):
        model = predictors.get(name, **({} if name == "ridge" else {"memory": 150}))
        mean = np.asarray(jax.jit(lambda o, t: model.predict(model.update(model.init(SPACE), o, fitness(o), SPACE),
                                                              t, SPACE)[0])(ops, test))
        gaps[name] = mean[truth].mean() - mean[~truth].mean()
    assert gaps["pairwise"] > 0.3 and gaps["gp"] > 0.15 and abs(gaps["ridge"]) < 0.05, gaps


def test_rank_warped_gp_sees_only_the_order_of_the_values(batches):
    """``gp_rank`` fits the normal scores: a strictly increasing transform of the values (here one that turns a
    gap into a long tail) leaves its predicted order unchanged and its prediction an affine map of the other
    (the held values' mean and sd); the plain GP's order changes. Its normal scores match scipy's; EI is refused."""
    from scipy.stats import norm, rankdata
    from jaxnag.predictors import _gp
    ops = np.concatenate([b[0] for b in batches])
    vals = np.concatenate([b[1] for b in batches])
    test = np.asarray(SPACE.random(jax.random.key(9), (200,)))
    tail = lambda v: np.where(v < 1.0, v - 100.0, v).astype(np.float32)  # noqa: E731  (increasing)

    def fit(name):
        model = predictors.get(name, memory=80)
        return jax.jit(lambda v: model.predict(model.update(model.init(SPACE), ops, v, SPACE), test, SPACE)[0])
    warped, plain = fit("gp_rank"), fit("gp")
    a, b = np.asarray(warped(vals)), np.asarray(warped(tail(vals)))
    slope, _ = np.polyfit(a, b, 1)
    assert slope > 1 and np.allclose(np.polyval(np.polyfit(a, b, 1), a), b, rtol=1e-4, atol=1e-3)
    assert np.array_equal(np.argsort(a), np.argsort(b))
    assert not np.array_equal(np.argsort(np.asarray(plain(vals))), np.argsort(np.asarray(plain(tail(vals)))))
    v = np.array([3.0, -1.0, 3.0, 7.0, 0.5, 2.0], np.float32)
    z = norm.ppf((rankdata(v) - 0.5) / len(v))
    np.testing.assert_allclose(_gp.normal_scores(jnp.asarray(v), jnp.ones(6, bool)), (z - z.mean()) / z.std(),
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(errors.ConfigError, match="a rank-warped GP .gp_rank. predicts scores, not values"):
        surrogate.with_surrogate(registry.get("ednag")).config(SPACE, query=4, population=8, predictor="gp_rank",
                                                               acquisition="ei")
    with pytest.raises(errors.ConfigError, match="unknown GP warp 'log'; the warps: none, rank"):
        predictors.GP(warp="log")


def test_paths_and_the_path_kernel_on_cell_spaces():
    """The cell DAG's input-to-output paths, and the path kernel learning a fitness that lives on one path (a
    three-way interaction along 0->1->2->3) far better than ridge; a space with no cell graph is refused."""
    assert SPACE.paths() == ((0, 2, 5), (0, 4), (1, 5), (3,))
    assert spaces.get("tnb101_micro").paths() == SPACE.paths()  # the same 4-node cell
    assert len(_path_features(SPACE.all_ops()[:1])[0]) == 1 + R * 5 + 4 ** 3 + 4 ** 2 + 4 ** 2 + 4

    def fitness(ops):  # one op, not none, on the whole longest path 0->1->2->3 (slots 0, 2, 5): no op matters alone
        path = ops[..., jnp.array([0, 2, 5])]
        return (jnp.all(path == path[..., :1], axis=-1) & (path[..., 0] != 0)).astype(jnp.float32)
    rng = np.random.default_rng(0)
    ops = np.array(SPACE.random(jax.random.key(5), (200,)))
    ops[:50, [0, 2, 5]] = rng.integers(1, 5, 50)[:, None]  # enough cells with the path
    test = np.array(SPACE.random(jax.random.key(6), (300,)))
    test[:60, [0, 2, 5]] = rng.integers(1, 5, 60)[:, None]
    truth = np.asarray(fitness(test)) == 1
    gaps = {}
    for name in ("path", "ridge"):
        model = predictors.get(name, **({} if name == "ridge" else {"memory": 200}))
        mean = np.asarray(jax.jit(lambda o, t: model.predict(model.update(model.init(SPACE), o, fitness(o), SPACE),
                                                              t, SPACE)[0])(ops, test))
        gaps[name] = mean[truth].mean() - mean[~truth].mean()
    assert gaps["path"] > 0.5 and gaps["path"] > 3 * gaps["ridge"], gaps
    flat = spaces.categorical("flat3", ("a", "b"), slots=3)
    assert flat.paths() == ()
    with pytest.raises(errors.ConfigError, match="path kernel needs a space with a cell graph"):
        predictors.get("path").init(flat)


@pytest.mark.slow
def test_surrogate_with_a_gp_spends_its_budget():
    """EDNAG + a GP surrogate (UCB) under a budget of 60 unique queries, 2 seeds in one call: every query
    spent, and the interaction's optimum found."""
    gen = budget.with_budget(surrogate.with_surrogate(registry.get("ednag")))
    cfg = gen.config(SPACE, budget=60, query=4, local=3, population=8, steps=60, predictor="gp",
                     acquisition="ucb", memory=60)

    def fitness(ops):
        return (ops[..., 0] == ops[..., 1]).astype(jnp.float32)
    res = jax.jit(jax.vmap(lambda k: gen.generate(k, fitness, SPACE, cfg)))(jax.random.split(jax.random.key(0), 2))
    assert np.asarray(res.queries).tolist() == [60, 60]
    assert np.asarray(res.best_fitness).tolist() == [1.0, 1.0]
