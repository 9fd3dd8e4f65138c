"""The registry of generators: every method jaxnag runs, behind one protocol (:mod:`jaxnag.protocol`).

The command line, the tests and the benchmarks iterate over :func:`names` / :func:`get`;
each :class:`~jaxnag.protocol.Generator` says which settings it takes (the CLI's flags),
builds its checked ``Config`` from them, and names the context it needs besides the
fitness (PG-NAG's ``source`` table, DiffusionNAG's ``score_model``).

Examples:
  >>> import jax
  >>> from jaxnag import registry, spaces, tables
  >>> space, t = spaces.get("nasbench_graph"), tables.load("nasbench_graph", "cora")
  >>> for name in ("ednag", "random", "rea"):
  ...     gen = registry.get(name)
  ...     run = lambda k: gen.generate(k, t, space, gen.config(space, **gen.small))  # noqa: E731
  ...     res = jax.eval_shape(run, jax.random.key(0))  # shapes only (tests/test_protocol.py runs them)
  ...     print(name, res.best_ops.shape)
  ednag (5,)
  random (5,)
  rea (5,)
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from .errors import ConfigError, UnknownName, check_int, renamed
from .protocol import Generator

__all__ = ["DEPRECATED", "SURROGATE_SETTINGS", "Setting", "budget_form", "compose", "deprecation_note", "get", "names",
           "pgnag_budgeted", "register", "settings"]


@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting of a generator (a CLI flag ``--name-with-dashes``).

    ``context=True`` marks a setting that names the generator's context (a table to score,
    a checkpoint folder) rather than a config field.

    Examples:
      >>> from jaxnag import registry
      >>> s = registry.settings("random")["budget"]  # the CLI's --budget of random search
      >>> s.default, s.type.__name__, s.help, s.context
      (300, 'int', 'unique queries', False)
      >>> registry.settings("evosax")["strategy"].choices  # the only values --strategy takes
      ('DiffusionEvolution', 'SimpleGA', 'CMA_ES')
    """

    default: object
    type: type = int
    help: str = ""
    choices: tuple | None = None
    context: bool = False


# ----------------------------------------------------------------------------- old names
DEPRECATED = {"tau": "temperature"}  # old setting name -> its name now (accepted, with a note, for one release)


def deprecation_note(old: str, new: str, prefix: str = "") -> str:
    """The one line said when an old setting name is used.

    Examples:
      >>> from jaxnag import registry
      >>> registry.deprecation_note("tau", "temperature", "--").split(":")[1].strip()
      '--tau is deprecated'
    """
    return (f"jaxnag: {prefix}{old} is deprecated: use {prefix}{new} (settings are named after the Config fields; "
            "the old name goes in the next release)")


def _deprecated(old_value, old: str, new: str, value):
    """``value``, or ``old_value`` given under the ``old`` name (with a DeprecationWarning)."""
    if old_value is None:
        return value
    import warnings
    warnings.warn(deprecation_note(old, new), DeprecationWarning, stacklevel=3)
    if value is not None:
        raise ConfigError(f"{old} and {new} are one setting: give {new} only")
    return old_value


# ----------------------------------------------------------------------------- the generators
def _ednag() -> Generator:
    from . import ednag

    def config(space, population=None, steps=None, faithful=False, reference=False, num_objectives=1, **fields):
        base = ednag.Config.faithful_reference() if faithful else \
            ednag.Config.reference() if reference else ednag.Config()
        if num_objectives > 1 and not (faithful or reference):
            fields = {**EDNAG_PARETO, **fields}
        sized = {k: v for k, v in dict(population=population, steps=steps).items() if v is not None}
        return base.replace(**sized, num_objectives=num_objectives, **fields)

    default, ref = ednag.Config(), ednag.REFERENCE
    return Generator(
        "ednag", "EDNAG: evolutionary diffusion, training-free (Zhou et al. 2025)", ednag.Config, config,
        dict(population=Setting(None, help=f"population N (default {default.population})"),
             steps=Setting(None, help=f"T: the initial population and T-1 denoising steps (default {default.steps}; "
                                      f"{ref['steps']} with --faithful or --reference)"),
             faithful=Setting(False, bool, "reproduce the reference code's behaviour and hyperparameters"),
             reference=Setting(False, bool, "the reference configuration's hyperparameters (T 100, elite rate 0.1, "
                                            "diversity rate 0.2, mutation index 5) in the default mode"),
             num_objectives=Setting(1, help="objectives M of the fitness (set by --objectives; M > 1: elite rate "
                                            f"{EDNAG_PARETO['elite_rate']} unless given)")),
        # told the vectors on a vector fitness (its population ranks itself afresh each step): a higher hypervolume
        # at 1,000 queries than told each query's Pareto standing as a scalar on 10 of 11 problems (pareto_ednag.md)
        ednag.init, ednag.ask, ednag.tell, ednag.generate, ednag.done, small=dict(population=8, steps=5),
        budgeted=EDNAG_BUDGETED, takes_vectors=True)


