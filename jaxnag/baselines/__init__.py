"""Baseline searches as jittable functions on any fitness: random search and REA.

The evosax strategies used in the benchmarks live in :mod:`jaxnag.baselines.evosax_adapter`
(optional extra ``jaxnag[baselines]``).
"""

from ._common import SearchResult as SearchResult
from .random_search import random_search as random_search
from .rea import mutate_one_slot as mutate_one_slot
from .rea import rea as rea

__all__ = ["SearchResult", "mutate_one_slot", "random_search", "rea"]
