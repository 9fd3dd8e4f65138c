"""Train a generated NB201 architecture on the user's images with optax: the final model, or a short
schedule as a low-fidelity fitness.

:func:`train` trains one architecture's :class:`~jaxnag.models.nb201.Network` (NAS-Bench-201's recipe
by default: SGD with Nesterov momentum 0.9, weight decay 5e-4, cosine learning rate from 0.1,
cross-entropy) on shuffled minibatches, run as compiled chunks of steps (about half a second each), with
metrics per epoch, a rich progress bar that moves per chunk, and an orbax checkpoint of the final weights.

It is careful with the user's files and time: ``out`` must be a new or empty folder, checked before
anything is loaded or compiled; the checkpoint and ``metrics.json`` are written in a hidden staging
folder and renamed into place, so Ctrl-C or a full disk never leaves half of them; Ctrl-C is read
between chunks (:class:`~jaxnag.interrupts.StopFlag`) and saves the weights so far, with
``metrics.json`` saying at which epoch and step it stopped (:class:`TrainingInterrupted`); a cell whose
input does not reach its output is refused. :func:`population` trains several
architectures for a few epochs in one compiled program (a :class:`~jaxnag.models.nb201.MixedNetwork`
per member) and returns their held-out accuracies; :func:`fitness` wraps it as a fitness any
generator accepts.

Examples:
  >>> import numpy as np
  >>> from jaxnag import train
  >>> rng = np.random.default_rng(0)
  >>> x, y = rng.normal(size=(64, 8, 8, 3)).astype(np.float32), rng.integers(0, 4, 64)
  >>> run = train.train([3, 1, 3, 0, 2, 4], (x, y), epochs=2, batch_size=16, channels=4, cells=1, classes=4)
  >>> len(run.history), sorted(run.history[-1])
  (2, ['epoch', 'seconds', 'train_accuracy', 'train_loss'])
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import outputs
from .errors import (CheckpointError, ConfigError, DataError, Interrupted, InvalidArchitecture, JaxnagError,
                     UnknownName, check_int, check_range)
from .interrupts import StopFlag

__all__ = ["NETWORKS", "OPTIMIZERS", "RECIPES", "Run", "Schedule", "TrainingInterrupted", "check_cell", "fitness",
           "load", "population", "recipe", "train"]

CHUNK_SECONDS = 0.5  # a compiled chunk of training steps lasts about this long: Ctrl-C and the bar wait no longer
ESTIMATE_AFTER = 60.0  # a run estimated longer than this (seconds) says so first (``verbose``)


class Schedule(NamedTuple):
    """Optimisation hyperparameters and augmentations: by default NAS-Bench-201's optimiser without augmentation
    (what :func:`train` ran before recipes); :data:`RECIPES` holds each benchmark's own.

    Attributes:
      epochs, batch_size, learning_rate: the run's length, minibatch and initial learning rate (cosine decay to 0
        by step).
      momentum, weight_decay: the optimiser's momentum and coupled L2 weight decay (added to the gradient).
      optimizer: ``"sgd"`` (momentum, Nesterov's unless ``nesterov=False``) or ``"rmsprop"`` (TensorFlow 1's, as
        NAS-Bench-101 trained: decay 0.9, epsilon 1 inside the root, mean squares starting at 1).
      nesterov: SGD's Nesterov momentum.
      grad_clip: the gradients' global norm is clipped to this before the optimiser (0: no clipping).
      crop, flip, cutout: augmentations of each minibatch (:func:`jaxnag.augment.apply`): random crop after this
        much zero padding, left-right flips, a zeroed square of this side (0 / False: off).
      auxiliary: weight of the auxiliary head's loss (DARTS networks; 0: no head).
      drop_path: DARTS's drop-path probability, reached linearly over the epochs (``drop_path * epoch /
        epochs``, from 0 in the first); 0: none.

    Examples:
      >>> from jaxnag import train
      >>> s = train.Schedule(epochs=12)  # the rest NB201's optimiser, no augmentation
      >>> s.epochs, s.batch_size, s.learning_rate, s.momentum, s.weight_decay, s.crop, s.optimizer
      (12, 256, 0.1, 0.9, 0.0005, 0, 'sgd')
      >>> train.RECIPES["darts"].cutout, train.RECIPES["nb101"].optimizer
      (16, 'rmsprop')
    """
    epochs: int = 200
    batch_size: int = 256
    learning_rate: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    optimizer: str = "sgd"
    nesterov: bool = True
    grad_clip: float = 0.0
    crop: int = 0
    flip: bool = False
    cutout: int = 0
    auxiliary: float = 0.0
    drop_path: float = 0.0

    @property
    def darts_only(self) -> bool:
        """Whether it needs a DARTS network (an auxiliary head or drop-path).

        Examples:
          >>> from jaxnag import train
          >>> train.RECIPES["darts"].darts_only, train.RECIPES["nb101"].darts_only
          (True, False)
        """
        return self.auxiliary > 0 or self.drop_path > 0


OPTIMIZERS = ("sgd", "rmsprop")

# each benchmark's published training recipe (CIFAR-10, 32x32 images):
# - nb201: Dong and Yang 2020, NAS-Bench-201's appendix (SGD Nesterov, cosine, crop 4 + flip);
# - nb101: Ying et al. 2019, google-research/nasbench lib/config.py and model_builder.py (RMSProp as TensorFlow 1
#   builds it, learning rate 0.1 x 2 TPU shards, cosine by step, L2 1e-4; lib/cifar.py: crop 4 + flip);
# - darts: Liu et al. 2019, the evaluation of a found cell (train.py of quark0/darts: SGD 0.025, cosine, weight decay
#   3e-4, gradient norm 5, cutout 16, drop-path 0.2, auxiliary weight 0.4, batch 96, 600 epochs; its cosine steps
#   once per epoch, ours per step).
RECIPES = {
    "nb201": Schedule(200, 256, 0.1, 0.9, 5e-4, crop=4, flip=True),
    "nb101": Schedule(108, 256, 0.2, 0.9, 1e-4, optimizer="rmsprop", crop=4, flip=True),
    "darts": Schedule(600, 96, 0.025, 0.9, 3e-4, nesterov=False, grad_clip=5.0, crop=4, flip=True, cutout=16,
                      auxiliary=0.4, drop_path=0.2),
}


def recipe(name_or_schedule=None, **overrides) -> Schedule:
    """The :class:`Schedule` called ``name_or_schedule`` in :data:`RECIPES` (or that schedule itself; None: the
    default :class:`Schedule`), with the fields in ``overrides`` that are not None replaced, checked.

    Examples:
      >>> from jaxnag import errors, train
      >>> s = train.recipe("darts", epochs=5, learning_rate=None)  # None: the recipe's own
      >>> s.epochs, s.learning_rate, s.drop_path
      (5, 0.025, 0.2)
      >>> try:
      ...     train.recipe("imagenet")
      ... except errors.UnknownName as e:
      ...     print(e)
      unknown recipe 'imagenet'; the recipes: nb201, nb101, darts
    """
    if name_or_schedule is None:
        base = Schedule()
    elif isinstance(name_or_schedule, Schedule):
        base = name_or_schedule
    elif name_or_schedule in RECIPES:
        base = RECIPES[name_or_schedule]
    else:
        raise UnknownName(f"unknown recipe {name_or_schedule!r}; the recipes: {', '.join(RECIPES)}")
    unknown = set(overrides) - set(Schedule._fields)
    if unknown:
        raise ConfigError(f"a schedule has no field {sorted(unknown)[0]!r}; its fields: {', '.join(Schedule._fields)}")
    s = base._replace(**{k: v for k, v in overrides.items() if v is not None})
    for name in ("epochs", "batch_size"):
        check_int(name, getattr(s, name), lo=1)
    for name in ("crop", "cutout"):
        check_int(name, getattr(s, name), lo=0)
    check_range("learning_rate", s.learning_rate, lo=0.0, lo_open=True)
    check_range("momentum", s.momentum, lo=0.0, hi=1.0, hi_open=True)
    for name in ("weight_decay", "grad_clip", "auxiliary"):
        check_range(name, getattr(s, name), lo=0.0)
    check_range("drop_path", s.drop_path, lo=0.0, hi=1.0, hi_open=True)
    if s.optimizer not in OPTIMIZERS:
        raise UnknownName(f"unknown optimizer {s.optimizer!r}; the optimizers: {', '.join(OPTIMIZERS)}")
    return s


_recipe = recipe  # train's keyword shares its name


class Run(NamedTuple):
    """A finished training: the trained network, metrics per epoch, and the checkpoint folder (or None).

    Examples:
      >>> from jaxnag import train
      >>> run = train.Run(network=None, history=[{"epoch": 1, "train_loss": 1.3}], checkpoint=None)  # as train gives
      >>> run._fields, run.history[-1]["epoch"], run.checkpoint is None
      (('network', 'history', 'checkpoint'), 1, True)
    """
    network: object
    history: list
    checkpoint: Path | None


class TrainingInterrupted(Interrupted):
    """Ctrl-C stopped :func:`train` between two chunks of steps; :attr:`run` holds the network so far (its
    ``history`` the finished epochs) and, with ``out``, the checkpoint saved of it.

    Examples:
      >>> from jaxnag import errors, train
      >>> try:
      ...     raise train.TrainingInterrupted("jaxnag: interrupted at epoch 2", train.Run(None, [{"epoch": 1}], None))
      ... except errors.Interrupted as e:  # the CLI prints it and exits with 130
      ...     print(e, "|", len(e.run.history), e.run.checkpoint)
      jaxnag: interrupted at epoch 2 | 1 None
    """

    def __init__(self, message: str, run: Run | None = None):
        super().__init__(message)
        self.run = run


# the spaces whose concrete networks train here: model module, default (channels, cells), the model's name for cells
NETWORKS = {"nb201": ("nb201", (16, 5), "cells"), "nb101": ("nb101", (128, 3), "cells"),
            "darts": ("darts", (36, 20), "layers")}


def _model(space: str):
    import importlib
    name = getattr(space, "name", space)
    if name not in NETWORKS:
        raise ConfigError(f"jaxnag trains networks of {', '.join(NETWORKS)}, not {name}")
    return importlib.import_module(f".models.{NETWORKS[name][0]}", __package__), NETWORKS[name]


def check_cell(ops, name: str = "ops", space: str = "nb201"):
    """One architecture of ``space`` (ints or an arch string) as an int32 array. For NB201 (6 ops) it refuses
    (with :class:`~jaxnag.errors.InvalidArchitecture`) a cell whose input does not reach its output: every path
    has a ``none`` edge, so the network's output would not depend on the image; NB101 and DARTS encodings are
    checked by their space (every valid one is a network).

    Examples:
      >>> from jaxnag import errors, train
      >>> train.check_cell("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|nor_conv_1x1~1|avg_pool_3x3~2|")
      array([3, 1, 3, 0, 2, 4], dtype=int32)
      >>> try:
      ...     train.check_cell([3, 3, 3, 0, 0, 0])  # no edge into node 3 but 'none' ones
      ... except errors.InvalidArchitecture as e:
      ...     print(str(e).split(" (")[0].split("|none~2| ")[1])
      does not connect the cell's input to its output
    """
    import jax

    from . import spaces
    from .models.layers import cell_ops
    if getattr(space, "name", space) != "nb201":
        _model(space)
        sp = spaces.get(space)
        arr = sp.from_string(ops) if isinstance(ops, str) else sp.check(ops)
        if arr.shape != (sp.num_slots,):
            raise InvalidArchitecture(f"{name}: one {sp.name} architecture of {sp.num_slots} ints, got shape {arr.shape}")
        return arr
    space = spaces.get("nb201")
    cell = np.asarray(cell_ops(ops, "nb201", "NB201", space.choices[0]), np.int32)
    with jax.ensure_compile_time_eval():
        connected = bool(space.connected(cell))
    if not connected:
        raise InvalidArchitecture(f"{name}: {space.to_string(cell)} does not connect the cell's input to its output "
                                  "(every path has a 'none' edge), so the network would ignore the image; pick a "
                                  "cell with a path of other ops from node 0 to node 3")
    return cell


def _data(d, classes: int | None, name: str, who: str = "classes"):
    """Checked ``(x, y)``; labels must lie below ``classes`` (``who`` says where that number came from)."""
    from .data import check
    if d is None:
        return None
    if not (isinstance(d, (tuple, list)) and len(d) == 2):
        raise DataError(f"{name} must be a pair (images x [n, H, W, C], labels y [n]), got {type(d).__name__}")
    x, y = check(*d, name=name)
    if classes is not None and len(y) and y.max() >= classes:
        raise DataError(f"{name}: labels must lie in 0..{classes - 1} for {classes} classes ({who}), got max "
                        f"{int(y.max())}")
    return x, y


def _optimizer(schedule: Schedule, steps: int):
    import jax.numpy as jnp
    import optax
    total = float(max(steps, 1))

    def lr(count):  # cosine decay to 0 (optax's own schedule mixes int and float: not strict-dtype safe)
        done = jnp.minimum(jnp.asarray(count, jnp.float32), total) / total
        return schedule.learning_rate * 0.5 * (1.0 + jnp.cos(jnp.pi * done))
    if schedule.optimizer == "rmsprop":  # TensorFlow 1's RMSPropOptimizer (NAS-Bench-101)
        opt = optax.rmsprop(lr, decay=0.9, eps=1.0, initial_scale=1.0, eps_in_sqrt=True, momentum=schedule.momentum)
    else:
        opt = optax.sgd(lr, momentum=schedule.momentum, nesterov=schedule.nesterov)
    clip = [optax.clip_by_global_norm(schedule.grad_clip)] if schedule.grad_clip > 0 else []
    return optax.chain(*clip, optax.add_decayed_weights(schedule.weight_decay), opt)


def _step_fn(graphdef, tx, ops=None, schedule: Schedule | None = None):
    """One optimiser step ``((params, rest, opt_state), idx, x, y, key, epoch) -> (new carry, (loss, accuracy))``
    on the minibatch ``x[idx]``, augmented (``key``) and with drop-path (at ``epoch``) as ``schedule`` says."""
    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx

    from . import augment
    from .models import nb201
    s = Schedule() if schedule is None else schedule
    ce = lambda logits, yb: optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()  # noqa: E731

    def loss_fn(params, rest, xb, yb, key, epoch):
        net = nb201.merge(graphdef, params, rest)
        net.train()
        if s.darts_only:  # a DARTS network (train checks it)
            drop = (key, s.drop_path * epoch / s.epochs) if s.drop_path > 0 else None
            logits, aux = net.train_logits(xb, drop)
            loss = ce(logits, yb) + (s.auxiliary * ce(aux, yb) if aux is not None else 0.0)
        else:
            logits = net(xb) if ops is None else net(xb, ops)
            loss = ce(logits, yb)
        return loss, (nnx.state(net, nnx.BatchStat), jnp.mean(jnp.argmax(logits, -1) == yb))

    def step(carry, idx, x, y, key=None, epoch=0):
        params, rest, opt_state = carry
        xb = x[idx]
        if key is not None:
            k_aug, key = jax.random.split(key)
            xb = augment.apply(k_aug, xb, crop=s.crop, flip=s.flip, cutout=s.cutout)
        epoch = jnp.asarray(epoch, jnp.float32)
        (loss, (stats, acc)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, rest, xb, y[idx], key, epoch)
        updates, opt_state = tx.update(grads, opt_state, params)
        rest = nnx.merge_state(rest, stats)
        return (optax.apply_updates(params, updates), rest, opt_state), (loss, acc)
    return step


def _order_fn(n: int, batch_size: int):
    """The minibatches of one epoch: ``key -> int32 [steps, batch_size]`` (a permutation, remainder dropped)."""
    import jax
    steps = n // batch_size
    return lambda key: jax.random.permutation(key, n)[:steps * batch_size].reshape(steps, batch_size)


def _epoch_fn(graphdef, tx, batch_size: int, n: int, ops=None):
    """One jitted epoch ``(params, rest, opt_state, key, x, y) -> (..., mean loss, accuracy)``."""
    import jax
    import jax.numpy as jnp
    step, order_of = _step_fn(graphdef, tx, ops), _order_fn(n, batch_size)

    def epoch(params, rest, opt_state, key, x, y):
        (params, rest, opt_state), (loss, acc) = jax.lax.scan(lambda c, idx: step(c, idx, x, y),
                                                              (params, rest, opt_state), order_of(key))
        return params, rest, opt_state, jnp.mean(loss), jnp.mean(acc)
    return epoch


def _chunk_fn(graphdef, tx, schedule: Schedule | None = None):
    """Steps ``start..stop-1`` of an epoch (dynamic bounds: one compiled program for every chunk length):
    ``(params, rest, opt_state, losses, accs, x, y, order, start, stop, key, epoch) -> (params, rest, opt_state,
    losses, accs)``, each step's loss and accuracy written at its index, step ``i`` augmented from
    ``fold_in(key, i)``. The same steps in the same order as :func:`_epoch_fn`'s scan."""
    import jax
    step = _step_fn(graphdef, tx, schedule=schedule)

    def chunk(params, rest, opt_state, losses, accs, x, y, order, start, stop, key, epoch):
        def body(i, c):
            params, rest, opt_state, losses, accs = c
            (params, rest, opt_state), (loss, acc) = step((params, rest, opt_state), order[i], x, y,
                                                          jax.random.fold_in(key, i), epoch)
            return params, rest, opt_state, losses.at[i].set(loss), accs.at[i].set(acc)
        return jax.lax.fori_loop(start, stop, body, (params, rest, opt_state, losses, accs))
    return chunk


