"""Benchmark tables as jittable fitness functions.

Examples:
  >>> from jaxnag import tables
  >>> t = tables.load("nasbench_graph", "cora")     # no data directory needed
  >>> t.space.name
  'nasbench_graph'
"""

from ._sources import BENCHMARKS as BENCHMARKS
from ._sources import ENV_VAR as ENV_VAR
from ._sources import Benchmark as Benchmark
from ._sources import availability as availability
from ._sources import benchmark as benchmark
from ._sources import data_dir as data_dir
from ._sources import load as load
from ._sources import load_custom as load_custom
from ..errors import DataError as DataError
from ._constraints import constrain as constrain
from ._constraints import parse as parse_constraint
from ._landscape import landscape as landscape
from ._objectives import Objectives as Objectives
from ._objectives import combine as combine
from ._objectives import front_rows as front_rows
from ._objectives import objectives as objectives
from ._objectives import stack_objectives as stack_objectives
from ._table import Table as Table
from ._table import TableInfo as TableInfo
from ._table import from_arrays as from_arrays
from ._table import stack as stack
from ._table import unstack as unstack
from ._subset import Subset as Subset
from ._subset import naslib_subset as naslib_subset

__all__ = ["BENCHMARKS", "ENV_VAR", "Benchmark", "DataError", "Objectives", "Table", "TableInfo", "availability", "constrain", "parse_constraint",
           "benchmark", "combine", "data_dir", "front_rows", "from_arrays", "landscape", "load", "load_custom", "objectives", "stack_objectives", "stack", "unstack",
           "Subset", "naslib_subset"]