# EDNAG on a vector fitness: elite rate 0.8 (docs/pareto_ednag_sweep.md: higher at 1,000 queries on 10 of 11 problems
# than 0.5, on 50 seeds; docs/pareto_ednag_fresh.md: on 11 of 11, on 100 seeds the sweep did not see)
EDNAG_PARETO = dict(elite_rate=0.8)
# EDNAG's query-efficient form (docs/predictors.md: chosen by `benchmarks/predictors.py --choose`): the online
# surrogate with a Gaussian process and UCB, 5 of 30 children evaluated per step, local search around the 10 best
# and 5 random candidates as the last resort; the GP on the values' normal scores (gp_rank: docs/predictors_warp.md,
# chosen on seeds from key 1 in docs/predictors_warp_choice.md)
EDNAG_BUDGETED = dict(population=30, steps=400, reference=True, query=5, local=10, explore=5, predictor="gp_rank",
                      acquisition="ucb", beta=2.0)
# PG-NAG's (docs/budget.md): its prior scored on 20 target queries, rescored after every round of 2
PGNAG_BUDGETED = dict(k=5, prior_budget=20, prior_method="loo", sampler="direct", samples=2, rounds=5000,
                      iterative=True, sharpness=8.0)


def pgnag_budgeted(space, budget: int) -> dict:
    """PG-NAG's query-efficient form for ``budget`` unique queries on ``space``: :data:`PGNAG_BUDGETED`, with
    ``k`` and then ``prior_budget`` lowered (to 1 at least) until scoring the prior (the draws and the
    leave-one-out coalitions, :meth:`jaxnag.pgnag.Config.init_queries`) takes at most half the budget. Where even
    that does not fit the budget, :func:`jaxnag.budget.with_budget` refuses the run before compiling it.

    Examples:
      >>> from jaxnag import registry, spaces
      >>> def f(name, budget):
      ...     form = registry.pgnag_budgeted(spaces.get(name), budget)
      ...     return {k: form[k] for k in ("k", "prior_budget")}
      >>> f("nb201", 300), f("nb201", 20), f("darts", 100)  # 6 and 28 components
      ({'k': 5, 'prior_budget': 20}, {'k': 1, 'prior_budget': 4}, {'k': 1, 'prior_budget': 20})
    """
    from .pgnag import Config
    form, half = dict(PGNAG_BUDGETED), int(budget) // 2
    def spend():
        return Config(k=form["k"], prior_budget=form["prior_budget"], prior_method="loo").init_queries(space)
    while form["k"] > 1 and spend() > half:
        form["k"] -= 1
    if spend() > half:  # the coalitions of the top-1 and as many draws as fit (one at least)
        form["prior_budget"] = max(1, half - (spend() - form["prior_budget"]))
    return form


def _random() -> Generator:
    from .baselines import random_sampling as rs

    def config(space, budget=300, batch=None):
        space.check_budget(budget)
        return rs.Config(budget, batch)

    return Generator("random", "random search: distinct uniform architectures", rs.Config, config,
                     dict(budget=Setting(300, help="unique queries"),
                          batch=Setting(None, help="architectures per ask/tell round [the whole budget]")),
                     rs.init, rs.ask, rs.tell, rs.generate, rs.done, small=dict(budget=20, batch=10))


