"""Train a generated NB201 architecture on the user's images with optax: the final model, or a short
schedule as a low-fidelity fitness.

:func:`train` trains one architecture's :class:`~jaxnag.models.nb201.Network` (NAS-Bench-201's recipe
by default: SGD with Nesterov momentum 0.9, weight decay 5e-4, cosine learning rate from 0.1,
cross-entropy), one compiled epoch (a ``lax.scan`` over shuffled minibatches), metrics per epoch, a
rich progress bar, and an orbax checkpoint of the final weights. :func:`population` trains several
architectures for a few epochs in one compiled program (a :class:`~jaxnag.models.nb201.MixedNetwork`
per member) and returns their held-out accuracies; :func:`fitness` wraps it as a fitness any
generator accepts.

Example:
  >>> import numpy as np
  >>> from jaxnag import train
  >>> rng = np.random.default_rng(0)
  >>> x, y = rng.normal(size=(64, 8, 8, 3)).astype(np.float32), rng.integers(0, 4, 64)
  >>> run = train.train([3, 1, 3, 0, 2, 4], (x, y), epochs=2, batch_size=16, channels=4, cells=1, classes=4)
  >>> len(run.history), sorted(run.history[-1])
  (2, ['epoch', 'seconds', 'train_accuracy', 'train_loss'])
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import CheckpointError, ConfigError, DataError, check_int

__all__ = ["Run", "Schedule", "fitness", "load", "population", "train"]


class Schedule(NamedTuple):
    """Optimisation hyperparameters (NAS-Bench-201's by default)."""
    epochs: int = 200
    batch_size: int = 256
    learning_rate: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4


class Run(NamedTuple):
    """A finished training: the trained network, metrics per epoch, and the checkpoint folder (or None)."""
    network: object
    history: list
    checkpoint: Path | None


def _data(d, classes: int, name: str):
    from .data import check
    if d is None:
        return None
    x, y = check(*d, name=name)
    if len(y) and y.max() >= classes:
        raise DataError(f"{name}: labels must lie in 0..{classes - 1} for {classes} classes, got max {int(y.max())}")
    return x, y


def _optimizer(schedule: Schedule, steps: int):
    import jax.numpy as jnp
    import optax
    total = float(max(steps, 1))

    def lr(count):  # cosine decay to 0 (optax's own schedule mixes int and float: not strict-dtype safe)
        done = jnp.minimum(jnp.asarray(count, jnp.float32), total) / total
        return schedule.learning_rate * 0.5 * (1.0 + jnp.cos(jnp.pi * done))
    return optax.chain(optax.add_decayed_weights(schedule.weight_decay),
                       optax.sgd(lr, momentum=schedule.momentum, nesterov=True))


def _epoch_fn(graphdef, tx, batch_size: int, n: int, ops=None):
    """One jitted epoch ``(params, rest, opt_state, key, x, y) -> (..., mean loss, accuracy)``."""
    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx

    from .models import nb201
    steps = n // batch_size

    def loss_fn(params, rest, xb, yb):
        net = nb201.merge(graphdef, params, rest)
        net.train()
        logits = net(xb) if ops is None else net(xb, ops)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()
        return loss, (nnx.state(net, nnx.BatchStat), jnp.mean(jnp.argmax(logits, -1) == yb))

    def epoch(params, rest, opt_state, key, x, y):
        order = jax.random.permutation(key, n)[:steps * batch_size].reshape(steps, batch_size)

        def step(carry, idx):
            params, rest, opt_state = carry
            (loss, (stats, acc)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, rest, x[idx], y[idx])
            updates, opt_state = tx.update(grads, opt_state, params)
            rest = nnx.merge_state(rest, stats)
            return (optax.apply_updates(params, updates), rest, opt_state), (loss, acc)
        (params, rest, opt_state), (loss, acc) = jax.lax.scan(step, (params, rest, opt_state), order)
        return params, rest, opt_state, jnp.mean(loss), jnp.mean(acc)
    return epoch


def _evaluate_fn(graphdef, batch_size: int, ops=None):
    import jax
    import jax.numpy as jnp

    from .models import nb201

    def evaluate(params, rest, x, y):
        def logits(b):
            net = nb201.merge(graphdef, params, rest)
            net.eval()
            return net(b) if ops is None else net(b, ops)
        n = len(x) - len(x) % batch_size
        full = jax.lax.map(logits, x[:n].reshape((-1, batch_size) + x.shape[1:])).reshape(n, -1)
        return jnp.mean(jnp.argmax(jnp.concatenate([full, logits(x[n:])]), -1) == y)
    return evaluate


def train(ops, train_data, test_data=None, *, epochs: int = 200, batch_size: int = 256,
          learning_rate: float = 0.1, momentum: float = 0.9, weight_decay: float = 5e-4, channels: int = 16,
          cells: int = 5, classes: int | None = None, seed: int = 0, out=None, progress: bool = False) -> Run:
    """Train the network of ``ops`` (6 ops or an NB201 arch string) on ``train_data = (x, y)``.

    Metrics per epoch (train loss and accuracy, test accuracy when ``test_data`` is given, seconds)
    go to ``Run.history``; with ``out``, the final weights go to an orbax checkpoint ``out/checkpoint``
    and the metrics and settings to ``out/metrics.json`` (:func:`load` restores the network).
    ``classes`` defaults to the largest label + 1. The last partial minibatch of an epoch is dropped.
    """
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from .models import nb201
    for name, v in (("epochs", epochs), ("batch_size", batch_size), ("seed", seed)):
        check_int(name, v, lo=0 if name == "seed" else 1)
    x, y = _data(train_data, 1 << 30 if classes is None else check_int("classes", classes, lo=2), "training data")
    classes = int(y.max()) + 1 if classes is None else classes
    test = _data(test_data, classes, "test data")
    if len(x) < batch_size:
        raise DataError(f"training data has {len(x)} images, fewer than one batch of {batch_size}")
    if not (learning_rate > 0 and 0 <= momentum < 1 and weight_decay >= 0):
        raise ConfigError(f"need learning_rate > 0, 0 <= momentum < 1, weight_decay >= 0; got {learning_rate}, "
                          f"{momentum}, {weight_decay}")
    schedule = Schedule(epochs, batch_size, learning_rate, momentum, weight_decay)
    size = dict(channels=channels, cells=cells, classes=classes, in_channels=x.shape[-1])
    net = nb201.Network(ops, **size, rngs=nnx.Rngs(seed))
    graphdef, params, rest = nnx.split(net, nnx.Param, ...)
    tx = _optimizer(schedule, epochs * (len(x) // batch_size))
    opt_state = tx.init(params)
    epoch = jax.jit(_epoch_fn(graphdef, tx, batch_size, len(x)))
    evaluate = jax.jit(_evaluate_fn(graphdef, batch_size))
    xd, yd = jnp.asarray(x), jnp.asarray(y)
    history = []
    key = jax.random.key(seed)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    with Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[metrics]}"),
                  TimeRemainingColumn(), transient=True, disable=not progress) as bar:
        task = bar.add_task("train", total=epochs, metrics="")
        for e in range(epochs):
            t0 = time.perf_counter()
            params, rest, opt_state, loss, acc = epoch(params, rest, opt_state, jax.random.fold_in(key, e), xd, yd)
            row = dict(epoch=e + 1, train_loss=float(loss), train_accuracy=100 * float(acc))
            if not np.isfinite(row["train_loss"]):
                raise ConfigError(f"training diverged at epoch {e + 1} (loss {row['train_loss']}); lower the "
                                  f"learning rate (now {learning_rate})")
            if test is not None:
                row["test_accuracy"] = 100 * float(evaluate(params, rest, jnp.asarray(test[0]), jnp.asarray(test[1])))
            row["seconds"] = time.perf_counter() - t0
            history.append(row)
            bar.update(task, advance=1, metrics=" ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "epoch"))
    net = nnx.merge(graphdef, params, rest)
    net.eval()
    checkpoint = None
    if out is not None:
        checkpoint = _save(Path(out), net, dict(ops=list(net.ops), size=size, schedule=schedule._asdict(), seed=seed,
                                                history=history))
    return Run(net, history, checkpoint)


def _save(out: Path, net, meta: dict) -> Path:
    import orbax.checkpoint as ocp
    from flax import nnx

    from .diffusionnag.train import _quiet_orbax
    _quiet_orbax()
    out.mkdir(parents=True, exist_ok=True)
    path = (out / "checkpoint").resolve()
    if path.exists():
        raise CheckpointError(f"{path} exists: pass an empty or new --out folder (nothing is overwritten)")
    with ocp.StandardCheckpointer() as ckpt:
        ckpt.save(path, nnx.state(net))
    (out / "metrics.json").write_text(json.dumps(meta, indent=1))
    return path


def load(out):
    """The trained :class:`~jaxnag.models.nb201.Network` saved by :func:`train` in ``out`` (eval mode)."""
    import orbax.checkpoint as ocp
    from flax import nnx

    from .diffusionnag.train import _quiet_orbax
    from .models import nb201
    out = Path(out)
    try:
        meta = json.loads((out / "metrics.json").read_text())
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{out} holds no readable metrics.json of a jaxnag training ({e})") from None
    _quiet_orbax()
    abstract = nnx.eval_shape(lambda: nb201.Network(meta["ops"], **meta["size"], rngs=nnx.Rngs(0)))
    graphdef, state = nnx.split(abstract)
    try:
        with ocp.StandardCheckpointer() as ckpt:
            state = ckpt.restore((out / "checkpoint").resolve(), state)
    except Exception as e:  # orbax raises many types for damaged files
        raise CheckpointError(f"the checkpoint in {out} is missing or corrupt ({type(e).__name__}: "
                              f"{str(e)[:160]})") from None
    net = nnx.merge(graphdef, state)
    net.eval()
    return net


def population(key, ops, train_data, val_data, *, epochs: int = 1, batch_size: int = 64,
               learning_rate: float = 0.1, momentum: float = 0.9, weight_decay: float = 5e-4, channels: int = 16,
               cells: int = 5, classes: int = 10, mode: str = "auto"):
    """Held-out accuracy (%) of each architecture ``ops [n, 6]`` after ``epochs`` of training on
    ``train_data``, all in one jittable program: ``n`` independently initialised
    :class:`~jaxnag.models.nb201.MixedNetwork` s trained side by side (``lax.map`` on CPU, ``vmap``
    elsewhere, as :func:`~jaxnag.models.nb201.apply_population`). Data must be checked host arrays."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from .models import nb201
    if mode not in ("auto", "vmap", "map"):
        raise ConfigError(f"mode must be 'auto', 'vmap' or 'map', got {mode!r}")
    if mode == "auto":
        mode = "map" if jax.default_backend() == "cpu" else "vmap"
    x, y = jnp.asarray(train_data[0]), jnp.asarray(train_data[1])
    xv, yv = jnp.asarray(val_data[0]), jnp.asarray(val_data[1])
    ops = jnp.asarray(ops, jnp.int32)
    size = dict(channels=channels, cells=cells, classes=classes, in_channels=x.shape[-1])
    steps = epochs * (len(x) // batch_size)
    tx = _optimizer(Schedule(epochs, batch_size, learning_rate, momentum, weight_decay), steps)

    def one(cell):
        k = key  # the same initial weights for every member: a fixed function of the cell
        net = nb201.MixedNetwork(**size, rngs=nnx.Rngs(k))
        g, params, rest = nnx.split(net, nnx.Param, ...)
        epoch = _epoch_fn(g, tx, batch_size, len(x), ops=cell)
        opt_state = tx.init(params)
        for e in range(epochs):
            params, rest, opt_state, _, _ = epoch(params, rest, opt_state, jax.random.fold_in(k, e), x, y)
        return 100.0 * _evaluate_fn(g, batch_size, ops=cell)(params, rest, xv, yv)
    return jax.vmap(one)(ops) if mode == "vmap" else jax.lax.map(one, ops)


def fitness(space, train_data, val_data, *, key: int = 0, **kwargs):
    """A low-fidelity fitness for any generator: ``ops [..., 6] ->`` held-out accuracy (%) after a short
    training (:func:`population`; ``kwargs`` as there). Every call trains from the same initial key,
    so an architecture's value is a fixed function of the cell."""
    import jax
    import jax.numpy as jnp
    if space.name != "nb201":
        raise ConfigError(f"training builds NB201 networks, not {space.name}")
    classes = kwargs.get("classes", 10)
    tr, va = _data(train_data, classes, "training data"), _data(val_data, classes, "validation data")
    check_int("key", key, lo=0)

    def fit(ops):
        ops = jnp.asarray(ops)
        flat = ops.reshape(-1, ops.shape[-1])
        return population(jax.random.key(key), flat, tr, va, **kwargs).reshape(ops.shape[:-1])
    return fit
