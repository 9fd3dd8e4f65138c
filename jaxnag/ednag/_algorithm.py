"""EDNAG (Zhou et al. 2025): evolutionary diffusion, training-free, as one ``lax.scan``.

Each step estimates the clean population ``x0`` as a fitness-weighted kernel average
of the current population, takes a DDIM step toward it, mutates, evaluates the
children, and keeps ``N`` of the ``2N`` parents and children. Only the children are
evaluated (the parents' fitness is carried in the state), so a run costs
``N * steps`` fitness calls where the reference spends ``3N`` per step.

Two behaviours (``Config.faithful``):

- faithful: the reference code, quirks included: the (R+2) x (C+2) layout whose
  input/output columns can make an architecture invalid (fitness 0), float32 weights
  with 1e-9 floors, ``rescale`` + ``energy`` shaping with an explicit ``task_scale``,
  no DDIM noise on the first step (alpha_t = 0), one mutation draw per individual (a
  no-op on the decoded architecture) with distribution index 8 on the first step, and
  the reference's selection (:func:`selection.select_reference`: repeats allowed,
  roulette mass flowing to the next free index).
- default: the fixes listed in ``methods.md``: R x C layout (always valid), log-space
  weights, per-gene mutation, a scale-free shaping (no knowledge of the optimum), used
  both for the x0 weights and, as ``exp(log w - max log w)``, for selection.

On a vector fitness (``Config(num_objectives=M)``, default mode; :func:`jaxnag.pareto.with_objectives` sets
it) the state keeps each individual's objective vector, and the x0 weights and the selection read each one's
Pareto standing (:func:`jaxnag.pareto.standing`: non-dominated rank, then crowding distance) computed afresh
among the population and among the pooled parents and children, so selection's elites are the pool's
non-dominated vectors first (as many as the elite rate's places) and a parent's standing falls once children
dominate it. The registry's EDNAG (:func:`jaxnag.registry.get`) takes elite rate 0.8 there unless given
(``docs/pareto_ednag_fresh.md``).

Examples:
  >>> import jax
  >>> from jaxnag import ednag, spaces, tables
  >>> space = spaces.get("nasbench_graph")
  >>> table = tables.load("nasbench_graph", "cora")
  >>> cfg = ednag.Config(population=16, steps=10)
  >>> res = jax.jit(lambda k: ednag.generate(k, table, space, cfg))(jax.random.key(0))
  >>> res.best_trace.shape
  (10,)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import archive as archive_lib
from .. import queries as queries_lib
from .. import pareto, rng, schedules, shaping
from ..protocol import Result, evaluate, trace_result, unless_finished, value_shape
from ..errors import ConfigError, UnknownName, check_int, check_range, is_concrete
from ..spaces import SearchSpace
from . import denoise, mutation, selection

_MAX_TRACKED = 1 << 24  # spaces up to this size count unique queries exactly


@dataclasses.dataclass(frozen=True)
class Config:
    """EDNAG hyperparameters.

    The defaults are the reference configuration (``methods.md``) except for four values chosen by
    ``benchmarks/ednag_sweep.py`` (docs/ednag_sweep.md): ``steps`` 150 (reference 100),
    ``elite_rate`` 0.5 (0.1), ``diversity_rate`` 0 (0.2), ``mutation_index`` 3 (5). On NB201
    they find the ImageNet16-120 optimum in about 98% of seeds instead of 85%, for about 50%
    more unique queries (about 1,970 instead of 1,330).
    :meth:`reference` gives the reference's values in the default mode, :meth:`faithful_reference`
    the reference code's behaviour.

    Static (shape- or code-changing) fields: ``population``, ``steps``, ``faithful``,
    ``shaping``, ``schedule``. The others are pytree leaves, so a hyperparameter sweep
    is a ``vmap`` over a batched ``Config``.

    Attributes:
      population: N.
      steps: T; a run makes T - 1 denoising steps (t = T-1 .. 1).
      faithful: reproduce the reference code (see module doc).
      shaping: default mode's fitness shaping for the x0 weights: ``rank`` (default,
        centred ranks in [-0.5, 0.5]), ``zscore``, ``rescale``, ``identity`` or ``power``
        (faithful mode always uses ``rescale``).
      schedule: noise schedule name (:mod:`jaxnag.schedules`).
      temperature: divides the shaped fitness before the weights. Its scale belongs to
        the shaping: the reference's 1.0 is for ``rescale`` (``faithful_reference`` sets
        it); the default 0.1 on ranks gives log-weights spanning 10 across the population.
      noise: DDIM eta.
      mutation_rate, mutation_index: polynomial mutation probability and distribution index.
      elite_rate, diversity_rate: shares of elites and diverse survivors in selection.
      task_scale: multiplies accuracy before ``rescale`` (the reference's per-dataset
        1.0 / 1.2 / 2.0 encode knowledge of the optimum; default 1).
      num_objectives: ``M``, the width of the fitness (1: a scalar; more: see the module doc).

    Examples:
      >>> import jax
      >>> from jaxnag import ednag
      >>> cfg = ednag.Config(population=8, steps=10)
      >>> len(jax.tree_util.tree_leaves(cfg)), cfg.replace(noise=0.5).noise  # 7 traced hyperparameters
      (7, 0.5)
      >>> try:
      ...     ednag.Config(shaping="softmax")
      ... except KeyError as e:  # errors.UnknownName
      ...     print(str(e).split(";")[0])
      unknown shaping 'softmax'
    """

    population: int = 30
    steps: int = 150
    faithful: bool = False
    shaping: str = "rank"
    schedule: str = "cosine"
    temperature: float = 0.1
    noise: float = 0.8
    mutation_rate: float = 0.6
    mutation_index: float = 3.0
    elite_rate: float = 0.5
    diversity_rate: float = 0.0
    task_scale: float = 1.0
    num_objectives: int = 1

    def __post_init__(self):
        # Checked where the values are concrete; traced leaves (under jit/vmap) pass through.
        check_int("population", self.population, lo=2)
        check_int("steps", self.steps, lo=2)
        if self.shaping not in shaping.SHAPINGS:
            raise UnknownName(f"unknown shaping {self.shaping!r}; available: {', '.join(shaping.SHAPINGS)}")
        if self.schedule not in schedules.SCHEDULES:
            raise UnknownName(f"unknown schedule {self.schedule!r}; available: {', '.join(schedules.SCHEDULES)}")
        check_range("temperature", self.temperature, lo=0.0, lo_open=True)
        check_range("noise", self.noise, lo=0.0)
        check_range("mutation_rate", self.mutation_rate, lo=0.0, hi=1.0)
        check_range("mutation_index", self.mutation_index, lo=0.0)
        check_range("elite_rate", self.elite_rate, lo=0.0, hi=1.0)
        check_range("diversity_rate", self.diversity_rate, lo=0.0, hi=1.0)
        check_range("task_scale", self.task_scale, lo=0.0, lo_open=True)
        check_int("num_objectives", self.num_objectives, lo=1)
        if self.faithful and self.num_objectives > 1:
            raise ConfigError("the faithful mode reproduces the reference code, which takes a scalar fitness: "
                              "num_objectives must be 1 there")

    def replace(self, **kw) -> "Config":
        return dataclasses.replace(self, **kw)

    def batched(self, **sweep) -> "Config":
        """A batch of configs for ``vmap``: the fields in ``sweep`` take the given 1-D
        values, every other numeric field is broadcast to the same length.

        Examples:
          >>> cfgs = Config(steps=10).batched(temperature=[0.5, 1.0, 2.0])
          >>> cfgs.noise.shape
          (3,)
        """
        sizes = {len(v) for v in sweep.values()}
        if len(sizes) != 1:
            raise ConfigError(f"batched needs 1-D values of one common length, got lengths {sorted(sizes)}")
        n = sizes.pop()
        data = [f.name for f in dataclasses.fields(self) if f.name not in _STATIC]
        bad = set(sweep) - set(data)
        if bad:
            raise ConfigError(f"cannot sweep {sorted(bad)}: only {', '.join(data)} are pytree leaves")
        vals = {k: np.asarray(sweep[k], np.float32) if k in sweep else np.full(n, getattr(self, k), np.float32)
                for k in data}
        return dataclasses.replace(self, **vals)  # validated by __post_init__ like scalar fields

    @classmethod
    def reference(cls, **kw) -> "Config":
        """The reference configuration's hyperparameters (:data:`REFERENCE`: N 30, T 100, elite rate
        0.1, diversity rate 0.2, mutation index 5) in the default mode (the library's defaults
        before issue 12).

        Examples:
          >>> Config.reference().elite_rate, Config().elite_rate
          (0.1, 0.5)
        """
        return cls(**{**{k: v for k, v in REFERENCE.items() if k != "temperature"}, **kw})

    @classmethod
    def faithful_reference(cls, task_scale: float = 1.0, **kw) -> "Config":
        """The reference code's behaviour and hyperparameters (:data:`REFERENCE`); pass the
        reference's ``task_scale`` to match it exactly (NB201: cifar10 1.0, cifar100 1.2,
        ImageNet16-120 2.0)."""
        return cls(**{**REFERENCE, **kw, "faithful": True, "shaping": "rescale", "task_scale": task_scale})


#: The reference configuration of ``methods.md`` (all five search spaces). Its temperature 1.0 is
#: for the ``rescale`` shaping of the faithful mode; the default mode's ranks take 0.1.
REFERENCE = dict(population=30, steps=100, temperature=1.0, noise=0.8, mutation_rate=0.6, mutation_index=5.0,
                 elite_rate=0.1, diversity_rate=0.2)


_STATIC = ("population", "steps", "faithful", "shaping", "schedule", "num_objectives")
jax.tree_util.register_dataclass(
    Config, data_fields=[f.name for f in dataclasses.fields(Config) if f.name not in _STATIC],
    meta_fields=list(_STATIC))


@archive_lib.reads_archive
class State(NamedTuple):
    """EDNAG's evolving state (a pytree).

    Attributes:
      x: float32 ``[N, D]`` population in encoding space.
      ops: int32 ``[N, R]`` decoded architectures.
      fitness: float32 ``[N]`` raw fitness (NaN = failed, invalid, or not evaluated yet); ``[N, M]`` for a
        vector fitness (a row with any NaN: failed).
      t: int32 noise level index: ``steps`` before the initial population is told, then
        ``steps - 1`` down to 0 (finished: ``ask``/``tell`` are then a no-op).
      archive: the run's query archive (:mod:`jaxnag.archive`): ``best_ops``, ``best_fitness`` (the
        best architecture evaluated so far) and ``queries`` (distinct valid architectures evaluated),
        also readable as the state's own attributes.
      lookups_seen, lookups: faithful mode only (else one word and -1): the distinct
        decoded (R, C+2) matrices evaluated, invalid ones included, which is what the
        reference's count of unique lookups measures.
      proposal: float32 ``[N, D]``, what the last ``ask`` proposed (the children).
      select_key: the key ``tell`` selects survivors with (drawn by ``ask``).

    Examples:
      >>> import jax
      >>> from jaxnag import ednag, spaces
      >>> space, cfg = spaces.get("nb201"), ednag.Config(population=8, steps=5)
      >>> s = jax.eval_shape(lambda k: ednag.init(k, space, cfg), jax.random.key(0))  # shapes only
      >>> s.x.shape, s.ops.shape, s.fitness.shape, s.t.dtype  # D = R x C = 6 x 5 in the default mode
      ((8, 30), (8, 6), (8,), dtype('int32'))
    """

    x: jax.Array
    ops: jax.Array
    fitness: jax.Array
    t: jax.Array
    archive: archive_lib.Archive
    lookups_seen: jax.Array
    lookups: jax.Array
    proposal: jax.Array
    select_key: jax.Array


# ----------------------------------------------------------------------------- layout
def dim(space: SearchSpace, config: Config) -> int:
    """Length D of one individual's vector: ``R * C``, or ``(R + 2) * (C + 2)`` in the faithful layout.

    Examples:
      >>> from jaxnag import ednag, spaces
      >>> s = spaces.get("nb201")  # 6 slots x 5 choices
      >>> ednag.dim(s, ednag.Config()), ednag.dim(s, ednag.Config(faithful=True))
      (30, 56)
    """
    r, c = space.shape
    return (r + 2) * (c + 2) if config.faithful else r * c


def decode(x: jax.Array, space: SearchSpace, config: Config) -> tuple[jax.Array, jax.Array]:
    """``x [N, D]`` -> ``(ops [N, R], valid [N])`` by argmax.

    Faithful layout: rows 0 and R+1 are ignored; in rows 1..R, columns 0/1 are the
    input/output markers and an argmax there makes the architecture invalid.

    Examples:
      >>> import jax, numpy as np
      >>> from jaxnag import ednag, spaces
      >>> s = spaces.get("nb201")
      >>> x = np.eye(5, dtype=np.float32)[[3, 3, 1, 0, 2, 4]].reshape(1, 30)  # [N, R * C]: one-hot rows
      >>> ops, valid = jax.jit(lambda x: ednag.decode(x, s, ednag.Config()))(x)
      >>> ops.tolist(), valid.tolist()
      ([[3, 3, 1, 0, 2, 4]], [True])
      >>> faithful = jax.jit(lambda x: ednag.decode(x, s, ednag.Config(faithful=True)))
      >>> faithful(np.zeros((1, 56), np.float32))[1].tolist()  # every row's argmax is its input marker: invalid
      [False]
    """
    r, c = space.shape
    n = x.shape[0]
    if not config.faithful:
        ops = space.from_one_hot(x.reshape(n, r, c))
        return ops, space.is_valid(ops)
    am = _faithful_argmax(x, space)
    ops = jnp.maximum(am - 2, 0).astype(jnp.int32)
    return ops, jnp.all(am >= 2, axis=-1) & space.is_valid(ops)


def encode(ops: jax.Array, space: SearchSpace, config: Config) -> jax.Array:
    """The inverse of :func:`decode`: ``ops [N, R]`` -> ``x [N, D]``, one-hot in ``config``'s layout,
    min-max normalised as the population is (:func:`denoise.normalize`), so ``decode(encode(ops))``
    gives ``ops``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag import ednag, spaces
      >>> s, cfg = spaces.get("nb201"), ednag.Config()
      >>> ops = jnp.array([[3, 3, 1, 0, 2, 4]])
      >>> ednag.decode(ednag.encode(ops, s, cfg), s, cfg)[0].tolist()
      [[3, 3, 1, 0, 2, 4]]
    """
    ops = jnp.asarray(ops, jnp.int32).reshape(-1, space.num_slots)
    r, c = space.shape
    if config.faithful:
        grid = jnp.zeros((ops.shape[0], r + 2, c + 2), jnp.float32)
        rows = jnp.broadcast_to(jnp.arange(1, r + 1), ops.shape)
        grid = grid.at[jnp.arange(ops.shape[0])[:, None], rows, ops + 2].set(1.0)
        x = grid.reshape(ops.shape[0], -1)
    else:
        x = space.one_hot(ops).astype(jnp.float32).reshape(ops.shape[0], r * c)
    return denoise.normalize(x)


def warm_start(key: jax.Array, space: SearchSpace, config: Config, ops: jax.Array, noise: float = 0.1) -> State:
    """:func:`init` with the population's first rows at known architectures ``ops [k, R]`` (k <= N):
    :func:`encode` plus Gaussian noise of scale ``noise`` (the rest drawn as in :func:`init`); the first
    :func:`ask` proposes them. A warm start from earlier results or another task's best.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import ednag, spaces
      >>> s, cfg = spaces.get("nb201"), ednag.Config(population=8)
      >>> st = ednag.warm_start(jax.random.key(0), s, cfg, jnp.array([[3, 3, 1, 0, 2, 4]]), noise=0.0)
      >>> st.ops[0].tolist()
      [3, 3, 1, 0, 2, 4]
    """
    ops = space.check(ops) if is_concrete(ops) else jnp.asarray(ops, jnp.int32)
    ops = jnp.asarray(ops).reshape(-1, space.num_slots)
    if ops.shape[0] > config.population:
        raise ConfigError(f"warm_start takes at most population ({config.population}) architectures, got "
                          f"{ops.shape[0]}")
    k_init, k_noise = rng.split(key)
    state = init(k_init, space, config)
    start = denoise.normalize(encode(ops, space, config) + noise * rng.normal(
        k_noise, (ops.shape[0], state.x.shape[1])))
    x = state.x.at[:ops.shape[0]].set(start)
    new_ops, _ = decode(x, space, config)
    return state._replace(x=x, ops=new_ops, proposal=x)


def _faithful_argmax(x: jax.Array, space: SearchSpace) -> jax.Array:
    """Faithful layout: per row 1..R, the argmax over (input, output, choices...)."""
    r, c = space.shape
    grid = x.reshape(x.shape[0], r + 2, c + 2)[:, 1:-1, :]
    mask = jnp.concatenate([jnp.ones((r, 2), bool), jnp.asarray(space.choice_mask)], axis=1)
    return jnp.argmax(jnp.where(mask, grid, -jnp.inf), axis=-1)


def _faithful_shaped(f: jax.Array, config: Config) -> jax.Array:
    """The reference's ``rescale(task_scale * f)``, where it scored a failure as accuracy 0: a failure
    here gets ``min(0, lowest rescaled success)``, which is the reference's value on accuracy tables
    and never lets a failure outrank a real (possibly negative) measurement."""
    g = shaping.rescale(config.task_scale * f)
    ok = jnp.isfinite(f)
    floor = jnp.minimum(0.0, jnp.min(jnp.where(ok, g, jnp.inf)))
    return jnp.where(ok, g, floor)


def _first_objective(f: jax.Array) -> jax.Array:
    """A population's fitness ``[N]``, or its first objective's of ``[N, M]`` (the archive's best and the traces)."""
    return f[:, 0] if f.ndim == 2 else f


def _standing(f: jax.Array) -> jax.Array:
    """Each row's Pareto standing among the rows of ``f [n, M]``, ties between different vectors (a front's
    two extremes both stand at 1) broken by the first objective (a term of at most 1e-3), so that
    selection's elites, which skip a value equal to the one before, skip only a repeated vector."""
    first = f[:, 0]
    lo, hi = jnp.nanmin(first), jnp.nanmax(first)
    return pareto.standing(f) + 1e-3 * jnp.where(hi > lo, (first - lo) / jnp.where(hi > lo, hi - lo, 1.0), 0.0)


def _log_weights(f: jax.Array, config: Config) -> jax.Array:
    if f.ndim == 2:  # a vector fitness: each row's Pareto standing among these rows
        f = _standing(f)
    if config.faithful:
        return shaping.log_energy(_faithful_shaped(f, config), config.temperature)
    g = shaping.SHAPINGS[config.shaping](config.task_scale * f)
    return jnp.where(jnp.isfinite(f), g / config.temperature, -jnp.inf)


def _selection_fitness(f: jax.Array, config: Config) -> jax.Array:
    if config.faithful:
        return _faithful_shaped(f, config)
    # The x0 weights' energy, scaled to a maximum of 1 (failures 0): scale-free like the
    # shaping, and as steep near the top as the reference's rescale, so selection keeps
    # its pressure (plain ranks in [0, 1] made the roulette nearly uniform).
    log_w = _log_weights(f, config)
    top = jnp.max(log_w)
    return jnp.where(jnp.isfinite(top), jnp.exp(log_w - top), 0.0)  # all failed: all 0


def _lookup_space(space: SearchSpace, config: Config) -> int:
    """Number of distinct decoded faithful matrices, or 0 where they are not counted."""
    r, c = space.shape
    size = (c + 2) ** r
    return size if config.faithful and size <= _MAX_TRACKED else 0


def _track_lookups(lookups_seen, lookups, x, space, config):
    if not _lookup_space(space, config):
        return lookups_seen, lookups
    r, c = space.shape
    ids = _faithful_argmax(x, space) @ (c + 2) ** jnp.arange(r - 1, -1, -1)
    lookups_seen, new = queries_lib.mark(lookups_seen, ids, jnp.ones(x.shape[0], bool))
    return lookups_seen, lookups + new


# ----------------------------------------------------------------------------- API
def _check(fitness, space: SearchSpace, config: Config):
    if not isinstance(space, SearchSpace):
        raise TypeError(f"space must be a SearchSpace (jaxnag.spaces.get(name)), got {type(space).__name__}")
    if not isinstance(config, Config):
        raise TypeError(f"config must be an ednag.Config, got {type(config).__name__}")
    if fitness is not None and not callable(fitness):
        raise TypeError("fitness must be a function ops [..., R] -> [...]")
    table_space = getattr(getattr(fitness, "info", None), "space", None)
    if table_space is not None and table_space is not space:
        raise ConfigError(f"fitness table is for space {table_space.name}, not {space.name}")


def init(key: jax.Array, space: SearchSpace, config: Config) -> State:
    """Draw the initial population ``x ~ N(0, I)`` of shape ``[N, D]``; the first :func:`ask`
    proposes it for evaluation.

    Examples:
      >>> import jax
      >>> from jaxnag import ednag, spaces
      >>> s, cfg = spaces.get("nb201"), ednag.Config(population=8, steps=5)
      >>> st = jax.eval_shape(lambda k: ednag.init(k, s, cfg), jax.random.key(0))  # shapes only
      >>> st.x.shape, st.ops.shape, st.fitness.shape, str(st.ops.dtype)
      ((8, 30), (8, 6), (8,), 'int32')
    """
    _check(None, space, config)
    n = config.population
    x = rng.normal(key, (n, dim(space, config)))
    ops, _ = decode(x, space, config)
    n_matrices = _lookup_space(space, config)
    # a space too large for a bit set keeps a hash set of every architecture the run can evaluate
    return State(x, ops, jnp.full((n, *value_shape(config.num_objectives)), jnp.nan, jnp.float32),
                 jnp.int32(config.steps),
                 archive_lib.init(space, n * config.steps),
                 queries_lib.empty(n_matrices or 1), jnp.int32(0 if n_matrices else -1), x, key)


def _children(keys, state: State, space: SearchSpace, config: Config) -> jax.Array:
    """One denoising step from level ``t`` to ``t - 1``: weights, x0, DDIM, mutation."""
    k_ddim, k_mut = keys
    alphas = schedules.get(config.schedule, config.steps)
    t = jnp.clip(state.t, 1, config.steps - 1)
    a_t, a_prev = alphas[t], alphas[t - 1]
    # the named scopes label the profile of benchmarks/ednag_speed.py --profile
    with jax.named_scope("ednag_x0"):
        log_w = _log_weights(state.fitness, config)
        if config.faithful:
            x0 = denoise.weighted_x0_faithful(state.x, jnp.exp(log_w), a_t)
            index = jnp.where(state.t == config.steps - 1, 8.0, config.mutation_index)
            eta = jnp.where(a_t > 0, config.noise, 0.0)  # the reference's sigma is 0 at alpha_t = 0
        else:
            x0 = denoise.weighted_x0_log(state.x, log_w, a_t)
            index = config.mutation_index
            eta = config.noise
    with jax.named_scope("ednag_ddim"):
        x = denoise.normalize(denoise.ddim_step(k_ddim, state.x, x0, a_t, a_prev, eta))
    with jax.named_scope("ednag_mutation"):
        return denoise.normalize(mutation.polynomial(k_mut, x, config.mutation_rate, index,
                                                     per_gene=not config.faithful))


def _check_running(state: State, config: Config) -> None:
    if is_concrete(state.t) and int(state.t) <= 0:
        raise ConfigError(f"this EDNAG run is finished: all {config.steps} rounds were told (t = 0); "
                          "start a new one with init")


def ask(key: jax.Array, state: State, space: SearchSpace, config: Config) -> tuple[jax.Array, State]:
    """Propose ``N`` architectures to evaluate: the initial population first, then the children
    of one denoising step. Returns ``(ops [N, R], state)``; pass their fitness to :func:`tell`.

    Past the last step (``t = 0``) it raises where ``t`` is concrete; under ``jit`` it is a
    no-op that proposes the current population again (and :func:`tell` changes nothing).

    Examples:
      >>> import jax
      >>> from jaxnag import ednag, spaces
      >>> s, cfg = spaces.get("nb201"), ednag.Config(population=8, steps=5)
      >>> ask = lambda k: ednag.ask(k, ednag.init(k, s, cfg), s, cfg)
      >>> ops, st = jax.eval_shape(ask, jax.random.key(0))  # shapes only
      >>> ops.shape, str(ops.dtype), st.proposal.shape
      ((8, 6), 'int32', (8, 30))
    """
    _check_running(state, config)
    k_ddim, k_mut, k_sel = rng.split(key, 3)
    initial = state.t >= config.steps
    running = (state.t > 0) & ~initial
    x = jnp.where(running, _children((k_ddim, k_mut), state, space, config), state.x)
    with jax.named_scope("ednag_decode"):
        ops, _ = decode(x, space, config)
    finished = state.t <= 0
    return ops, jax.lax.cond(finished, lambda: state, lambda: state._replace(proposal=x, select_key=k_sel))


def tell(state: State, values: jax.Array, space: SearchSpace, config: Config) -> State:
    """Take the fitness ``values [N]`` (``[N, M]`` for ``num_objectives`` = M) of the architectures the last
    :func:`ask` proposed and keep ``N`` of parents and children (the initial population is kept as it is).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import ednag, errors, spaces
      >>> s, cfg = spaces.get("nb201"), ednag.Config(population=8, steps=5)
      >>> st = jax.eval_shape(lambda k: ednag.init(k, s, cfg), jax.random.key(0))  # shapes only
      >>> jax.eval_shape(lambda st, v: ednag.tell(st, v, s, cfg), st, jnp.zeros(8)).fitness.shape
      (8,)
      >>> try:
      ...     ednag.tell(st, jnp.zeros(3), s, cfg)
      ... except errors.ConfigError as e:
      ...     print(e)
      tell takes one fitness value per proposed architecture: shape (8,), got (3,)
    """
    n, m = config.population, config.num_objectives
    values = jnp.asarray(values, jnp.float32)
    if values.shape != state.fitness.shape:
        what = "value" if m == 1 else f"vector of {m} objectives"
        raise ConfigError(f"tell takes one fitness {what} per proposed architecture: shape "
                          f"{state.fitness.shape}, got {values.shape}")
    x = state.proposal
    with jax.named_scope("ednag_decode"):
        ops, valid = decode(x, space, config)
    # A failed evaluation (NaN/inf, or an invalid decode) stays NaN in every mode: it is never a score.
    ok = valid & (jnp.all(jnp.isfinite(values), axis=-1) if m > 1 else jnp.isfinite(values))
    f = jnp.where(ok[:, None] if m > 1 else ok, values, jnp.nan)
    initial = state.t >= config.steps
    finished = state.t <= 0
    with jax.named_scope("ednag_archive"):
        archive, _ = archive_lib.insert(state.archive, ops, _first_objective(f), space, admit=valid)
        lookups_seen, lookups = _track_lookups(state.lookups_seen, state.lookups, x, space, config)
    with jax.named_scope("ednag_selection"):
        pool_x = jnp.concatenate([state.x, x])
        pool_f = jnp.concatenate([state.fitness, f])
        select = selection.select_reference if config.faithful else selection.select
        idx = select(state.select_key, pool_x, _selection_fitness(pool_f, config), n, config.elite_rate,
                     config.diversity_rate)
        pool_ops = jnp.concatenate([state.ops, ops])
        keep = (jnp.where(initial, x, pool_x[idx]), jnp.where(initial, ops, pool_ops[idx]),
                jnp.where(initial, f, pool_f[idx]))
    told = State(*keep, jnp.where(initial, config.steps - 1, state.t - 1).astype(jnp.int32), archive,
                 lookups_seen, lookups, state.proposal, state.select_key)
    return unless_finished(finished, state, told)


def step(key: jax.Array, state: State, fitness: Callable, space: SearchSpace, config: Config) -> State:
    """:func:`ask`, evaluate ``fitness`` on the proposals (``ops [N, R] -> [N]``), :func:`tell`: one round.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import ednag, spaces
      >>> s, cfg = spaces.get("nb201"), ednag.Config(population=8, steps=5)
      >>> fitness = lambda ops: jnp.sum(ops == 3, axis=-1).astype(jnp.float32)
      >>> st = jax.eval_shape(lambda k: ednag.init(k, s, cfg), jax.random.key(0))  # shapes only
      >>> after = jax.eval_shape(lambda k, st: ednag.step(k, st, fitness, s, cfg), jax.random.key(1), st)
      >>> jax.tree.structure(after) == jax.tree.structure(st), after.x.shape  # a lax.scan carry
      (True, (8, 30))
    """
    _check(fitness, space, config)
    ops, state = ask(key, state, space, config)
    with jax.named_scope("ednag_fitness"):
        values = evaluate(fitness, ops, config.num_objectives)
    return tell(state, values, space, config)


def generate(key: jax.Array, fitness: Callable, space: SearchSpace, config: Config = Config()) -> Result:
    """A full EDNAG run: the initial population, then ``steps - 1`` denoising steps under ``lax.scan``.

    Returns a :class:`jaxnag.protocol.Result` with one trace entry per round (``steps``) and
    extras ``mean_trace`` (mean finite fitness of the population per round), ``lookups``
    (faithful mode: distinct decoded matrices, else -1), ``final_ops``, ``final_fitness``.

    Jittable and vmappable over ``key``, over a batched ``config`` (its leaves) and
    over a stacked :class:`jaxnag.tables.Table` passed as ``fitness``.

    Args:
      key: PRNG key.
      fitness: ``ops [N, R] -> [N]``, higher is better; NaN/inf = failed evaluation (``[N, M]`` with
        ``config.num_objectives`` = M: the trace and ``mean_trace`` are then the first objective's).
      space: the search space.
      config: hyperparameters.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import ednag, spaces
      >>> s, cfg = spaces.get("nb201"), ednag.Config(population=8, steps=5)
      >>> fitness = lambda ops: jnp.sum(ops == 3, axis=-1).astype(jnp.float32)
      >>> res = jax.eval_shape(lambda k: ednag.generate(k, fitness, s, cfg), jax.random.key(0))  # shapes only
      >>> res.best_ops.shape, res.best_trace.shape, res.extras["mean_trace"].shape, res.extras["final_ops"].shape
      ((6,), (5,), (5,), (8, 6))
    """
    _check(fitness, space, config)
    k0, key = rng.split(key)
    state = init(k0, space, config)
    state = tell(state, evaluate(fitness, state.ops, config.num_objectives), space, config)  # the initial population

    def body(s, k):
        s = step(k, s, fitness, space, config)
        return s, (s.best_fitness, shaping.finite_mean(_first_objective(s.fitness)), s.queries)

    first = (state.best_fitness, shaping.finite_mean(_first_objective(state.fitness)), state.queries)
    state, (best, mean, queries) = jax.lax.scan(body, state, rng.split(key, config.steps - 1))
    cat = lambda a, b: jnp.concatenate([jnp.reshape(a, (1,)), b])  # noqa: E731
    return trace_result(state.best_ops, state.best_fitness, state.queries, cat(first[0], best), cat(first[2], queries),
                        mean_trace=cat(first[1], mean), lookups=state.lookups, final_ops=state.ops,
                        final_fitness=state.fitness)


def done(state: State, config: Config) -> jax.Array:
    """Whether all ``steps`` rounds (the initial population and ``steps - 1`` denoising steps) were told:
    a bool scalar, true once ``state.t`` reaches 0.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import ednag, spaces
      >>> s, cfg = spaces.get("nb201"), ednag.Config(population=8, steps=5)
      >>> st = jax.eval_shape(lambda k: ednag.init(k, s, cfg), jax.random.key(0))  # shapes only; done reads t
      >>> bool(ednag.done(st._replace(t=jnp.int32(cfg.steps)), cfg)), bool(ednag.done(st._replace(t=jnp.int32(0)), cfg))
      (False, True)
    """
    return state.t <= 0
