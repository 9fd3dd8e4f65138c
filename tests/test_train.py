"""jaxnag.train and jaxnag.data: training a generated architecture on the user's images."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnag import data, errors, spaces, train

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
    fit = jax.jit(train.fitness(spaces.get("nb201"), (x, y), (x[:16], y[:16]), epochs=1, batch_size=16, channels=2,
                                cells=1, classes=3))
    a = np.asarray(fit(ops))
    b = np.asarray(fit(ops[::-1]))[::-1]
    assert a.shape == (3,) and ((a >= 0) & (a <= 100)).all()
    np.testing.assert_allclose(a, b, atol=1e-4)


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
