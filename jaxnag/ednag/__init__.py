"""EDNAG: evolutionary diffusion for training-free architecture generation.

``init`` / ``ask`` / ``tell`` / ``step`` / ``generate`` are pure functions (the generator
protocol of :mod:`jaxnag.protocol`); the pieces they compose are
in :mod:`jaxnag.ednag.denoise`, :mod:`jaxnag.ednag.mutation`,
:mod:`jaxnag.ednag.selection`, :mod:`jaxnag.schedules` and :mod:`jaxnag.shaping`.

Examples:
  >>> import jax
  >>> from jaxnag import ednag, spaces, tables
  >>> space, table = spaces.get("nasbench_graph"), tables.load("nasbench_graph", "cora")
  >>> run = jax.jit(jax.vmap(lambda k: ednag.generate(k, table, space, ednag.Config(steps=20))))
  >>> run(jax.random.split(jax.random.key(0), 4)).best_fitness.shape
  (4,)
"""

from . import denoise as denoise
from . import mutation as mutation
from . import selection as selection
from ._algorithm import Config as Config
from ._algorithm import REFERENCE as REFERENCE
from ._algorithm import ask as ask
from ._algorithm import done as done
from ._algorithm import tell as tell
from ..protocol import Result as Result
from ._algorithm import State as State
from ._algorithm import decode as decode
from ._algorithm import dim as dim
from ._algorithm import encode as encode
from ._algorithm import generate as generate
from ._algorithm import init as init
from ._algorithm import step as step
from ._algorithm import warm_start as warm_start

__all__ = ["Config", "REFERENCE", "Result", "State", "ask", "decode", "denoise", "dim", "done", "encode", "generate", "init", "mutation",
           "selection", "step", "tell", "warm_start"]
