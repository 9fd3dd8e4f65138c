"""Zero-cost proxies as fitness: score architectures without training and without a benchmark table.

So far the data-free, exact ones for NB201: ``params`` and ``flops`` of the architecture's network
(:mod:`jaxnag.models.nb201`, NAS-Bench-201 API conventions; "#Params" and "FLOPs" are the baselines of
Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, and of NASLib's zero-cost
benchmark, Krishnakumar et al., NeurIPS 2022). Both are larger-is-better scores there: on NB201,
bigger networks train to higher accuracy.

:func:`fitness` gives a jittable fitness every generator accepts (zero table lookups);
:func:`table` scores a whole small space once into a :class:`~jaxnag.tables.Table`.

Example:
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

from collections.abc import Callable

import numpy as np

from .errors import ConfigError, UnknownName

__all__ = ["NAMES", "fitness", "table"]

NAMES = ("params", "flops")


def _check(space, name: str):
    if name not in NAMES:
        raise UnknownName(f"unknown proxy {name!r}; available: {', '.join(NAMES)}")
    if space.name != "nb201":
        raise ConfigError(f"proxy {name!r} needs the network of an architecture; jaxnag builds networks for nb201, "
                          f"not {space.name}")


def _score(name: str, ops, resolution: int, size: dict):
    """The proxy ``name`` of ``ops`` (numpy or jax), in millions."""
    from .models import nb201
    if name == "params":
        return nb201.param_count(ops, **size) / 1e6
    return nb201.flops(ops, resolution=resolution, **size) / 1e6


def fitness(space, name: str, *, channels: int = 16, cells: int = 5, classes: int = 10,
            resolution: int = 32) -> Callable:
    """A jittable fitness ``ops [..., R] -> float32 [...]``: the proxy ``name`` of each architecture's
    network (``channels``, ``cells`` per stage, ``classes``, input ``resolution``), in millions."""
    import jax.numpy as jnp

    _check(space, name)
    size = dict(channels=channels, cells=cells, classes=classes)
    return lambda ops: _score(name, jnp.asarray(ops), resolution, size)


def table(space, name: str, *, channels: int = 16, cells: int = 5, classes: int = 10, resolution: int = 32):
    """The proxy of every architecture of ``space`` as a :class:`~jaxnag.tables.Table` (benchmark
    ``proxy``, dataset ``name``), scored once on the host."""
    from . import tables
    _check(space, name)
    ops = np.asarray(space.all_ops())
    values = _score(name, ops, resolution, dict(channels=channels, cells=cells, classes=classes))
    return tables.from_arrays(space, ops, values, benchmark="proxy", dataset=name, metric=name,
                              source=f"jaxnag.proxies ({channels} channels, {cells} cells, {classes} classes)")
