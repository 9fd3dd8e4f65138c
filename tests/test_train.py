"""jaxnag.train and jaxnag.data: training a generated architecture on the user's images."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnag import data, errors, spaces, train
from jaxnag.spaces.darts import DARTS_V2

CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def _images(n=48, side=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = (rng.normal(size=(n, side, side, 3)) + y[:, None, None, None]).astype(np.float32)  # separable by brightness
    return x, y


@pytest.mark.slow  # about 10 s on 2 cores: the default run keeps to its 5-minute budget
def test_train_checkpoint_and_reload(tmp_path):
    x, y = _images()
    run = train.train(CELL, (x, y), (x[:16], y[:16]), epochs=2, batch_size=16, channels=2, cells=1,
                      out=tmp_path / "run")
    assert [r["epoch"] for r in run.history] == [1, 2]
    assert all(np.isfinite(r["train_loss"]) and 0 <= r["test_accuracy"] <= 100 for r in run.history)
    net = train.load(tmp_path / "run")
    np.testing.assert_allclose(np.asarray(net(jnp.asarray(x[:4]))), np.asarray(run.network(jnp.asarray(x[:4]))),
                               rtol=1e-6)
    with pytest.raises(errors.CheckpointError, match="exists"):
        train.train(CELL, (x, y), epochs=1, batch_size=16, channels=2, cells=1, out=tmp_path / "run")
    with pytest.raises(errors.CheckpointError):
        train.load(tmp_path / "nothing")


def test_bad_training_data():
    x, y = _images()
    with pytest.raises(errors.DataError, match="fewer than one batch"):
        train.train(CELL, (x[:8], y[:8]), batch_size=16, channels=2, cells=1)
    with pytest.raises(errors.DataError, match="0..2"):
        train.train(CELL, (x, y), (x, y + 5), epochs=1, batch_size=16, channels=2, cells=1, classes=3)
    with pytest.raises(errors.InvalidArchitecture):
        train.train([9, 9, 9, 9, 9, 9], (x, y), epochs=1, batch_size=16, channels=2, cells=1)


@pytest.mark.slow
def test_population_is_one_program_and_a_fixed_function_of_the_cell():
    x, y = _images()
    ops = np.array([[3, 3, 3, 3, 3, 3], [0, 0, 0, 0, 0, 0], [3, 1, 3, 0, 2, 4]])
    raw = train.fitness(spaces.get("nb201"), (x, y), (x[:16], y[:16]), epochs=1, batch_size=16, channels=2, cells=1,
                        classes=3)
    fit = jax.jit(raw)
    a = np.asarray(fit(ops))
    b = np.asarray(fit(ops[::-1]))[::-1]
    assert a.shape == (3,) and ((a >= 0) & (a <= 100)).all()
    np.testing.assert_allclose(a, b, atol=1e-4)
    # under a vmap over seeds too: each member alone, only its ops run (a switch per edge, `case`), same scores
    two = jax.jit(jax.vmap(raw))
    assert two.lower(np.stack([ops, ops])).as_text().count("stablehlo.case") >= 3 * 6
    np.testing.assert_allclose(np.asarray(two(np.stack([ops, ops[::-1]]))), np.stack([a, a[::-1]]), atol=1e-4)


def test_data_files(tmp_path):
    x, y = _images()
    path = data.save(tmp_path / "d.npz", x, y)
    x2, y2 = data.load(path)
    np.testing.assert_array_equal(x2, x.astype(np.float32))
    np.savez(tmp_path / "nolabels.npz", x=x)
    with pytest.raises(errors.DataError, match="missing key"):
        data.load(tmp_path / "nolabels.npz")
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(errors.DataError, match="not a readable"):
        data.load(tmp_path / "corrupt.npz")
    with pytest.raises(errors.DataError, match="no dataset file"):
        data.load(tmp_path / "absent.npz")
    with pytest.raises(errors.DataError, match="0..1"):
        data.load(path, classes=2)


@pytest.mark.slow
def test_digits_are_learned():
    """Real images (scikit-learn's digits, 16x16): a small NB201 network learns them."""
    x, y = data.digits(resolution=16)
    (xt, yt), (xv, yv) = data.split(x, y)
    run = train.train(CELL, (xt, yt), (xv, yv), epochs=3, batch_size=64, channels=4, cells=1)
    assert run.history[-1]["test_accuracy"] > 80.0


def test_nb101_recipe_is_tensorflow_1s_rmsprop_with_l2_and_cosine():
    """NAS-Bench-101's optimiser as google-research/nasbench builds it, written out in numpy: L2 added to the
    gradient, mean squares starting at 1, epsilon 1 inside the root, momentum on the scaled step, cosine decay
    by step from 0.2. DARTS's: the gradient's global norm clipped to 5 before weight decay and plain momentum."""
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=5).astype(np.float32)
    grads = rng.normal(size=(6, 5)).astype(np.float32) * 3
    s = train.RECIPES["nb101"]
    tx = train._optimizer(s, 6)
    w, state = jnp.asarray(w0), None
    state = tx.init(w)
    for g in grads:
        upd, state = tx.update(jnp.asarray(g), state, w)
        w = w + upd
    ref, ms, mom = w0.astype(np.float64), np.ones(5), np.zeros(5)
    for t, g in enumerate(grads):
        g = g + s.weight_decay * ref
        lr = s.learning_rate * 0.5 * (1 + np.cos(np.pi * t / 6))
        ms = 0.9 * ms + 0.1 * g * g
        mom = s.momentum * mom + lr * g / np.sqrt(ms + 1.0)
        ref = ref - mom
    np.testing.assert_allclose(np.asarray(w), ref, rtol=1e-5)
    d = train.RECIPES["darts"]
    tx = train._optimizer(d, 100)
    g = np.full(5, 10.0, np.float32)  # norm 22.4: clipped to 5
    upd, _ = tx.update(jnp.asarray(g), tx.init(jnp.asarray(w0)), jnp.asarray(w0))
    np.testing.assert_allclose(np.asarray(upd), -d.learning_rate * (g * 5 / np.linalg.norm(g) + d.weight_decay * w0),
                               rtol=1e-5)