def _rea() -> Generator:
    from .baselines import regularized_evolution as rea

    def config(space, budget=300, population=50, sample=10, max_cycles=None):
        space.check_budget(budget)
        return rea.Config(budget, population, sample, max_cycles)

    return Generator("rea", "regularized evolution (Real et al. 2019)", rea.Config, config,
                     dict(budget=Setting(300, help="unique queries"), population=Setting(50, help="population P"),
                          sample=Setting(10, help="tournament size S"),
                          max_cycles=Setting(None, int, help="mutation cycles at most [50 x budget]")),
                     rea.init, rea.ask, rea.tell, rea.generate, rea.done, small=dict(budget=30, population=10, sample=3))


def _nsga2() -> Generator:
    from .baselines import nsga2

    def config(space, budget=300, population=50, num_objectives=1, crossover=0.9, mutation=None, screen=1,
               ridge=1e-2):
        space.check_budget(budget)
        return nsga2.Config(budget, population, num_objectives, crossover, mutation, screen, ridge)

    return Generator("nsga2", "NSGA-II (Deb et al. 2002): non-dominated sorting GA, vector or scalar fitness",
                     nsga2.Config, config,
                     dict(budget=Setting(300, help="unique queries"), population=Setting(50, help="population P"),
                          num_objectives=Setting(1, help="objectives M of the fitness (set by --objectives)"),
                          crossover=Setting(0.9, float, help="uniform crossover probability"),
                          mutation=Setting(None, float, help="per-slot mutation probability [1/R]"),
                          screen=Setting(1, help="children bred per child evaluated, pre-selected by a ridge "
                                                 "surrogate per objective (1: plain NSGA-II)"),
                          ridge=Setting(1e-2, float, help="--screen: the surrogate's L2 penalty")),
                     nsga2.init, nsga2.ask, nsga2.tell, nsga2.generate, nsga2.done, takes_vectors=True,
                     needs_values=lambda state: state.to_evaluate, small=dict(budget=30, population=10))


def _local_search() -> Generator:
    from .baselines import local_search as ls

    def config(space, budget=300, num_objectives=1, initial=50, capacity=128):
        space.check_budget(budget)
        return ls.Config(budget, num_objectives, initial, capacity)

    return Generator("local_search", "Pareto local search (Paquete et al. 2004): explore the front's neighbours; "
                     "vector or scalar fitness", ls.Config, config,
                     dict(budget=Setting(300, help="unique queries"),
                          num_objectives=Setting(1, help="objectives M of the fitness (set by --objectives)"),
                          initial=Setting(50, help="random architectures before the local search"),
                          capacity=Setting(128, help="architectures the run's front holds")),
                     ls.init, ls.ask, ls.tell, ls.generate, ls.done, takes_vectors=True,
                     needs_values=lambda state: state.to_evaluate, small=dict(budget=30, initial=10))


def _evosax() -> Generator:
    from .baselines import evosax_adapter as evo

    def config(space, strategy="SimpleGA", population=30, generations=100):
        def check():  # evosax installed, strategy known
            evo.make_strategy(strategy, population, 2, generations)
        jax.eval_shape(check)  # built abstractly: its constructor's eager arithmetic compiles nothing
        return evo.Config(strategy, population, generations)

    return Generator("evosax", "an evosax strategy on the one-hot relaxation (extra: jaxnag[baselines])", evo.Config,
                     config, dict(strategy=Setting("SimpleGA", str, "evosax strategy", evo.STRATEGIES),
                                  population=Setting(30, help="population"),
                                  generations=Setting(100, help="ask/tell generations")),
                     evo.init, evo.ask, evo.tell, evo.generate, evo.done,
                     small=dict(strategy="SimpleGA", population=8, generations=4))