def _summary(losses, accs):
    import jax.numpy as jnp
    return jnp.mean(losses), jnp.mean(accs)


def _compile(jobs, stop: StopFlag):
    """AOT-compile each ``(fn, example args)`` in a worker thread, reading Ctrl-C while waiting (the main
    thread would otherwise not see it until XLA returns, minutes for a large network)."""
    import jax
    box: dict = {}

    def work():
        try:
            box["out"] = [jax.jit(fn).lower(*args).compile() for fn, args in jobs]
        except BaseException as e:  # handed to the main thread
            box["error"] = e
    worker = threading.Thread(target=work, name="jaxnag-train-compile", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.05)
        stop.check()
    if "error" in box:
        raise box["error"]
    return box["out"]


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


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
        if n == 0:  # fewer test images than one batch
            return jnp.mean(jnp.argmax(logits(x), -1) == y)
        full = jax.lax.map(logits, x[:n].reshape((-1, batch_size) + x.shape[1:])).reshape(n, -1)
        if n == len(x):
            return jnp.mean(jnp.argmax(full, -1) == y)
        return jnp.mean(jnp.argmax(jnp.concatenate([full, logits(x[n:])]), -1) == y)
    return evaluate


def train(ops, train_data, test_data=None, *, epochs: int | None = None, batch_size: int | None = None,
          learning_rate: float | None = None, momentum: float | None = None, weight_decay: float | None = None,
          channels: int | None = None, cells: int | None = None, classes: int | None = None, seed: int = 0, out=None,
          progress: bool = False, verbose: bool = False, space: str = "nb201", recipe: str | Schedule | None = None
          ) -> Run:
    """Train the network of ``ops`` (an encoding or arch string of ``space``: ``nb201``, ``nb101`` or ``darts``) on
    ``train_data = (x, y)``.

    ``channels`` and ``cells`` size the network, each model's own (default the benchmark's): NB201 ``C`` and cells
    per stage (16, 5), NB101 stem channels and cells per stack (128, 3), DARTS ``C`` and cells in all (36, 20).

    ``recipe`` picks the optimiser, schedule and augmentations: a name of :data:`RECIPES` (``"nb201"``, ``"nb101"``,
    ``"darts"``: each benchmark's published recipe; DARTS's adds the auxiliary head, which needs 32x32 images, and
    drop-path) or a :class:`Schedule`; None (the default) is :class:`Schedule`'s defaults, NAS-Bench-201's
    optimiser without augmentation. ``epochs``, ``batch_size``, ``learning_rate``, ``momentum`` and
    ``weight_decay`` replace the recipe's where given.

    Metrics per epoch (train loss and accuracy, test accuracy when ``test_data`` is given, seconds)
    go to ``Run.history``; with ``out`` (a new or empty folder, checked first), the final weights go to
    an orbax checkpoint ``out/checkpoint`` and the metrics and settings to ``out/metrics.json``
    (:func:`load` restores the network). ``classes`` defaults to the largest label + 1. The last partial
    minibatch of an epoch is dropped. ``progress`` shows a bar on stderr; ``verbose`` prints one line
    estimating the time first when the run will take over a minute.

    Raises:
      InvalidArchitecture, ConfigError, DataError, OutputError: bad arguments, all before any compilation.
      TrainingInterrupted: Ctrl-C, after saving the weights so far (with ``out``; ``metrics.json`` then
        has ``interrupted: {epoch, step, steps}``).

    Examples:
      A run is in the module docstring; here what is refused before anything is compiled:

      >>> import pathlib, tempfile, numpy as np
      >>> from jaxnag import errors, train
      >>> x, y = np.random.default_rng(0).normal(size=(8, 8, 8, 3)), np.arange(8) % 4
      >>> try:
      ...     train.train([3, 1, 3, 0, 2, 4], (x, y), batch_size=16)
      ... except errors.DataError as e:
      ...     print(e)
      training data has 8 images, fewer than one batch of 16
      >>> with tempfile.TemporaryDirectory() as d:
      ...     _ = (pathlib.Path(d) / "metrics.json").write_text("{}")  # a folder holding an earlier run
      ...     try:
      ...         train.train([3, 1, 3, 0, 2, 4], (x, y), batch_size=4, out=d)
      ...     except errors.CheckpointError as e:
      ...         print(str(e).split(": ", 1)[1])
      a checkpoint exists there; nothing is overwritten (name a new or empty folder)
    """
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from .data import MAX_CLASSES
    model, (_, (c0, n0), cells_key) = _model(space)
    space = getattr(space, "name", space)
    channels, cells = c0 if channels is None else channels, n0 if cells is None else cells
    cell = check_cell(ops, space=space)
    schedule = _recipe(recipe, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, momentum=momentum,
                       weight_decay=weight_decay)
    epochs, batch_size, learning_rate = schedule.epochs, schedule.batch_size, schedule.learning_rate
    if schedule.darts_only and space != "darts":
        raise ConfigError(f"the auxiliary head and drop-path are DARTS networks' ({space} has neither): set "
                          "auxiliary and drop_path to 0 in the schedule")
    for name, v in (("channels", channels), ("cells", cells)):
        check_int(name, v, lo=1)
    check_int("seed", seed, lo=0, hi=2**32 - 1)
    if classes is not None:
        check_int("classes", classes, lo=2, hi=MAX_CLASSES)
    if out is not None:
        out = Path(out)
        if out.is_dir() and any((out / f).exists() for f in ("checkpoint", "metrics.json")):
            raise CheckpointError(f"out {out}: a checkpoint exists there; nothing is overwritten (name a new or "
                                  "empty folder)")
        outputs.check_folder(out, "out")
    x, y = _data(train_data, classes, "training data", "classes")
    if not len(x):
        raise DataError("training data has no images")
    who = "classes" if classes is not None else "the largest training label + 1; pass classes= to set it"
    classes = int(y.max()) + 1 if classes is None else classes
    if classes < 2:
        raise DataError(f"training data: every label is {int(y.max())}; a classifier needs at least 2 classes "
                        "(pass classes= if the data holds only some of them)")
    test = _data(test_data, classes, "test data", who)
    if test is not None and test[0].shape[1:] != x.shape[1:]:
        raise DataError(f"test data: images are {'x'.join(map(str, test[0].shape[1:]))} (height x width x channels), "
                        f"the training images {'x'.join(map(str, x.shape[1:]))}: both must have the same resolution "
                        "and channels")
    if test is not None and not len(test[0]):
        raise DataError("test data has no images")
    if len(x) < batch_size:
        raise DataError(f"training data has {len(x)} images, fewer than one batch of {batch_size}")
    if min(x.shape[1:3]) < 4:
        raise DataError(f"training data: images must be at least 4x4 pixels (the network halves them twice), got "
                        f"{x.shape[1]}x{x.shape[2]}")
    if schedule.auxiliary > 0 and x.shape[1:3] != (32, 32):
        raise DataError(f"training data: DARTS's auxiliary head reads the 8x8 maps of 32x32 images, got "
                        f"{x.shape[1]}x{x.shape[2]}: train without it (a Schedule with auxiliary=0)")
    size = {"channels": channels, cells_key: cells, "classes": classes, "in_channels": x.shape[-1],
            **({"auxiliary": True} if schedule.auxiliary > 0 else {})}
    net = model.Network(cell, **size, rngs=nnx.Rngs(seed))
    graphdef, params, rest = nnx.split(net, nnx.Param, ...)
    steps = len(x) // batch_size
    tx = _optimizer(schedule, epochs * steps)
    opt_state = tx.init(params)
    xd, yd = jnp.asarray(x), jnp.asarray(y)
    td = None if test is None else (jnp.asarray(test[0]), jnp.asarray(test[1]))
    key = jax.random.key(seed)
    k_aug = jax.random.fold_in(key, 1 << 30)  # augmentation and drop-path: apart from the epochs' orders
    i32 = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
    zeros = jnp.zeros(steps, jnp.float32)
    # (state, epoch, step): one variable, assigned once per chunk, so a Ctrl-C between two statements
    # never pairs weights with the wrong position
    now = ((params, rest, opt_state, zeros, zeros), 0, 0)
    meta = dict(space=space, ops=[int(o) for o in cell], size=size, schedule=schedule._asdict(), seed=seed)
    history: list = []

    def network(state):
        net = nnx.merge(graphdef, state[0], state[1])
        net.eval()
        return net

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    stop = StopFlag(None)  # Ctrl-C is read between chunks; a second one raises at once
    try:
        try:
            order0 = jnp.zeros((steps, batch_size), jnp.int32)
            jobs = [(_order_fn(len(x), batch_size), (key,)),
                    (_chunk_fn(graphdef, tx, schedule), (*now[0], xd, yd, order0, i32(0), i32(1), key,
                                                         jnp.float32(0))),
                    (_summary, (zeros, zeros))]
            if td is not None:
                jobs.append((_evaluate_fn(graphdef, batch_size), (params, rest, *td)))
            order_of, chunk, summary, *evaluate = _compile(jobs, stop)
            console = Console(stderr=True)
            with Progress(TextColumn("train epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[metrics]}"), TimeRemainingColumn(), console=console,
                          transient=True, disable=not progress) as bar:
                task = bar.add_task("train", total=epochs * steps, epoch=f"1/{epochs}", metrics="")
                per_step = None
                for e in range(epochs):
                    t0 = time.perf_counter()
                    bar.update(task, epoch=f"{e + 1}/{epochs}")
                    order = order_of(jax.random.fold_in(key, e))
                    s = 0
                    while s < steps:
                        stop.check()
                        n = 1 if per_step is None else int(max(1, min(steps - s, CHUNK_SECONDS / per_step)))
                        tc = time.perf_counter()
                        state = jax.block_until_ready(chunk(*now[0], xd, yd, order, i32(s), i32(s + n),
                                                            jax.random.fold_in(k_aug, e), jnp.float32(e)))
                        now = (state, e, s + n)
                        dt = (time.perf_counter() - tc) / n
                        if per_step is None and verbose:
                            total = dt * epochs * steps
                            if total > ESTIMATE_AFTER:
                                msg = (f"jaxnag: training will take about {_duration(total)} ({epochs} epochs x "
                                       f"{steps} steps at {dt:.2g} s per step{', plus testing' if td else ''})")
                                (bar.console.print(msg, markup=False, highlight=False) if progress
                                 else print(msg, file=sys.stderr, flush=True))
                        per_step = dt if per_step is None else 0.5 * per_step + 0.5 * dt
                        s += n
                        bar.update(task, advance=n)
                    loss, acc = summary(now[0][3], now[0][4])
                    row = dict(epoch=e + 1, train_loss=float(loss), train_accuracy=100 * float(acc))
                    if not np.isfinite(row["train_loss"]):
                        raise ConfigError(f"training diverged at epoch {e + 1} (loss {row['train_loss']}); lower the "
                                          f"learning rate (learning_rate={learning_rate})")
                    if td is not None:
                        row["test_accuracy"] = 100 * float(evaluate[0](now[0][0], now[0][1], *td))
                    row["seconds"] = time.perf_counter() - t0
                    history.append(row)
                    bar.update(task, metrics=" ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "epoch"))
        except KeyboardInterrupt:
            state, e, s = now
            if s == steps:  # the epoch's steps were done, its metrics not: report it as the next one's step 0
                e, s = e + 1, 0
            where = f"epoch {e + 1} step {s}/{steps}"
            if e == 0 and s == 0:
                raise TrainingInterrupted("jaxnag: interrupted before the first training step; nothing saved",
                                          Run(network(state), history, None)) from None
            run = Run(network(state), history, None)
            if out is None:
                raise TrainingInterrupted(f"jaxnag: interrupted at {where}; nothing saved (no out folder)",
                                          run) from None
            path = _save(out, nnx.state(run.network), dict(meta, history=history,
                                                           interrupted=dict(epoch=e + 1, step=s, steps=steps)))
            raise TrainingInterrupted(f"jaxnag: interrupted at {where} ({len(history)} epochs done); saved the "
                                      f"weights so far to {path} (metrics.json says where it stopped)",
                                      run._replace(checkpoint=path)) from None
        net = network(now[0])
        checkpoint = None if out is None else _save(out, nnx.state(net), dict(meta, history=history))
    finally:
        stop.restore()
    return Run(net, history, checkpoint)


def _quiet_failed_save() -> None:
    """When a save fails (a full disk), tensorstore's writes still in flight end with callbacks into
    orbax's closed event loop (``RuntimeError: Event loop is closed``, reported as unraisable) and orbax's
    unfinished tasks and futures are logged by asyncio as "... exception was never retrieved", and its
    unawaited write coroutines warned of at exit: dozens of tracebacks after jaxnag's one line. Drop exactly
    those (process-wide, idempotent; everything else passes)."""
    import logging
    if getattr(sys.unraisablehook, "_jaxnag", False):
        return
    previous = sys.unraisablehook

    def hook(unraisable):
        e = unraisable.exc_value
        if isinstance(e, RuntimeError) and str(e) == "Event loop is closed":
            return
        previous(unraisable)
    hook._jaxnag = True
    sys.unraisablehook = hook

    class _Filter(logging.Filter):
        def filter(self, record):
            text = record.getMessage()
            if "exception was never retrieved" not in text:
                return True
            text += " " + str(record.exc_info[1] if record.exc_info else "")
            return not any(w in text for w in ("orbax", "ocdbt", "OCDBT", "tensorstore", "RESOURCE_EXHAUSTED"))
    logging.getLogger("asyncio").addFilter(_Filter())
    import warnings  # and, at exit, orbax's write coroutines that the failed gather left unawaited
    warnings.filterwarnings("ignore", message=r"coroutine '.*serializ.*' was never awaited", category=RuntimeWarning)


def _check_space(folder: Path, final: Path, state, extra: int) -> None:
    """Refuse (one :class:`~jaxnag.outputs.OutputError` line) a save that cannot fit in ``folder``'s file
    system: the arrays' bytes plus orbax's metadata (about 1 KiB per array and 64 KiB more)."""
    import jax
    leaves = jax.tree.leaves(state)
    need = sum(int(getattr(leaf, "nbytes", 0)) for leaf in leaves) + 1024 * len(leaves) + 65536 + extra
    try:
        free = shutil.disk_usage(folder).free
    except OSError:  # cannot tell: the save itself will say
        return
    if free < need:
        raise outputs.OutputError(f"out {final}: cannot save the checkpoint (no space left on the device: it needs "
                                  f"about {need / 1024:,.0f} KiB, {free / 1024:,.0f} KiB are free)")


def _remove(folder: Path, limit: float = 5.0) -> None:
    """Remove ``folder``, again while it keeps coming back: after a failed orbax save, tensorstore's writes
    still in flight recreate their folders for a moment. Returns once it stayed away for 0.3 s (or after
    ``limit`` seconds)."""
    deadline, gone = time.monotonic() + limit, 0
    while gone < 3 and time.monotonic() < deadline:
        shutil.rmtree(folder, ignore_errors=True)
        time.sleep(0.1)
        gone = 0 if folder.exists() else gone + 1


def _save(out: Path, state, meta: dict) -> Path:
    """Write ``out/checkpoint`` (orbax) and ``out/metrics.json`` all or nothing: both are written in a
    hidden staging folder in ``out`` (orbax's own temporary folders included) and renamed into place;
    any failure or Ctrl-C removes the staging folder (and ``out`` itself when this call created it). A
    file system without room for it is refused before anything is written (:func:`_check_space`); any
    file-system failure is one :class:`~jaxnag.outputs.OutputError` line."""
    import orbax.checkpoint as ocp

    outputs.quiet_orbax()
    _quiet_failed_save()
    final, metrics = out / "checkpoint", out / "metrics.json"
    created = False
    stage = out / f".checkpoint.tmp{os.getpid()}"
    text = json.dumps(meta, indent=1)
    _check_space(out if out.exists() else out.parent, final, state, len(text))
    try:
        if not out.exists():
            out.mkdir()
            created = True
        for p in (final, metrics):
            if p.exists():
                raise CheckpointError(f"out {out}: {p.name} exists; nothing is overwritten (name a new or empty "
                                      "folder)")
        stage.mkdir()
        ckptr = ocp.Checkpointer(ocp.StandardCheckpointHandler())  # synchronous: no thread outlives the save
        try:
            ckptr.save((stage / "checkpoint").resolve(), args=ocp.args.StandardSave(state))
        finally:
            ckptr.close()
        with open(stage / "metrics.json", "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(stage / "checkpoint", final)
        try:
            os.replace(stage / "metrics.json", metrics)
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)  # never a checkpoint without its metrics.json
            raise
    except BaseException as e:
        _remove(stage)
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()
        if isinstance(e, (KeyboardInterrupt, JaxnagError)) or outputs.describe_os_error(e) is None:
            raise
        raise outputs.os_error(e, final, "out", "cannot save the checkpoint") from None
    shutil.rmtree(stage, ignore_errors=True)
    return final.resolve()


def load(out):
    """The trained network (:class:`~jaxnag.models.nb201.Network`, or NB101's / DARTS's) saved by :func:`train` in
    ``out`` (eval mode).

    Examples:
      A round trip needs a training run (:func:`train` with ``out``); here what is refused:

      >>> import json, pathlib, tempfile
      >>> from jaxnag import errors, train
      >>> with tempfile.TemporaryDirectory() as d:
      ...     for meta in (None, dict(space="tnb101_micro", ops=[3] * 6, size={})):
      ...         if meta is not None:
      ...             _ = (pathlib.Path(d) / "metrics.json").write_text(json.dumps(meta))
      ...         try:
      ...             train.load(d)
      ...         except errors.CheckpointError as e:
      ...             print(str(e).replace(d, "DIR").split(" (")[0])
      DIR holds no readable metrics.json of a jaxnag training
      DIR/metrics.json: jaxnag trains networks of nb201, nb101, darts, not tnb101_micro
    """
    import orbax.checkpoint as ocp
    from flax import nnx

    out = Path(out)
    try:
        meta = json.loads((out / "metrics.json").read_text())
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{out} holds no readable metrics.json of a jaxnag training ({e})") from None
    outputs.quiet_orbax()
    try:
        model, _ = _model(meta.get("space", "nb201"))  # a checkpoint from before graph spaces is NB201's
    except ConfigError as e:
        raise CheckpointError(f"{out}/metrics.json: {e}") from None
    abstract = nnx.eval_shape(lambda: model.Network(np.asarray(meta["ops"], np.int32), **meta["size"],
                                                    rngs=nnx.Rngs(0)))
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
    elsewhere, as :func:`~jaxnag.models.nb201.apply_population`). Data must be checked host arrays.

    Examples:
      Even tracing the training of one member takes seconds (:func:`fitness` runs it); ``mode`` is checked first:

      >>> import jax, numpy as np
      >>> from jaxnag import errors, train
      >>> x, y = np.zeros((8, 8, 8, 3), np.float32), np.arange(8, dtype=np.int32) % 4
      >>> try:
      ...     train.population(jax.random.key(0), np.zeros((2, 6), np.int32), (x, y), (x, y), mode="fast")
      ... except errors.ConfigError as e:
      ...     print(e)
      mode must be 'auto', 'vmap' or 'map', got 'fast'
    """
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

    def members(key, ops, x, y, xv, yv):
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
    if mode == "map":  # a loop under an outer vmap too (a generator's seeds): a batched cell runs every op (as in
        # jaxnag.proxies)
        members = jax.custom_batching.sequential_vmap(members)
    return members(key, ops, x, y, xv, yv)


def fitness(space, train_data, val_data, *, key: int = 0, **kwargs):
    """A low-fidelity fitness for any generator: ``ops [..., 6] ->`` held-out accuracy (%) after a short
    training (:func:`population`; ``kwargs`` as there). Every call trains from the same initial key,
    so an architecture's value is a fixed function of the cell.

    Examples:
      The space and the data are checked here, before anything is traced:

      >>> import numpy as np
      >>> from jaxnag import errors, spaces, train
      >>> x, y = np.zeros((8, 8, 8, 3), np.float32), np.arange(8) % 4
      >>> callable(train.fitness(spaces.get("nb201"), (x, y), (x, y), classes=4, batch_size=4, channels=4, cells=1))
      True
      >>> for space, classes in (("tnb101_micro", 4), ("nb201", 2)):
      ...     try:
      ...         train.fitness(spaces.get(space), (x, y), (x, y), classes=classes)
      ...     except errors.JaxnagError as e:
      ...         print(e)
      training builds NB201 networks, not tnb101_micro
      training data: labels must lie in 0..1 for 2 classes (classes), got max 3
    """
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
