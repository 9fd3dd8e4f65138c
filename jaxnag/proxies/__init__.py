"""Zero-cost proxies as fitness: score architectures without training and without a benchmark table.

Every proxy is larger-is-better and scores an architecture from its network at initialisation
(:mod:`jaxnag.models`: NB201 networks for ``nb201``, TransNAS-Bench-101 micro networks with a
classification head for ``tnb101_micro``, NASLib's NB301 network for ``darts``) and, for the data-dependent ones, one minibatch of the user's images:

- data-dependent: ``nwot``, ``jacov``, ``snip``, ``grad_norm``, ``fisher``, ``grasp``
  (definitions and citations in :mod:`jaxnag.proxies.measures`);
- data-free (only the batch's shape is read): ``synflow``, ``zen``, ``l2_norm``, and the exact
  counts ``params`` and ``flops`` (in millions; FLOPs are multiply-adds, as the NAS-Bench-201 API counts;
  the "#Params" and "FLOPs" baselines of Abdelfattah et al., ICLR 2021, and NASLib's zero-cost benchmark;
  the models' ``flops(..., convention="naslib")`` counts as NASLib's files do).

One compiled program scores a whole population: the networks share one mixed network
(:class:`~jaxnag.models.nb201.MixedNetwork`) initialised from ``key`` (the same weights for every
architecture, so a score is a deterministic function of the cell, as a fitness must be), and
``lax.map`` runs the members one at a time, so that each edge runs only its chosen op (``chunk`` > 1
vmaps that many together, which runs every op of every edge and selects), and a generator's vmap over seeds
loops over its populations rather than batching them, for the same reason.

One convention for every proxy, counts included: an architecture whose cell disconnects the input from
the output (:meth:`~jaxnag.spaces.SearchSpace.connected` is False, e.g. NB201's ``[3, 3, 3, 0, 0, 0]``)
is not a network, and scores ``-inf``, which generators treat as the worst; so does an invalid encoding (a
DARTS node without exactly two inputs). NaN stays what it means
everywhere in jaxnag: a measurement that failed.

:func:`fitness` gives a jittable fitness every generator accepts (zero table lookups); :func:`table`
scores a whole space once into a :class:`~jaxnag.tables.Table`; :func:`ensemble` averages several
proxies' percentiles among reference architectures (a rank ensemble that is still a fixed function
of the cell).

Examples:
  >>> import jax
  >>> from jaxnag import proxies, registry, spaces
  >>> space = spaces.get("nb201")
  >>> fit = proxies.fitness(space, "params", classes=100)
  >>> gen = registry.get("ednag")
  >>> res = jax.jit(lambda k: gen.generate(k, fit, space, gen.config(space, population=8, steps=5)))(
  ...     jax.random.key(0))
  >>> res.best_fitness > 0
  Array(True, dtype=bool)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from ..errors import ConfigError, DataError, UnknownName, check_int

__all__ = ["COUNTS", "DATA_FREE", "NAMES", "Batch", "batch", "ensemble", "fitness", "generate", "network", "population",
           "table"]

COUNTS = ("params", "flops")
NAMES = ("synflow", "nwot", "jacov", "snip", "grad_norm", "fisher", "grasp", "l2_norm", "zen") + COUNTS
DATA_FREE = ("synflow", "l2_norm", "zen") + COUNTS  # what they read of the batch: its shape


class Batch(NamedTuple):
    """One minibatch: images ``x`` float32 ``[B, H, W, C]`` and integer labels ``y`` int32 ``[B]``.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import proxies
      >>> b = proxies.Batch(np.zeros((2, 8, 8, 3), np.float32), np.array([0, 1], np.int32))  # or proxies.batch(x, y)
      >>> b._fields, b.x.shape, b.y.tolist()
      (('x', 'y'), (2, 8, 8, 3), [0, 1])
    """
    x: object
    y: object


def batch(x, y=None, *, classes: int | None = None, size: int | None = None) -> Batch:
    """A checked :class:`Batch` from host arrays (:func:`jaxnag.data.check`): ``x [n, H, W, C]`` finite
    pixels, ``y [n]`` integer labels in ``0..classes-1`` (zeros when None, for the data-free proxies);
    the first ``size`` images when ``size`` is given. Bad data raises :class:`~jaxnag.errors.DataError`.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import errors, proxies
      >>> x, y = np.zeros((4, 8, 8, 3)), np.array([0, 2, 1, 2])
      >>> b = proxies.batch(x, y, classes=3, size=2)
      >>> b.x.shape, b.x.dtype, b.y.tolist()
      ((2, 8, 8, 3), dtype('float32'), [0, 2])
      >>> try:
      ...     proxies.batch(x, y, classes=2)
      ... except errors.DataError as e:
      ...     print(e)
      batch: labels must lie in 0..1 for 2 classes, got max 2
    """
    from ..data import check
    x = np.asarray(x)
    x, y = check(x, np.zeros(len(x) if x.ndim else 0, np.int32) if y is None else y, name="batch")
    if min(x.shape[1:3]) < 4:
        raise DataError(f"batch: images must be at least 4x4 pixels (the network halves them twice), got "
                        f"{x.shape[1:3]}")
    if size is not None:
        check_int("batch size", size, lo=2)
        if len(x) < size:
            raise DataError(f"batch: {size} images asked for, the data has {len(x)}")
        x, y = x[:size], y[:size]
    if len(x) < 2:
        raise DataError(f"batch: at least 2 images are needed, got {len(x)}")
    if classes is not None and y.max() >= classes:
        raise DataError(f"batch: labels must lie in 0..{classes - 1} for {classes} classes, got max {int(y.max())}")
    return Batch(x, y)


def _check(space, name: str):
    """The model module of ``space`` (:func:`jaxnag.models.for_space`), after checking ``name``."""
    if name not in NAMES:
        raise UnknownName(f"unknown proxy {name!r}; available: {', '.join(NAMES)}")
    from .. import models
    try:
        return models.for_space(space)
    except ConfigError as e:
        raise ConfigError(f"proxy {name!r} needs the network of an architecture; {e}") from None


def _size(model, channels, cells, classes) -> dict:
    """The network size: the model's defaults (the benchmark's network) where None."""
    defaults = getattr(model, "MIXED_SIZE", model.SIZE)
    return dict(channels=defaults["channels"] if channels is None else channels,
                cells=defaults["cells"] if cells is None else cells,
                classes=defaults["classes"] if classes is None else classes)


def _count(model, name: str, ops, resolution: int, size: dict):
    """The exact count ``name`` of ``ops`` (numpy or jax), in millions; FLOPs are multiply-adds
    (``convention="macs"``, as the NAS-Bench-201 API counts)."""
    if hasattr(model, "MIXED_SIZE"):  # the mixed network's cells are the concrete one's layers
        size = {"channels": size["channels"], "layers": size["cells"], "classes": size["classes"], "affine": False}
    if name == "params":
        n = model.param_count(ops, **size)
        return (n.astype(np.float32) if hasattr(n, "astype") else n) / 1e6
    return model.flops(ops, resolution=resolution, **size) / 1e6


def population(name: str, key, ops, data: Batch, *, space="nb201", channels: int | None = None,
               cells: int | None = None, classes: int | None = None, chunk: int = 1):
    """The proxy ``name`` of each architecture ``ops [n, 6]`` of ``space`` (float32 ``[n]``), jittable:
    one mixed network initialised from ``key`` scores every member on ``data``, ``chunk`` members at a
    time (``lax.map``; more than 1 vmaps them, which runs every op of every edge: slower on CPU). Sizes default
    to the benchmark's.

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag import proxies
      >>> ops = np.array([[3, 3, 3, 3, 3, 3], [3, 3, 3, 0, 0, 0], [1, 1, 1, 1, 1, 1]])  # the second: disconnected
      >>> data = proxies.batch(np.zeros((2, 32, 32, 3)))  # the counts read only the images' size
      >>> v = jax.jit(lambda key: proxies.population("params", key, ops, data))(jax.random.key(0))
      >>> [round(float(x), 3) for x in v]  # millions of parameters; -inf: not a network
      [1.532, -inf, 0.073]
    """
    import jax.numpy as jnp
    from flax import nnx

    from .measures import MEASURES
    model = _check(space, name)
    size = _size(model, channels, cells, classes)
    ops = jnp.asarray(ops)
    if name in COUNTS:
        return _worst_if_disconnected(space, ops, _count(model, name, ops, data.x.shape[1], size))
    graphdef, state = nnx.split(model.MixedNetwork(**size, in_channels=data.x.shape[-1], rngs=nnx.Rngs(key)))
    return _worst_if_disconnected(space, ops, _scored(MEASURES[name], graphdef, state, ops, data, key, chunk))


def _worst_if_disconnected(space, ops, values):
    """``values`` with ``-inf`` where the cell of ``ops`` disconnects input from output (module doc)."""
    import jax.numpy as jnp

    from .. import spaces
    space = spaces.get(space) if isinstance(space, str) else space
    return jnp.where(space.connected(ops) & space.is_valid(ops), values, -jnp.inf)


def _scored(measure, graphdef, state, ops, data, key, chunk):
    import jax
    import jax.numpy as jnp
    if hasattr(measure, "prepare"):  # the same network for every cell (synflow's |weights|, zen's Gaussian
        # weights): built once, not once per member
        graphdef, state = measure.prepare(graphdef, state, key)
        measure = measure.run

    # A member's network runs only the chosen op of each edge (a switch) where its ops are not batched; a vmapped
    # cell runs every op of every edge (a select): twice the time of snip on NB201, 6.5x under a vmap over seeds
    # (docs/proxies_vmap.md). So members go one at a time: lax.map without batch_size (which vmaps even a batch
    # of one), and under an outer vmap (a generator's seeds) a loop, not a batch.
    @jax.custom_batching.sequential_vmap
    def score(state, ops, x, y, key):
        # the barrier stops XLA from constant-folding the network when weights and batch are constants
        state, x, y = jax.lax.optimization_barrier((state, x, y))
        run = lambda o: measure(graphdef, state, o, x, y, key)  # noqa: E731
        return jax.lax.map(run, ops) if chunk == 1 else jax.lax.map(run, ops, batch_size=chunk)
    return score(state, ops.astype(jnp.int32), jnp.asarray(data.x), jnp.asarray(data.y), key)


def _default_batch(name: str, data, classes: int, resolution: int, batch_size: int) -> Batch:
    if data is not None:
        return batch(*data, classes=classes) if not isinstance(data, Batch) else batch(data.x, data.y, classes=classes)
    if name not in DATA_FREE:
        raise ConfigError(f"proxy {name!r} reads data: pass batch=(x, y) (images [n, H, W, C], labels [n]); "
                          f"the data-free proxies are {', '.join(DATA_FREE)}")
    return Batch(np.zeros((batch_size, resolution, resolution, 3), np.float32), np.zeros(batch_size, np.int32))


def fitness(space, name: str, batch: Batch | tuple | None = None, *, key: int = 0, channels: int | None = None,
            cells: int | None = None, classes: int | None = None, resolution: int = 32, batch_size: int = 16,
            chunk: int = 1) -> Callable:
    """A jittable fitness ``ops [..., 6] -> float32 [...]``: the proxy ``name`` of each architecture's
    network (``channels``, ``cells`` per stage or module, ``classes``; None: the benchmark network's,
    NB201 16 / 5 / 10, TransNAS-Bench-101 micro 64 / 2 / 100) on ``batch`` = ``(x, y)``.

    The data-free proxies need no batch: they read images of ``resolution``^2 pixels, 3 channels,
    ``batch_size`` of them (synflow one all-ones image, zen Gaussian noise). ``key`` (an int)
    initialises the shared network once, here.

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag import proxies, spaces
      >>> fit = proxies.fitness(spaces.get("nb201"), "params")  # NB201's network, 10 classes
      >>> ops = np.array([[[3, 3, 3, 3, 3, 3], [3, 3, 3, 0, 0, 0]], [[1, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2]]])
      >>> v = jax.jit(fit)(ops)  # any leading shape: [2, 2, 6] -> [2, 2]
      >>> v.shape, [[round(float(x), 3) for x in row] for row in v]
      ((2, 2), [[1.532, -inf], [0.073, 0.241]])
    """
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from .. import spaces
    from .measures import MEASURES
    space = spaces.get(space) if isinstance(space, str) else space
    model = _check(space, name)
    check_int("key", key, lo=0)
    check_int("chunk", chunk, lo=1)
    size = _size(model, channels, cells, classes)
    data = _default_batch(name, batch, size["classes"], resolution, batch_size)
    if name in COUNTS:
        return lambda ops: _worst_if_disconnected(space, jnp.asarray(ops),
                                                  _count(model, name, jnp.asarray(ops), data.x.shape[1], size))
    rng = jax.random.key(key)
    graphdef, state = nnx.split(model.MixedNetwork(**size, in_channels=data.x.shape[-1], rngs=nnx.Rngs(rng)))

    def fit(ops):
        ops = jnp.asarray(ops)
        r = space.num_slots
        if ops.shape[-1:] != (r,):
            from ..errors import InvalidArchitecture
            raise InvalidArchitecture(f"{space.name} ops have {r} slots, got shape {ops.shape}")
        flat = ops.reshape(-1, r)
        values = _scored(MEASURES[name], graphdef, state, flat, data, rng, chunk)
        return _worst_if_disconnected(space, flat, values).reshape(ops.shape[:-1])
    return fit


_fitness = fitness


def _progress(label: str, enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True,
                    disable=not enabled)  # a hidden bar still printed an empty line


def table(space, name: str, batch: Batch | tuple | None = None, *, block: int = 125, progress: bool = False,
          fitness: Callable | None = None, estimate: bool = False, **kwargs):
    """The proxy of every architecture of ``space`` as a :class:`~jaxnag.tables.Table` (benchmark
    ``proxy``, dataset ``name``; a cell that disconnects input from output, ``-inf`` as a fitness, and a
    failed measurement are both NaN in the table: no value): one compiled call per ``block`` architectures
    (a rich progress bar when ``progress``; with ``estimate``, one stderr line with the expected time when it
    is over a minute, from the first blocks after compilation). ``kwargs`` as :func:`fitness`, or
    ``fitness`` given ready-made. Ctrl-C stops between blocks.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import proxies, spaces
      >>> t = proxies.table(spaces.get("nb201"), "params", block=15625)  # the whole space in one call; prints nothing
      >>> t.info.benchmark, t.info.dataset, t.values.shape, round(float(t.optimum), 3)
      ('proxy', 'params', (15625,), 1.532)
      >>> float(t(np.array([3, 3, 3, 0, 0, 0])))  # a disconnected cell: no value
      nan
    """
    import sys
    import time

    import jax

    from .. import tables
    from ..interrupts import StopFlag
    model = _check(space, name)
    if not space.enumerable:
        raise ConfigError(f"proxies.table scores every architecture of a space: {space.name} has {space.size:.2e}; "
                          "use proxies.fitness as a generator's fitness instead")
    check_int("block", block, lo=1)
    if fitness is not None and not callable(fitness):
        raise ConfigError(f"fitness must be a callable ops -> scores, got {type(fitness).__name__}")
    ops = np.asarray(space.all_ops())
    fit = jax.jit(fitness or _fitness(space, name, batch, **kwargs))
    pad = -len(ops) % block
    padded = np.concatenate([ops, np.repeat(ops[:1], pad, axis=0)])
    values = []
    blocks = len(padded) // block
    with _progress(name, progress) as bar, StopFlag(None) as stop:
        task = bar.add_task(name, total=blocks, visible=progress)
        for b, i in enumerate(range(0, len(padded), block)):
            stop.check()
            t0 = time.perf_counter()
            values.append(np.asarray(fit(padded[i:i + block])))
            bar.advance(task)
            if estimate and b == 1 and blocks > 2:  # block 0 compiled; block 1 is the steady rate
                left = (time.perf_counter() - t0) * (blocks - 2)
                if left > 60:
                    print(f"jaxnag: {name} of {len(ops):,} {space.name} cells: about {left / 60:.0f} min more on "
                          "this machine (from the first blocks)", file=sys.stderr, flush=True)
    values = np.concatenate(values)[:len(ops)].astype(np.float64)
    values[~np.isfinite(values)] = np.nan
    size = _size(model, kwargs.get("channels"), kwargs.get("cells"), kwargs.get("classes"))
    return tables.from_arrays(space, ops, values, benchmark="proxy", dataset=name, metric=name,
                              source=f"jaxnag.proxies ({size['channels']} channels, {size['cells']} cells, "
                                     f"{size['classes']} classes)")


def network(names: str | Sequence[str], net, batch: Batch | tuple | None = None, *, key: int = 0,
            resolution: int = 32, batch_size: int = 16) -> dict:
    """Proxies of one concrete NNX network, ``{name: float32 scalar}``, in one compiled program: the graph spaces'
    networks (:class:`jaxnag.models.nb101.Network`, :class:`jaxnag.models.darts.Network`) or a user's own.

    The network is called as ``net(x, ops)`` (``ops`` a dummy it may ignore) for the data-dependent proxies;
    ``synflow``, ``zen`` and ``l2_norm`` also read ``net.feature_map(x, ops, each)``, ``net.classifier`` and
    ``net.op_weight(path, ops)`` (1 for every variable of a concrete network). Weights are the network's as given
    (its initialisation); ``key`` seeds zen's Gaussian weights and inputs. The exact counts are the models'
    ``param_count``, not proxies here.

    Examples:
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxnag import proxies, spaces
      >>> from jaxnag.models import darts
      >>> net = darts.Network(spaces.get("darts").from_string(spaces.darts.DARTS_V2), channels=2, layers=3,
      ...                     rngs=nnx.Rngs(0))
      >>> v = proxies.network(("synflow", "l2_norm"), net, resolution=8, batch_size=2)
      >>> sorted(v), bool(jnp.isfinite(v["synflow"]))
      (['l2_norm', 'synflow'], True)
    """
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from .measures import MEASURES, network_program
    names = (names,) if isinstance(names, str) else tuple(names)
    for name in names:
        if name in COUNTS:
            raise ConfigError(f"{name!r} is an exact count of a space's model (jaxnag.models.<space>.param_count), "
                              "not a proxy of a network")
        if name not in MEASURES:
            raise UnknownName(f"unknown proxy {name!r}; available: {', '.join(n for n in NAMES if n not in COUNTS)}")
    if not names:
        raise ConfigError("network needs at least one proxy name")
    reader = next((n for n in names if n not in DATA_FREE), names[0])  # the one to name if data is missing
    data = _default_batch(reader, batch, None, resolution, batch_size)
    graphdef, state = nnx.split(net)
    return network_program(graphdef, names, state, jnp.asarray(data.x), jnp.asarray(data.y), jax.random.key(key))


def ensemble(space, members: Sequence[str | Callable], batch: Batch | tuple | None = None, *,
             reference: int = 200, **kwargs) -> Callable:
    """A rank ensemble as one jittable fitness: the mean over ``members`` (proxy names, or fitness
    callables such as a proxy :func:`table`) of an architecture's percentile (0-100) among ``reference``
    random architectures of ``space``, scored once here. Percentiles make the proxies' scales
    comparable, and the reference set keeps the score a fixed function of the cell (a rank within
    each population would not be). ``kwargs`` as :func:`fitness`.

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag import proxies, spaces
      >>> fit = proxies.ensemble(spaces.get("nb201"), ["params", "flops"], reference=20)
      >>> ops = np.array([[3, 3, 3, 3, 3, 3], [3, 3, 3, 0, 0, 0]])  # the largest cell, a disconnected one
      >>> [round(float(v), 1) for v in jax.jit(fit)(ops)]  # mean percentile among the 20 reference cells
      [100.0, 0.0]
    """
    import jax
    import jax.numpy as jnp
    if not members:
        raise ConfigError("an ensemble needs at least one proxy")
    for m in members:
        if not callable(m):
            _check(space, m)
    check_int("reference", reference, lo=2)
    key = kwargs.get("key", 0)
    if space.enumerable:
        ref_ops = np.asarray(space.all_ops())[np.random.default_rng(key).choice(space.size, min(reference, space.size),
                                                                                replace=False)]
    else:  # too many to list: uniform valid draws
        ref_ops = np.asarray(space.random(jax.random.key(key), (reference,)))
    fits, sorted_refs = [], []
    for name in members:
        fit = name if callable(name) else fitness(space, name, batch, **kwargs)
        ref = np.sort(np.asarray(jax.jit(fit)(ref_ops), np.float64))
        ref = ref[np.isfinite(ref)]
        if len(ref) < 2:
            raise ConfigError(f"proxy {name!r} is undefined on the reference architectures")
        fits.append(fit)
        sorted_refs.append(ref.astype(np.float32))
    levels = [np.linspace(0.0, 100.0, len(r), dtype=np.float32) for r in sorted_refs]

    def fit(ops):
        pct = [jnp.interp(jnp.nan_to_num(f(ops), nan=-jnp.inf), jnp.asarray(r), jnp.asarray(q))
               for f, r, q in zip(fits, sorted_refs, levels, strict=True)]
        return sum(pct) / len(pct)
    return fit


def generate(generator, keys, space, config, fitness: Callable, **context):
    """A run of ``generator`` per key of ``keys [S]`` on a proxy ``fitness`` (from :func:`fitness` or
    :func:`ensemble`): the runs go one after another inside one compiled program (``lax.map``), because
    a proxy runs only each cell's chosen ops and a ``vmap`` over seeds would run them all. This is
    ``jaxnag generate --proxy``. Returns the :class:`~jaxnag.protocol.Result` with a leading axis ``[S]``;
    one call compiles once, so pass every key in one call.

    Examples:
      >>> import jax
      >>> from jaxnag import proxies, registry, spaces
      >>> space, gen = spaces.get("nb201"), registry.get("random")
      >>> res = proxies.generate(gen, jax.random.split(jax.random.key(0), 2), space,
      ...                        gen.config(space, budget=4), proxies.fitness(space, "params"))
      >>> res.best_fitness.shape
      (2,)
    """
    import jax
    return jax.jit(lambda k, c: jax.lax.map(lambda kk: generator.generate(kk, fitness, space, config, **c), k))(
        keys, context)