def _pgnag() -> Generator:
    from . import pgnag, predictors, prior, spaces, tables
    denoiser = pgnag.DenoiserTrainConfig()  # the denoiser's default size and training: the settings' defaults

    def open_context(settings, target, data_dir=None):
        source, notes = None, {}
        prior_from = settings.get("prior_from")
        if prior_from:
            benchmark, _, dataset = prior_from.partition(":")
            if not dataset:
                raise ConfigError(f"prior_from takes BENCHMARK:DATASET, got {prior_from!r}")
            source = tables.load(benchmark, dataset, data_dir=data_dir)  # how it maps: pgnag.check_transfer
            notes["source"] = source.name
            if not isinstance(target, spaces.SearchSpace) and pgnag.same_task(source, target):  # a proxy's: a space
                source = None  # the target itself: budgeted or whole-table
        return {"source": source}, notes

    def config(space, k=20, temperature=None, samples=100, rounds=1, prior_budget=None, prior_method=None,
               prior="shapley", sampler="diffusion", iterations=denoiser.iterations, d=denoiser.d,
               heads=denoiser.heads, layers=denoiser.layers, iterative=False, sharpness=1.0, denoiser_seed=None,
               predictor="ridge", memory=300, map_by="slot", op_map=None, tau=None):
        temperature = _deprecated(tau, "tau", "temperature", temperature)
        check_int("memory", memory, lo=2)
        model = None if predictor == "ridge" else predictors.get(predictor, memory=int(memory))
        if prior_budget is not None:
            space.check_budget(prior_budget, "prior_budget")
        if prior_method is None:  # exact where its coalitions are few enough (NB201: 64), else permutation sampling
            from .prior import shapley
            players = int((space.reference() >= 0).sum())
            prior_method = "exact" if players <= shapley.MAX_EXACT_PLAYERS else "mc"
        return renamed(lambda: pgnag.Config(
            k=k, prior_method=prior_method, prior_budget=prior_budget, temperature=temperature, prior=prior,
            sampler=sampler, samples=samples, rounds=rounds,
            train=pgnag.DenoiserTrainConfig(iterations=iterations, d=d, heads=heads, layers=layers),
            iterative=bool(iterative), sharpness=sharpness, denoiser_seed=denoiser_seed, predictor=model,
            map_by=map_by, op_map=_op_map(op_map) or ()),
            {"budget": "prior_budget", "method": "prior_method", "iterations": "iterations"})

    return Generator(
        "pgnag", "PG-NAG: Shapley prior + prior-limit discrete diffusion (Xie et al. 2025)", pgnag.Config, config,
        dict(k=Setting(20, help="top-k architectures scored"),
             temperature=Setting(None, float, "prior temperature [std of the scores] (was --tau)"),
             samples=Setting(100, help="architectures generated per round"),
             rounds=Setting(1, help="generation rounds"),
             prior_budget=Setting(None, int, "score the top-k of B random target queries"),
             prior_from=Setting(None, str, "BENCHMARK:DATASET to score the prior on (transfer)", context=True),
             prior_method=Setting(None, str, "Shapley estimator [exact where it takes at most 2^16 lookups per "
                                            "architecture (NB201: 2^6), else mc]", ("exact", "mc", "loo")),
             prior=Setting("shapley", str, "prior driving generation", pgnag.PRIORS),
             sampler=Setting("diffusion", str, "denoiser or the prior itself", pgnag.SAMPLERS),
             iterations=Setting(denoiser.iterations, help="denoiser training iterations"),
             d=Setting(denoiser.d, help="denoiser width (a multiple of heads; docs/pgnag_sizes.md)"),
             heads=Setting(denoiser.heads, help="denoiser attention heads"),
             layers=Setting(denoiser.layers, help="denoiser transformer blocks"),
             iterative=Setting(False, bool, "rescore on the target's queries after every round (needs sampler "
                                            "direct)"),
             sharpness=Setting(1.0, float, "iterative: default temperature = score std / this"),
             denoiser_seed=Setting(None, int, "train one denoiser from this seed, shared by every run with the same "
                                              "training data (the seeds then differ only in their samples)"),
             predictor=Setting("ridge", str, "iterative: the model of the target that rescores the prior after every "
                                             "round (ridge: additive, in closed form)", predictors.NAMES),
             memory=Setting(300, int, "iterative: target queries the predictor holds (not ridge)"),
             map_by=Setting("slot", str, "transfer: carry each slot to the same slot (the same cell graph) or each "
                                         "op's mean over the source's slots to every target slot (any cell graphs)",
                            prior.mapping.MAP_BY),
             op_map=Setting(None, str, "transfer: TARGET=SOURCE op names where they differ, comma-separated "
                                       "(sep_conv_3x3=nor_conv_3x3,dil_conv_3x3=nor_conv_3x3)")),
        pgnag.init, pgnag.ask, pgnag.tell, pgnag.generate, pgnag.done, context=("source",),
        small=dict(k=5, prior_method="loo", samples=10, iterations=10), open_context=open_context,
        budgeted=pgnag_budgeted,
        check=lambda result, config, notes: pgnag.check(result, config, notes.get("source", "the prior's source")),
        init_on_target=_pgnag_on_target,
        report=lambda state, config: dict(missing_share=state.scoring.missing_share,
                                          train_rows=jnp.sum(state.train_kept).astype(jnp.int32)),
        describe=_describe_pgnag)