@pytest.mark.slow  # three trainings: about 15 s on 2 cores
def test_a_recipes_augmentations_change_the_run_not_its_seed():
    """A recipe's augmentations change the run (the same seed without them trains another network) and it stays
    a function of the seed."""
    x, y = _images(n=32)
    kw = dict(epochs=1, batch_size=16, channels=2, cells=1)
    plain = train.train(CELL, (x, y), **kw)
    aug = train.train(CELL, (x, y), recipe="nb201", **kw)
    again = train.train(CELL, (x, y), recipe="nb201", **kw)
    assert plain.history[0]["train_loss"] != aug.history[0]["train_loss"]
    assert aug.history[0]["train_loss"] == again.history[0]["train_loss"]


def test_recipes_are_checked_before_anything_is_built():
    """DARTS's recipe needs its network and 32x32 images; bad schedules are refused first."""
    x, y = _images(n=32)
    kw = dict(epochs=1, batch_size=16, channels=2, cells=1)
    with pytest.raises(errors.ConfigError, match="auxiliary head and drop-path are DARTS networks"):
        train.train(CELL, (x, y), recipe="darts", **kw)
    with pytest.raises(errors.DataError, match="auxiliary head reads the 8x8 maps of 32x32 images, got 8x8"):
        train.train(DARTS_V2, (x, y), recipe="darts", space="darts", **kw)
    for bad, match in ((dict(recipe="imagenet"), "unknown recipe 'imagenet'"),
                       (dict(recipe=train.Schedule(optimizer="adam")), "unknown optimizer 'adam'"),
                       (dict(recipe=train.Schedule(drop_path=1.0)), "drop_path"),
                       (dict(recipe="darts", learning_rate=-1.0), "learning_rate")):
        with pytest.raises(errors.JaxnagError, match=match):
            train.train(CELL, (x, y), **{**kw, **bad})


@pytest.mark.slow  # a DARTS network's compilation: 20-40 s on 2 cores
def test_darts_recipe_trains_with_the_auxiliary_head_and_drop_path():
    """DARTS's recipe on 32x32 images: the auxiliary head's loss and drop-path in one step; drop-path at
    probability 0 is the plain cell."""
    from flax import nnx

    from jaxnag.models import darts
    x, y = _images(n=16, side=32)
    run = train.train(DARTS_V2, (x, y), (x[:8], y[:8]), recipe="darts", epochs=2, batch_size=8, channels=2, cells=3,
                      space="darts")
    assert [r["epoch"] for r in run.history] == [1, 2] and np.isfinite(run.history[-1]["train_loss"])
    net = darts.Network(DARTS_V2, channels=2, layers=3, classes=3, auxiliary=True, rngs=nnx.Rngs(0))
    xb = jnp.asarray(x[:4])
    plain, _ = net.train_logits(xb)
    same, _ = net.train_logits(xb, drop=(jax.random.key(1), 0.0))
    dropped, _ = net.train_logits(xb, drop=(jax.random.key(1), 0.5))
    np.testing.assert_allclose(np.asarray(same), np.asarray(plain), rtol=1e-6)
    assert not np.allclose(np.asarray(dropped), np.asarray(plain))
