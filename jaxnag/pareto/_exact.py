"""A run's front against the exact front of an enumerable problem (host-side): its hypervolume share and IGD.

The hypervolume is EvoXBench's: objectives normalised between the exact front's nadir (0, the
reference point) and ideal (1) points; IGD and IGD+ are measured on the same scale.

Examples:
  >>> from jaxnag import pareto, tables
  >>> obj = tables.objectives("nasbench_graph", "cora", "test,latency")
  >>> _, front = obj.exact_front()
  >>> float(pareto.exact_share(pareto.exact_hypervolume(obj), obj)), pareto.exact_igd(front, obj)
  (1.0, 0.0)
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ._indicators import check_exact, hypervolume, igd, igd_plus, normalise

__all__ = ["exact_hypervolume", "exact_igd", "exact_share"]


def exact_hypervolume(objectives) -> float:
    """The exact front's hypervolume on the normalised scale (computed once per :class:`Objectives`).

    Examples:
      >>> import numpy as np
      >>> from jaxnag import pareto, spaces, tables
      >>> space = spaces.categorical("two_bits", ("a", "b"), slots=2)  # 4 architectures
      >>> ops = space.all_ops()
      >>> acc = tables.from_arrays(space, ops, np.array([1.0, 2.0, 3.0, 4.0], np.float32), metric="acc")
      >>> speed = tables.from_arrays(space, ops, np.array([-1.0, -3.0, -2.0, -4.0], np.float32), metric="neg_latency")
      >>> obj = tables.combine([acc, speed])  # exact front (4, -4), (3, -2), (1, -1): (2, -3) is dominated
      >>> round(pareto.exact_hypervolume(obj), 4)  # normalised: (1, 0), (2/3, 2/3), (0, 1)
      0.4444
    """
    hit = objectives.__dict__.get("_exact_hv")
    if hit is None:
        _, vals = objectives.exact_front()
        check_exact(vals.shape[1])
        hit = float(hypervolume(normalise(vals, objectives.ideal, objectives.nadir), jnp.zeros(vals.shape[1])))
        objectives.__dict__["_exact_hv"] = hit
    return hit


def exact_share(result_hv, objectives) -> np.ndarray:
    """A run's hypervolume (any shape) as a share of the exact front's: float64, the same shape.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import pareto, spaces, tables
      >>> space = spaces.categorical("two_bits", ("a", "b"), slots=2)  # 4 architectures
      >>> ops = space.all_ops()
      >>> acc = tables.from_arrays(space, ops, np.array([1.0, 2.0, 3.0, 4.0], np.float32), metric="acc")
      >>> speed = tables.from_arrays(space, ops, np.array([-1.0, -3.0, -2.0, -4.0], np.float32), metric="neg_latency")
      >>> obj = tables.combine([acc, speed])  # exact front (4, -4), (3, -2), (1, -1): (2, -3) is dominated
      >>> hv = pareto.exact_hypervolume(obj)
      >>> pareto.exact_share([hv / 2, hv], obj).tolist()
      [0.5, 1.0]
    """
    return np.asarray(result_hv, np.float64) / exact_hypervolume(objectives)


def exact_igd(values, objectives, plus: bool = True) -> float:
    """IGD+ (``plus``) or IGD of a found front ``values [F, M]`` (fitness units) against the exact front, both
    normalised; NaN for an empty front.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import pareto, spaces, tables
      >>> space = spaces.categorical("two_bits", ("a", "b"), slots=2)  # 4 architectures
      >>> ops = space.all_ops()
      >>> acc = tables.from_arrays(space, ops, np.array([1.0, 2.0, 3.0, 4.0], np.float32), metric="acc")
      >>> speed = tables.from_arrays(space, ops, np.array([-1.0, -3.0, -2.0, -4.0], np.float32), metric="neg_latency")
      >>> obj = tables.combine([acc, speed])  # exact front (4, -4), (3, -2), (1, -1): (2, -3) is dominated
      >>> found = np.array([[4.0, -4.0], [1.0, -1.0]])  # the exact front less its middle point
      >>> round(pareto.exact_igd(found, obj), 4), round(pareto.exact_igd(found, obj, plus=False), 4)
      (0.2222, 0.2485)
      >>> pareto.exact_igd(np.zeros((0, 2)), obj)
      nan
    """
    values = np.asarray(values, np.float32)
    if len(values) == 0:
        return float("nan")
    _, exact = objectives.exact_front()
    scale = lambda v: normalise(v, objectives.ideal, objectives.nadir)  # noqa: E731
    return float((igd_plus if plus else igd)(scale(values), scale(exact)))
