"""PG-NAG's prior knowledge: Shapley component scores, score matrices and categorical priors.

Examples:
  >>> import jax
  >>> from jaxnag import tables
  >>> from jaxnag import prior
  >>> t = tables.load("nasbench_graph", "cora")
  >>> res = prior.score_table(jax.random.key(0), t, k=5, method="loo")
  >>> res.prior.shape
  (5, 9)
"""

from . import mapping as mapping
from . import scores as scores
from . import shapley as shapley
from ._score_table import PriorResult as PriorResult
from ._score_table import score as score
from ._score_table import score_table as score_table
from .mapping import map_prior as map_prior
from ._score_table import check_scoring as check_scoring
from .mapping import map_scores as map_scores
from .scores import frequency_prior as frequency_prior
from .scores import prior_from_scores as prior_from_scores
from .scores import score_matrix as score_matrix
from .scores import uniform_prior as uniform_prior

__all__ = ["PriorResult", "check_scoring", "frequency_prior", "map_prior", "map_scores", "mapping", "prior_from_scores",
           "score", "score_matrix", "score_table", "scores", "shapley", "uniform_prior"]
