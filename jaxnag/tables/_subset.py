"""NASLib's subsets of the spaces without a full table here: 500 NAS-Bench-101 cells and 500 NAS-Bench-301 (DARTS)
genotypes, each with its validation accuracy, parameter and FLOP counts and NASLib's zero-cost proxies."""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from ..errors import ConfigError, DataError

__all__ = ["Subset", "naslib_subset"]

_FILE = "naslib_zc_subsets.npz"
_HOWTO = ("It holds NASLib's zero-cost benchmark subsets (automl/NASLib, Apache-2.0, naslib/data/zc_*.json); see "
          "the data README for how it is built.")
_SPACE = {"nb101": "nb101", "nb301": "darts"}


class Subset(NamedTuple):
    """Listed architectures of a space with their measurements.

    Attributes:
      space: the :class:`~jaxnag.spaces.SearchSpace` (``nb101`` or ``darts``).
      ops: int32 ``[n, R]``, the listed architectures as encodings of ``space``.
      metrics: name -> float32 ``[n]``: ``val_accuracy``, ``params``, ``flops`` (millions, NASLib's counters) and
        NASLib's zero-cost proxies (``synflow``, ``l2_norm``, ``snip``, ``grad_norm``, ``jacov``, ...).

    Examples:
      >>> import numpy as np
      >>> from jaxnag import spaces, tables
      >>> from jaxnag.spaces.darts import DARTS_V2
      >>> space = spaces.get("darts")
      >>> sub = tables.Subset(space, space.from_string(DARTS_V2)[None], {"val_accuracy": np.float32([97.0])})
      >>> sub._fields, sub.ops.shape, sub.ops.dtype, sub.space.name  # as tables.naslib_subset gives one
      (('space', 'ops', 'metrics'), (1, 28), dtype('int32'), 'darts')
    """

    space: object
    ops: np.ndarray
    metrics: dict


def naslib_subset(benchmark: str, data_dir: str | os.PathLike | None = None) -> Subset:
    """NASLib's 500-architecture subset of ``benchmark`` (``"nb101"`` or ``"nb301"``) from ``naslib_zc_subsets.npz``
    in the data directory (``data_dir``, else ``$JAXNAG_DATA_DIR``).

    Raises:
      DataError: the file is missing, corrupt, or lacks the benchmark's keys; an architecture is not valid.

    Examples:
      >>> from jaxnag import tables
      >>> s = tables.naslib_subset("nb301")  # doctest: +SKIP
      >>> s.space.name, s.ops.shape, round(float(s.metrics["val_accuracy"].max()), 2)  # doctest: +SKIP
      ('darts', (500, 28), 94.33)
    """
    from .. import spaces
    from ..spaces import darts, nb101
    from ._sources import open_npz
    if benchmark not in _SPACE:
        raise ConfigError(f"NASLib subsets here: {', '.join(_SPACE)}; got {benchmark!r}")
    key = "arch" if benchmark == "nb101" else "genotype"
    z = open_npz(_FILE, data_dir, _HOWTO, required=(f"{benchmark}/cifar10/{key}", f"{benchmark}/cifar10/val_accuracy"))
    prefix = f"{benchmark}/cifar10/"
    raw = z[prefix + key]
    try:
        if benchmark == "nb101":
            ops = np.stack([nb101.from_spec(r[:49].reshape(7, 7), r[49:]) for r in raw])
        else:
            ops = np.stack([darts.from_genotype(g) for g in raw])
    except (ValueError, IndexError) as e:
        raise DataError(f"{_FILE}: a {benchmark} architecture is not valid ({e}). {_HOWTO}") from None
    metrics = {k[len(prefix):]: z[k].astype(np.float32) for k in z if k.startswith(prefix) and k != prefix + key}
    bad = [k for k, v in metrics.items() if v.shape != (len(ops),)]
    if bad:
        raise DataError(f"{_FILE}: {benchmark} metrics {bad} do not have one value per architecture. {_HOWTO}")
    return Subset(spaces.get(_SPACE[benchmark]), ops.astype(np.int32), metrics)