def _op_map(text) -> dict | None:
    """``"a=b,c=d"`` (the CLI's --op-map) -> ``{"a": "b", "c": "d"}``; a dict passes through."""
    if text is None or isinstance(text, dict):
        return text
    pairs = [p.split("=") for p in str(text).split(",") if p.strip()]
    if not pairs or any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise ConfigError(f"op_map takes TARGET=SOURCE op names separated by commas, got {text!r}")
    return {a.strip(): b.strip() for a, b in pairs}


def _pgnag_on_target(key, fitness, space, config):
    """PG-NAG scoring its prior on the target itself, and the target queries that made."""
    from . import pgnag
    state = pgnag.init_on_target(key, fitness, space, config)
    return state, state.archive


def _space_of(target):
    """The search space of a run's target: a table's, or the target itself where it is a space (a proxy's run)."""
    from . import spaces
    return target if isinstance(target, spaces.SearchSpace) else target.space


def _describe_pgnag(config, context, notes, target):
    """Which of PG-NAG's protocols runs, and what it reads of the target (a table, or the space of a fitness
    that is not one: a proxy's)."""
    from . import pgnag, spaces
    source, table = context["source"], None if isinstance(target, spaces.SearchSpace) else target
    proto = pgnag.protocol_of(source, config)
    if proto == "transfer":  # how the prior carries: refused here, before this line is printed and anything traced
        pgnag.check_transfer(source.info.space, _space_of(target), config)
    if proto == "whole-table" and table is None:
        raise ConfigError("pgnag scores its prior on the top-k of the whole target, and this fitness is not a table: "
                          "pass --budget B (its query-efficient form) or --prior-budget B (the top-k of B random "
                          "queries), or --prior-from BENCHMARK:DATASET (a table's prior, transferred)")
    if proto == "transfer":
        reads = f"prior scored on {source.name}; it reads nothing of the target"
    elif proto == "budgeted":
        reads = f"prior from the top-{config.k} of {config.prior_budget} random target queries (counted)"
    else:
        reads = (f"prior from the top-{config.k} of the whole target table: every one of its {len(table.info.row_ops)} "
                 "rows is counted as read, so the hit rate is not comparable with a search's (use --prior-budget B or "
                 "--prior-from)")
    line, extra = f"pgnag protocol: {proto} ({reads})", dict(protocol=proto)
    if config.denoiser_seed is not None and config.sampler == "diffusion":
        shared = proto == "transfer"  # the same training data (the source's top-k) for every run
        extra["shared_denoiser"] = shared
        line += ("; the runs share one denoiser (--denoiser-seed): they differ only in their samples" if shared else
                 "; the denoiser trains from --denoiser-seed on each run's own top-k")
    return line, extra


