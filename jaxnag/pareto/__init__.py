"""Multi-objective generation: Pareto dominance, fronts and their quality, for every generator.

Objectives are maximised, as every jaxnag fitness is: a cost (latency, energy, parameters,
FLOPs) enters negated, as :func:`jaxnag.tables.objectives` builds it. The pieces:

- dominance, non-dominated sorting and crowding distance (:func:`dominates`, :func:`ranks`,
  :func:`non_dominated`, :func:`crowding`), and the scalar standing NSGA-II orders by (:func:`standing`);
- a fixed-capacity Pareto archive (:class:`Front`, :func:`empty`, :func:`insert`);
- indicators: :func:`hypervolume` (exact for up to 3 objectives, Monte Carlo above), :func:`igd`,
  :func:`igd_plus`, :func:`normalise` (EvoXBench's scale: nadir 0, ideal 1);
- :func:`with_objectives`: any generator on a vector fitness (the protocol unchanged);
- against the exact front of an enumerable problem: :func:`exact_hypervolume`, :func:`exact_share`,
  :func:`exact_igd`;
- :func:`rank_table`: each architecture's Pareto standing as a table (PG-NAG's prior source).

Examples:
  >>> import jax.numpy as jnp
  >>> from jaxnag import pareto
  >>> f = jnp.array([[0.9, -2.0], [0.8, -1.0], [0.7, -1.5]])   # (accuracy, -latency)
  >>> pareto.non_dominated(f).tolist()
  [True, True, False]
"""

from ._dominance import crowding as crowding
from ._dominance import dominates as dominates
from ._dominance import domination_matrix as domination_matrix
from ._dominance import non_dominated as non_dominated
from ._dominance import ranks as ranks
from ._dominance import standing as standing
from ._dominance import usable as usable
from ._front import Front as Front
from ._front import empty as empty
from ._front import insert as insert
from ._front import insert_one as insert_one
from ._indicators import EXACT_MAX as EXACT_MAX
from ._indicators import check_exact as check_exact
from ._indicators import hypervolume as hypervolume
from ._indicators import hypervolume_mc as hypervolume_mc
from ._indicators import igd as igd
from ._indicators import igd_plus as igd_plus
from ._indicators import normalise as normalise
from ._rank_table import rank_table as rank_table
from ._exact import exact_hypervolume as exact_hypervolume
from ._exact import exact_igd as exact_igd
from ._exact import exact_share as exact_share
from ._wrapper import with_objectives as with_objectives

__all__ = ["EXACT_MAX", "Front", "check_exact", "crowding", "dominates", "domination_matrix", "empty", "hypervolume",
           "hypervolume_mc", "igd", "igd_plus", "insert", "insert_one", "non_dominated", "normalise", "rank_table", "ranks", "standing", "usable", "exact_hypervolume", "exact_igd", "exact_share",
           "with_objectives"]
