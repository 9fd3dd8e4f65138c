"""Baseline searches as jittable generators on any fitness: random search and REA.

Modules :mod:`.random_sampling` and :mod:`.regularized_evolution` speak the generator
protocol (:mod:`jaxnag.protocol`); :func:`random_search` and :func:`rea` are their
``generate`` with keyword settings. The evosax strategies live in
:mod:`jaxnag.baselines.evosax_adapter` (optional extra ``jaxnag[baselines]``).
"""

from . import random_sampling as random_sampling
from . import regularized_evolution as regularized_evolution
from .random_sampling import random_search as random_search
from .regularized_evolution import mutate_one_slot as mutate_one_slot
from .regularized_evolution import rea as rea

__all__ = ["mutate_one_slot", "random_sampling", "random_search", "rea", "regularized_evolution"]