def _diffusionnag() -> Generator:
    from .diffusionnag import generator as dn

    def open_context(settings, target, data_dir=None):
        folder = settings.get("checkpoint")
        if not folder:
            raise ConfigError("checkpoint DIR is needed by diffusionnag: a score network folder "
                              "(train one with `jaxnag train-score`)")
        model, steps = dn.load(folder, _space_of(target))
        return {"score_model": model}, {"checkpoint": str(folder), "checkpoint_steps": steps}

    def config(space, guidance_scale=5.0, predictor_queries=300, predictor_iterations=1500, pc_steps=1000, top=5,
               round_size=256, rounds=1, loops=1, refit_iterations=0):
        if predictor_queries:
            space.check_budget(predictor_queries, "predictor_queries")
        return renamed(lambda: dn.Config(predictor_queries=predictor_queries, top=top, round_size=round_size,
                                          rounds=rounds, pc_steps=pc_steps, guidance_scale=guidance_scale,
                                          loops=loops, refit_iterations=refit_iterations,
                                          predictor=dn.PredictorConfig(iterations=predictor_iterations)),
                        {"iterations": "predictor_iterations"})

    return Generator(
        "diffusionnag", "DiffusionNAG: guided score-based diffusion (An et al. 2024)", dn.Config, config,
        dict(checkpoint=Setting(None, str, "score checkpoint folder from `jaxnag train-score`", context=True),
             guidance_scale=Setting(5.0, float, "w in s + w * grad f"),
             predictor_queries=Setting(300, help="table lookups to train the predictor (0: unguided)"),
             predictor_iterations=Setting(1500, help="predictor training iterations"),
             pc_steps=Setting(1000, help="predictor-corrector steps"),
             top=Setting(5, help="best-predicted generated architectures queried"),
             round_size=Setting(256, help="samples per guided round"),
             rounds=Setting(1, help="generation rounds"),
             loops=Setting(1, help="closed loop: generate-query-refit cycles (refits the predictor on every query)"),
             refit_iterations=Setting(0, help="closed loop: warm-start refit steps (0: a fresh predictor)")),
        # told a scalar (its Pareto standing) on a vector fitness: its vector form (Config.num_objectives, a head
        # per objective) reached a lower hypervolume in docs/pareto_dn.md
        dn.init, dn.ask, dn.tell, dn.generate, dn.done, context=("score_model",),
        small=dict(predictor_queries=20, predictor_iterations=10, pc_steps=4, round_size=8), open_context=open_context,
        check=lambda result, config, notes: dn.check(result, notes.get("checkpoint_steps"),
                                                     notes.get("checkpoint", "the score network")),
        report=lambda state, config: dict(validity=state.validity),
        # a candidate that is not a distinct valid sample (fewer exist) is a repeat whose value is ignored
        needs_values=lambda state: state.candidate_ok if isinstance(state, dn.GuidedState) else
        jnp.ones(state.ops.shape[0], bool),
        describe=lambda config, context, notes, table: (None, dict(checkpoint_steps=notes["checkpoint_steps"])))


_FACTORIES: dict[str, Callable[[], Generator]] = {
    "ednag": _ednag, "pgnag": _pgnag, "diffusionnag": _diffusionnag, "random": _random, "rea": _rea,
    "evosax": _evosax, "nsga2": _nsga2, "local_search": _local_search}


_REGISTERED: dict[str, Generator] = {}


def register(generator: Generator, *, replace: bool = False) -> Generator:
    """Register ``generator`` under its name, as the built-in ones are: it then reaches :func:`get`,
    ``jaxnag generate --method NAME`` (its :attr:`~jaxnag.protocol.Generator.settings` become flags),
    ``jaxnag bench`` grids and :func:`jaxnag.parallel.run`. Returns ``generator``.

    Raises:
      ConfigError: the name is taken and ``replace`` is False, or ``generator`` is not a Generator.

    Examples:
      >>> import dataclasses
      >>> from jaxnag import registry
      >>> mine = dataclasses.replace(registry.get("random"), name="random_doc")
      >>> registry.register(mine, replace=True) is registry.get("random_doc")
      True
    """
    if not isinstance(generator, Generator):
        raise ConfigError(f"register takes a jaxnag.protocol.Generator (see jaxnag.protocol.generator), got "
                          f"{type(generator).__name__}")
    name = generator.name
    if not name or not name.replace("_", "").isalnum():
        raise ConfigError(f"a generator name is one word of letters, digits and _, got {name!r}")
    if (name in _FACTORIES or name in _REGISTERED) and not replace and _REGISTERED.get(name) is not generator:
        raise ConfigError(f"generator name {name!r} is taken (pass replace=True to replace it)")
    _REGISTERED[name] = generator
    get.cache_clear()
    return generator


def _plugins() -> dict:
    from . import plugins
    return plugins.entry_points("jaxnag.generators")


def names() -> tuple[str, ...]:
    """The registered generators (built-in, registered, and installed plugins'), the built-in ones first.

    Examples:
      >>> from jaxnag import registry
      >>> registry.names()[:8]
      ('ednag', 'pgnag', 'diffusionnag', 'random', 'rea', 'evosax', 'nsga2', 'local_search')
    """
    own = tuple(_FACTORIES) + tuple(n for n in _REGISTERED if n not in _FACTORIES)
    return own + tuple(n for n in _plugins() if n not in own)


@functools.cache
def get(name: str) -> Generator:
    """The generator called ``name`` (imports its modules on first use)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in _FACTORIES:
        return _FACTORIES[name]()
    found = _plugins()
    if name not in found:
        raise UnknownName(f"unknown generator {name!r}; available: {', '.join(names())}")
    from . import plugins
    gen = plugins.load("jaxnag.generators", name, Generator)
    if gen.name != name:
        raise ConfigError(f"plugin jaxnag.generators:{name} gives a generator named {gen.name!r}")
    return register(gen, replace=True)


# the online surrogate's settings (jaxnag.surrogate)
SURROGATE_SETTINGS = ("query", "local", "ridge", "fresh", "predictor", "acquisition", "beta", "memory", "joint",
                      "explore")


def compose(method, settings: dict) -> Generator:
    """The generator a run's ``settings`` ask for: ``method`` (a name or a Generator) with the online
    surrogate where a surrogate setting is given (:data:`SURROGATE_SETTINGS`: :mod:`jaxnag.surrogate`), then under a query budget where ``budget`` is given to a method without a
    budget of its own (:mod:`jaxnag.budget`). What ``jaxnag generate`` and ``jaxnag bench`` run; pass the
    same ``settings`` to its ``config``.

    Examples:
      >>> from jaxnag import registry, spaces
      >>> gen = registry.compose("ednag", dict(budget=100, query=5, population=10))
      >>> gen.description.endswith("(online surrogate) (query budget)")
      True
      >>> cfg = gen.config(spaces.get("nb201"), budget=100, query=5, population=10)
      >>> registry.compose("rea", dict(budget=100)) is registry.get("rea")  # REA has a budget of its own
      True
    """
    gen = get(method) if isinstance(method, str) else method
    if not isinstance(gen, Generator):
        raise ConfigError(f"compose takes a generator or its name, got {type(method).__name__}")
    own = set(gen.settings)
    if any(k in settings and k not in own for k in SURROGATE_SETTINGS):
        from . import surrogate
        gen = surrogate.with_surrogate(gen)
    if "budget" in settings and "budget" not in own:
        from . import budget
        gen = budget.with_budget(gen)
    return gen


def budget_form(method, settings: dict, given, budget: int, space=None) -> dict:
    """``settings`` with the query-efficient form of ``method`` (``Generator.about.budgeted``) filled in for
    every name not in ``given`` (the names the user set; a ``predictor`` given keeps its own acquisition),
    for a run of ``budget`` unique queries on ``space`` (needed where the form depends on it: PG-NAG's); a
    Gaussian process surrogate holds the whole run (``memory`` = the budget) unless ``memory`` is given.

    Examples:
      >>> form = budget_form("ednag", dict(population=None), {"population"}, 300)
      >>> form["population"], form["predictor"], form["memory"]
      (None, 'gp_rank', 300)
      >>> budget_form("rea", dict(population=50), set(), 300)  # REA has no other form
      {'population': 50}
    """
    gen = get(method) if isinstance(method, str) else method
    skip = set(given) | ({"acquisition", "beta"} if "predictor" in given else set())  # the user's own model
    out = dict(settings)
    form = gen.about.budgeted
    if callable(form):
        if space is None:
            raise TypeError(f"{gen.name}'s budgeted form depends on the space: pass space=")
        form = form(space, int(budget))
    out.update({k: v for k, v in form.items() if k not in skip})
    if out.get("predictor", "ridge") != "ridge" and "memory" not in given:
        out["memory"] = max(int(budget), 2)
    return out


def settings(name: str) -> dict[str, Setting]:
    """The settings of a generator (its CLI flags), with defaults: ``{name: Setting}``.

    Examples:
      >>> from jaxnag import registry
      >>> s = registry.settings("rea")
      >>> sorted(s), s["population"].default, s["population"].type.__name__
      (['budget', 'max_cycles', 'population', 'sample'], 50, 'int')
    """
    return get(name).settings
