"""The ``jaxnag`` command line: a thin layer over the library.

Every flag is checked before anything is compiled or trained. A user error (a bad flag,
an unknown name, missing or corrupt data, a checkpoint that does not fit) is one line on
stderr and exit status 2; Ctrl-C is one line and status 130. A bug in jaxnag still shows
its traceback; ``--debug`` shows it for user errors too.

Examples:
  jaxnag spaces
  jaxnag benchmarks --data-dir ../shared/data
  jaxnag generate --method ednag --benchmark nasbench_graph --dataset cora --seeds 10 --json
  jaxnag generate --method rea --benchmark nb201 --dataset cifar10 --budget 300 --data-dir DIR
  jaxnag generate --method ednag --benchmark hw360 --dataset cifar100 --constraint 'pi5/litert/lat_ms<=5'
  jaxnag generate --method ednag --population 10 --steps 150 --surrogate-query 5 --surrogate-local 10 --budget 300
  jaxnag generate --method random --table my.npz --metric acc --space nb201 --budget 100
  jaxnag generate --method ednag --space nb201 --proxy nwot --data images.npz
  jaxnag proxies --space nb201 --proxy synflow --out synflow.npz
  jaxnag train --arch '|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|...|' --data images.npz --epochs 20 --out DIR
  jaxnag data import-nats NATS-tss-v1_0-3ffb9-simple --out DIR/nb201.npz
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
import time

import numpy as np

from .errors import SEED_MAX, Interrupted, JaxnagError, check_int, check_range, check_seed, renamed

__all__ = ["build_parser", "main"]

DEFAULT_BENCHMARK = "nasbench_graph"  # installs from PyPI: runs on a fresh machine
SEEDS_MAX = 2**31 - 1  # runs in one call (one PRNG key each); memory is checked before anything runs


class CLIError(JaxnagError):
    """A user error found by the command line itself."""


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    def _get_help_string(self, action):  # no "(default: None)" on flags whose default is the method's
        if action.default in (None, False):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *a, **kw):
        kw.setdefault("formatter_class", _Formatter)
        super().__init__(*a, **kw)

    def error(self, message):  # one line, no usage dump
        raise CLIError(f"{self.prog}: {message} (see --help)")


def _keys(seed: int, n: int | None = None):
    """``jax.random.key(seed)``, or the runs' keys ``jax.random.split(jax.random.key(seed), n)``, made by one
    compiled program (made eagerly, they compile two or three), compiled once per ``n`` in a process."""
    return _key_maker(n)(np.uint32(seed))  # the same keys for every seed up to SEED_MAX (tested)


@functools.cache
def _key_maker(n: int | None):
    import jax
    return jax.jit((lambda s: jax.random.key(s)) if n is None else (lambda s: jax.random.split(jax.random.key(s), n)))


def _version() -> str:
    from . import __version__
    return __version__


# --------------------------------------------------------------------------- method flags
# Every generator of the registry names its settings; each is a flag --name-with-dashes. The parser's
# defaults are None, so a flag the user gave can be told from one left out, and a flag that does not
# apply to --method is refused.
def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _all_settings() -> dict:
    from . import registry
    out = {}
    for name in registry.names():
        for setting, spec in registry.settings(name).items():
            out.setdefault(setting, spec)
    return out


def _given(value) -> bool:
    """Whether a flag was given: None is an unset option and False an unset switch; 0 is a value (to check)."""
    return value is not None and value is not False


def _apply_method_flags(args) -> tuple[dict, dict]:
    """Refuse flags the method does not read; fill in the defaults of the ones it does. Returns the
    method's ``(config settings, context settings)`` (both recorded in the JSON output)."""
    from . import registry
    own = dict(registry.settings(args.method))
    if "budget" not in own and getattr(args, "budget", None) is not None:  # any method under a query budget
        own["budget"] = registry.settings("random")["budget"]
    for name in _all_settings():
        if name not in own and _given(getattr(args, name)):
            wanted = ", ".join(_flag(n) for n in own) or "none"
            raise CLIError(f"{_flag(name)} does not apply to --method {args.method} (its flags: {wanted})")
    config, context = {}, {}
    for name, spec in own.items():
        value = getattr(args, name)
        (context if spec.context else config)[name] = spec.default if value is None else value
    return config, context


def _wrapped(args, settings: dict, space):
    """``(generator, settings, note)`` for ``--method`` (:func:`jaxnag.registry.compose`): under ``--budget``,
    the method's query-efficient form for the settings not given (:func:`jaxnag.registry.budget_form`; not
    with ``--plain``; ``note`` says which, None without one); with the online surrogate when
    ``--surrogate-query`` is given (or the form has it), under a query budget when ``--budget`` is given to a
    method that has none of its own."""
    from . import registry
    surrogate = {k: v for k in _SURROGATE_FLAGS if _given(v := getattr(args, f"surrogate_{k}", None))}
    budget, note = getattr(args, "budget", None), None
    if budget is not None and not getattr(args, "plain", False):
        given = {k for k in settings if _given(getattr(args, k, None))} | set(surrogate)
        form = registry.budget_form(args.method, {}, given, budget, space)
        if form:
            flag = lambda k: _SURROGATE_FLAGS.get(k, _flag(k))  # noqa: E731
            shown = ", ".join(flag(k) if v is True else f"{flag(k)} {v}" for k, v in form.items()
                              if k not in ("beta", "memory"))
            note = (f"jaxnag: --budget {budget}: {args.method}'s query-efficient form ({shown}); --plain for its "
                    "defaults")  # said once the config is checked (_resolved)
        settings = dict(settings, **form)
    elif getattr(args, "plain", False) and budget is None:
        raise CLIError("--plain works with --budget B (it keeps the method's defaults under the budget)")
    if "query" not in surrogate and "query" not in settings and len(surrogate):
        flags = [_SURROGATE_FLAGS[k] for k in surrogate]
        verb = "work" if len(flags) > 1 else "works"
        raise CLIError(f"{', '.join(flags)} {verb} with --surrogate-query M (the online surrogate)")
    if "query" in surrogate and "local" not in surrogate and "local" not in settings:
        surrogate["local"] = 0
    settings = dict(settings, **surrogate)
    return registry.compose(args.method, settings), settings, note


_SURROGATE_FLAGS = {k: "--surrogate-" + k for k in ("query", "local", "predictor", "acquisition", "explore", "joint")}


def _build_config(gen, space, settings: dict):
    """The generator's checked config; an error about a setting names its flag."""
    return renamed(lambda: gen.config(space, **settings),
                   {name: _SURROGATE_FLAGS.get(name, _flag(name)) for name in settings})


def _resolved(settings: dict, config, note: str | None = None) -> dict:
    """``settings`` with each one left to the config (None, e.g. EDNAG's ``steps``, whose default depends on
    ``--faithful``) replaced by the config's value, so that the JSON output records what ran; prints ``note``
    (which query-efficient form ``--budget`` chose, :func:`_wrapped`) now that the config is checked."""
    if note:
        print(note, file=sys.stderr, flush=True)
    def lookup(name):
        c = config
        while not hasattr(c, name) and hasattr(c, "inner"):  # through the budget and surrogate wrappers
            c = c.inner
        return getattr(c, name, None)
    return {k: lookup(k) if v is None else v for k, v in settings.items()}


def _describe(gen, config, context: dict, notes: dict, target) -> dict:
    """Print the generator's line on what the run reads of ``target`` (a table, or a proxy's space), if it has
    one; return its fields for the JSON output."""
    line, extra = gen.describe(config, context, notes, target) if gen.describe is not None else (None, {})
    if line:
        print(f"jaxnag: {line}", file=sys.stderr, flush=True)
    return extra


def _context(args, gen, settings: dict, table) -> tuple[dict, dict]:
    """What the generator needs besides the fitness (PG-NAG's source table, DiffusionNAG's score model),
    and the notes to report; an error about a setting names its flag."""
    return renamed(lambda: gen.context_for(settings, table, args.data_dir), {n: _flag(n) for n in settings})


def _cmd_spaces(args):
    from . import spaces
    rows = []
    for name in spaces.names():
        s = spaces.get(name)
        declared = lambda idx: sorted({s.choices[i][c] for i, c in enumerate(idx) if c >= 0})  # noqa: E731
        rows.append(dict(name=name, slots=s.num_slots, choices=s.num_choices, size=s.size, ops=list(s.op_names),
                         remove=declared(s.remove), identity=declared(s.identity), baseline=declared(s.baseline),
                         description=s.description))
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print(f"{r['name']:<16} {r['slots']} slots x {r['choices']} choices, {r['size']:>6} encodings  "
              f"{r['description']}")
        sem = "".join(f"; {k}: {', '.join(r[k])}" for k in ("remove", "identity", "baseline") if r[k])
        print(f"{'':<16} ops: {', '.join(r['ops'])}{sem}")


def _cmd_benchmarks(args):
    from . import tables
    rows = tables.availability(args.data_dir)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        mark = "available" if r["available"] else ("UNREADABLE" if r["problem"] else "MISSING")
        print(f"{r['benchmark']:<15} [{mark}] space={r['space']}  source: {r['source']}")
        print(f"{'':<15} datasets: {', '.join(r['datasets'])} (default {r['default_dataset']})")
        goals = [f"{m} ({'min' if m in r['minimised'] else 'max'})" for m in r["metrics"]]
        print(f"{'':<15} metrics:  {', '.join(goals)}; default {r['default_metric']}")
        if r["problem"]:
            print(f"{'':<15} problem: {r['problem']}")
        if r["howto"]:
            print(f"{'':<15} how to get it: {r['howto']}")


def _goal_flag(args) -> str | None:
    if args.minimise and args.maximise:
        raise CLIError("--minimise and --maximise exclude each other")
    return "min" if args.minimise else "max" if args.maximise else None


def _load_table(args):
    """The objective table, with the --constraint penalties applied."""
    from . import tables
    goal = _goal_flag(args)
    if args.table:
        if not args.space or not args.metric:
            raise CLIError("--table needs --space NAME and --metric KEY")
        ignored = [f for f, v in (("--benchmark", args.benchmark), ("--dataset", args.dataset),
                                  ("--data-dir", args.data_dir)) if v]
        if ignored:
            raise CLIError(f"{', '.join(ignored)} name a benchmark table; --table {args.table} is read instead "
                           "(give one or the other)")
        table = tables.load_custom(args.table, args.space, args.metric, goal or "max")
        load_cost = lambda metric: tables.load_custom(args.table, args.space, metric)  # noqa: E731
    else:
        if goal is not None:
            raise CLIError("--minimise/--maximise are for --table: a benchmark's metrics declare their direction "
                           "(see `jaxnag benchmarks`)")
        if args.space:
            raise CLIError("--space is for --table: a benchmark has its own space")
        benchmark = args.benchmark or DEFAULT_BENCHMARK
        table = tables.load(benchmark, args.dataset, data_dir=args.data_dir, metric=args.metric)
        load_cost = lambda metric: tables.load(benchmark, table.info.dataset, data_dir=args.data_dir,  # noqa: E731
                                               metric=metric)
    for text in args.constraint or ():
        metric, op, bound = tables.parse_constraint(text)
        table = tables.constrain(table, load_cost(metric), op, bound)
    return table


def _fmt(v) -> str:
    v = float(v)
    return f"{v:.4f}" if math.isfinite(v) else "-"


def _finite_or_none(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _proxy_fitness(args, space):
    """The fitness of ``--proxy`` (one name, or several joined by commas for a rank ensemble) on
    ``--data``, and a label for it."""
    from . import data, proxies
    names = [n.strip() for n in args.proxy.split(",") if n.strip()]
    for n in names:
        if n not in proxies.NAMES:
            raise CLIError(f"--proxy: unknown proxy {n!r}; choose from {', '.join(proxies.NAMES)}")
    batch = None
    classes = args.classes
    if args.data:
        x, y = data.load(args.data)
        classes = int(y.max()) + 1 if classes is None else classes
        batch = proxies.batch(x, y, classes=classes, size=args.batch_size)
    elif any(n not in proxies.DATA_FREE for n in names):
        raise CLIError(f"--proxy {args.proxy} reads images: pass --data FILE.npz (images 'x' [n, H, W, C], "
                       f"labels 'y' [n]); the data-free proxies are {', '.join(proxies.DATA_FREE)}")
    size = dict(channels=args.channels, cells=args.cells, classes=classes)
    if len(names) == 1:
        return proxies.fitness(space, names[0], batch, **size), names[0]
    return proxies.ensemble(space, names, batch, **size), "rank ensemble of " + " + ".join(names)


def _cmd_generate_proxy(args):
    """``generate --proxy``: no table lookup of the target (PG-NAG may transfer a prior scored on a table); the
    seeds run one after another in one program (a proxy runs only each cell's chosen ops, which a vmap over
    seeds would undo)."""
    import jax

    given = [f for f, v in (("--table", args.table), ("--metric", args.metric), ("--constraint", args.constraint),
                            ("--benchmark", args.benchmark), ("--dataset", args.dataset),
                            ("--data-dir", args.data_dir and not args.prior_from)) if v]
    if given:
        raise CLIError(f"--proxy scores architectures itself: {', '.join(given)} "
                       f"{'does' if len(given) == 1 else 'do'} not apply (--space picks the "
                       "space)")
    space = _network_space(args.space or "nb201", "--proxy")
    settings, context_settings = _apply_method_flags(args)
    gen, settings, note = _wrapped(args, settings, space)
    config = _build_config(gen, space, settings)
    settings = _resolved(settings, config, note)
    context, notes = _context(args, gen, context_settings, space)  # PG-NAG: a table to transfer the prior from
    _describe(gen, config, context, notes, space)
    from . import proxies
    fit, label = _proxy_fitness(args, space)
    keys = _keys(args.seed, args.seeds)
    print(f"jaxnag: compiling and running {args.seeds} x {args.method} on the proxy {label} ...", file=sys.stderr,
          flush=True)
    t0 = time.perf_counter()
    with _Scored(label, enabled=sys.stderr.isatty()) as scored:
        counted = scored.wrap(fit)
        res = jax.block_until_ready(proxies.generate(gen, keys, space, config, counted, **context))
    gen.check_result(res, config, notes)
    elapsed = time.perf_counter() - t0
    best_ops, best = np.asarray(res.best_ops), np.asarray(res.best_fitness, np.float64)
    runs = [dict(seed=i, best_arch=space.to_string(best_ops[i]) if np.isfinite(best[i]) else None,
                 proxy_score=_finite_or_none(best[i]), queries=int(np.asarray(res.queries)[i]))
            for i in range(args.seeds)]
    out = dict(method=args.method, space=space.name, proxy=args.proxy, data=args.data, time_s=elapsed, runs=runs,
               seed=args.seed, seeds=args.seeds, config={**settings, **context_settings}, version=_version())
    if args.json:
        print(json.dumps(out, allow_nan=False))
        return
    source = context.get("source")
    print(f"{args.method} on the proxy {label} ({args.seeds} runs in {elapsed:.2f} s incl. compilation; zero table "
          f"lookups{'' if source is None else ' of the target (the prior was scored on ' + source.name + ')'})")
    print(f"{'run':>4} {'proxy':>10} {'queries':>8}  architecture")
    for r in runs:
        print(f"{r['seed']:>4} {_fmt(r['proxy_score'] if r['proxy_score'] is not None else math.nan):>10} "
              f"{r['queries']:>8}  {r['best_arch'] or '(none)'}")


class _Scored:
    """A live count of the architectures a proxy has scored (and their rate) on stderr, fed from inside the
    compiled program by ``jax.debug.callback``: a long proxy run is never silent."""

    def __init__(self, label: str, enabled: bool):
        self._bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
            self._bar = Progress(SpinnerColumn(), TextColumn(f"{label}: {{task.completed:,.0f}} architectures scored"),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self._task = self._bar.add_task(label, total=None)

    def wrap(self, fit):
        if self._bar is None:
            return fit
        import jax

        def counted(ops):
            values = fit(ops)
            jax.debug.callback(lambda v: self._bar.advance(self._task, int(v.size)), values)
            return values
        return counted

    def __enter__(self):
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()


def _npz(path: str, flag: str) -> str:
    """``path`` with the ``.npz`` suffix numpy would add itself (so the file checked is the file written)."""
    if not str(path).strip():
        raise CLIError(f"{flag} is empty: name a file")
    return path if str(path).endswith(".npz") else f"{path}.npz"


def _network_space(name: str, flag: str):
    """The search space ``name`` if jaxnag builds its networks (what a proxy scores)."""
    from . import models, spaces
    try:
        models.for_space(name)
        return spaces.get(name)
    except JaxnagError as e:
        raise CLIError(f"{flag} scores networks: {e}") from None


def _cmd_proxies(args):
    if "," in args.proxy:
        raise CLIError("--proxy: one proxy per table")
    space = _network_space(args.space, "--proxy")
    from . import outputs, proxies
    out = outputs.check_file(_npz(args.out, "--out"), "--out", overwrite=args.overwrite)
    fit, label = _proxy_fitness(args, space)
    t0 = time.perf_counter()
    table = proxies.table(space, args.proxy, fitness=fit, progress=sys.stderr.isatty(), estimate=True)
    ops = np.asarray(table.info.row_ops)
    values = np.asarray(table.info.row_values, np.float64)
    with outputs.atomic(out, "--out") as tmp:
        np.savez_compressed(tmp, ops=ops, **{args.proxy: values})
    args.out = str(out)
    ok = np.isfinite(values)
    print(f"jaxnag: {args.proxy} of {len(ops):,} {space.name} cells in {time.perf_counter() - t0:.1f} s -> {args.out} "
          f"({int((~ok).sum())} undefined, as NaN). Generate on it: jaxnag generate --table {args.out} "
          f"--space {space.name} --metric {args.proxy}")


def _cmd_train(args):
    # Everything the user typed is checked, and --out probed, before any data is read or compiled
    for flag, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size), ("--channels", args.channels),
                        ("--cells", args.cells)):
        if value is not None:
            check_int(flag, value, lo=1)
    check_seed("--seed", args.seed)
    from . import train
    base = args.recipe or train.Schedule(epochs=20, batch_size=64)  # no recipe: the command's short runs
    schedule = renamed(lambda: train.recipe(base, epochs=args.epochs, batch_size=args.batch_size,
                                            learning_rate=args.lr),
                       {"epochs": "--epochs", "batch_size": "--batch-size", "learning_rate": "--lr"})
    args.epochs, args.batch_size, args.lr = schedule.epochs, schedule.batch_size, schedule.learning_rate
    if schedule.darts_only and args.space != "darts":
        raise CLIError(f"--recipe {args.recipe} trains DARTS networks (an auxiliary head, drop-path); --space is "
                       f"{args.space}: give --space darts, or another --recipe")
    if args.test is None:
        check_range("--split", args.split, 0.0, 1.0, lo_open=True, hi_open=True)
    from . import data, outputs, spaces
    if args.classes is not None:
        check_int("--classes", args.classes, lo=2, hi=data.MAX_CLASSES)
    if args.space not in train.NETWORKS:
        raise CLIError(f"--space {args.space}: jaxnag trains networks of {', '.join(train.NETWORKS)}")
    space = spaces.get(args.space)
    try:
        ops = train.check_cell(space.from_string(args.arch), "--arch", space=space.name)
    except JaxnagError as e:
        raise CLIError(e if str(e).startswith("--arch") else f"--arch: {e}") from None
    outputs.check_folder(args.out, "--out")
    x, y = data.load(args.data)
    if args.test:
        test = data.load(args.test)
        if test[0].shape[1:] != x.shape[1:]:
            shape = lambda a: "x".join(map(str, a.shape[1:]))  # noqa: E731
            raise CLIError(f"--test {args.test}: images are {shape(test[0])} (height x width x channels), those of "
                           f"--data {args.data} {shape(x)}: both must have the same resolution and channels")
        train_data = (x, y)
    else:
        try:
            train_data, test = data.split(x, y, args.split, seed=args.seed)
        except JaxnagError as e:
            raise CLIError(f"--split {args.split}: {e}") from None
    if args.classes is None:
        classes = max(int(train_data[1].max()), int(test[1].max())) + 1
        if classes < 2:
            raise CLIError(f"--data {args.data}: every label is {classes - 1}; a classifier needs at least 2 classes "
                           "(pass --classes if the data holds only some of them)")
    else:
        classes = args.classes
        for flag, path, labels in (("--data", args.data, y), ("--test", args.test, test[1])):
            if len(labels) and labels.max() >= classes:
                raise CLIError(f"{flag} {path}: labels reach {int(labels.max())}, but --classes {classes} allows "
                               f"0..{classes - 1}")
    if len(train_data[0]) < args.batch_size:
        where = f"--data {args.data}" + ("" if args.test else f" with --split {args.split}")
        raise CLIError(f"--batch-size {args.batch_size} is more than the {len(train_data[0])} training images "
                       f"({where})")
    try:
        run = train.train(ops, train_data, test, channels=args.channels, cells=args.cells, classes=classes,
                          seed=args.seed, out=args.out, progress=sys.stderr.isatty(), verbose=True,
                          space=space.name, recipe=schedule)
    except JaxnagError as e:  # name the flags the user typed, not the library's arguments
        msg = str(e).replace("(learning_rate=", "(--lr ")
        if msg.startswith("out "):
            msg = "--out " + msg[4:]
        if msg != str(e):
            raise type(e)(msg) from None
        raise
    last = run.history[-1]
    if args.json:
        print(json.dumps(dict(arch=space.to_string(ops), history=run.history, checkpoint=str(run.checkpoint))))
        return
    for row in run.history:
        print(f"epoch {row['epoch']:>3}  loss {row['train_loss']:.4f}  train {row['train_accuracy']:.2f}%  "
              f"test {row['test_accuracy']:.2f}%  ({row['seconds']:.1f} s)")
    print(f"trained {space.to_string(ops)}: test accuracy {last['test_accuracy']:.2f}% after {args.epochs} epochs; "
          f"checkpoint {run.checkpoint}")


def _cmd_generate(args):
    check_int("--seeds", args.seeds, lo=1, hi=SEEDS_MAX)
    check_seed("--seed", args.seed)
    if args.proxy:
        return _cmd_generate_proxy(args)
    if args.objectives:
        return _cmd_generate_pareto(args)
    if args.plot is not None:
        raise CLIError("--plot is for --objectives (a Pareto front)")
    if args.data:
        raise CLIError("--data is read by --proxy (a data-dependent zero-cost proxy)")
    settings, context_settings = _apply_method_flags(args)
    table = _load_table(args)
    space = table.space
    gen, settings, note = _wrapped(args, settings, space)
    config = _build_config(gen, space, settings)
    settings = _resolved(settings, config, note)
    context, notes = _context(args, gen, context_settings, table)
    extra = _describe(gen, config, context, notes, table)
    t0 = time.perf_counter()
    res = _run_seeds(args, gen, space, config, table, context, notes)
    best_ops = np.asarray(res.best_ops)
    best = np.asarray(res.best_fitness, np.float64)
    queries = np.asarray(res.queries)
    elapsed = time.perf_counter() - t0
    optimum = float(table.optimum)
    metric = table.to_metric(best)  # in the metric's units; NaN for a failed or infeasible best
    hits = best >= np.float32(optimum)
    # "seed" i is the run's key: jax.random.split(jax.random.key(--seed), --seeds)[i]
    runs = [dict(seed=i, best_arch=space.to_string(best_ops[i]) if np.isfinite(metric[i]) else None,
                 best_score=_finite_or_none(metric[i]), queries=int(queries[i])) for i in range(args.seeds)]
    failed = int(np.sum(~np.isfinite(metric)))
    out = dict(method=args.method, benchmark=table.info.benchmark, dataset=table.info.dataset,
               metric=table.info.metric, goal=table.goal, optimum=float(table.to_metric(optimum)),
               hit_rate=float(np.mean(hits)), time_s=elapsed, runs=runs, seed=args.seed, seeds=args.seeds,
               config={**settings, **context_settings}, version=_version(), **extra)
    if args.json:
        print(json.dumps(out, allow_nan=False))
        return
    print(f"{args.method} on {table.name} ({table.goal}imise; {args.seeds} runs in {elapsed:.2f} s incl. "
          f"compilation; optimum {out['optimum']:.4f})")
    print(f"{'run':>4} {'best':>10} {'queries':>8}  architecture")
    for r, hit in zip(runs, hits):
        print(f"{r['seed']:>4} {_fmt(r['best_score'] if r['best_score'] is not None else math.nan):>10}"
              f"{'*' if hit else ' '}{r['queries']:>8}  {r['best_arch'] or '(none)'}")
    ok = metric[np.isfinite(metric)]
    if len(ok):
        print(f"mean best {ok.mean():.4f} +- {ok.std():.4f}, hit rate {out['hit_rate']:.0%} (* = optimum)")
    if failed:
        what = "satisfies the constraints with a finite metric" if table.info.feasible_floor is not None \
            else "has a finite metric"
        print(f"{failed} of {args.seeds} runs found no architecture that {what} "
              f"(the table has {len(table.info.row_ops)} rows for {space.size} encodings)")


def _check_plot(args) -> None:
    """Before any computation: ``--plot`` needs matplotlib and a file it may write (``--overwrite``)."""
    if args.plot is None:
        return
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CLIError("--plot needs matplotlib: pip install matplotlib (or jaxnag[bench])") from None
    from . import outputs
    outputs.check_file(args.plot, "--plot", overwrite=args.overwrite)


def _run_seeds(args, gen, space, config, fitness, context, notes):
    """``--seeds`` runs of ``gen`` on ``fitness`` in one compiled call (refused where it would not fit in
    memory), checked."""
    import jax

    from . import parallel
    run = lambda key, f, ctx: gen.generate(key, f, space, config, **ctx)  # noqa: E731
    compiled = parallel.compile_fitting(run, args.seeds, fitness, context, flag="--seeds", announce=lambda: print(
        f"jaxnag: compiling and running {args.seeds} x {args.method} on {fitness.name} in one call ...",
        file=sys.stderr, flush=True))
    keys = _keys(args.seed, args.seeds)
    res = jax.block_until_ready(compiled(keys, fitness, context))
    gen.check_result(res, config, notes)
    return res


def _load_objectives(args):
    """The vector fitness of ``--objectives``: a benchmark's metrics, or columns of ``--table``."""
    from . import tables
    if args.constraint:
        raise CLIError("--constraint bounds one metric under one objective; with --objectives the cost is an "
                       "objective itself (give it in --objectives)")
    if args.metric:
        raise CLIError("--metric names one objective; with --objectives list them all there")
    if _goal_flag(args) is not None:
        raise CLIError("--minimise/--maximise: with --objectives state each goal as COLUMN@min or COLUMN@max")
    if args.table:
        if not args.space:
            raise CLIError("--table needs --space NAME")
        parts = []
        for item in args.objectives.split(","):
            column, _, goal = item.strip().partition("@")
            if goal not in ("", "min", "max"):
                raise CLIError(f"--objectives {item}: the goal after @ is min or max")
            parts.append(tables.load_custom(args.table, args.space, column, goal or "max"))
        return tables.combine(parts)
    if args.space:
        raise CLIError("--space is for --table: a benchmark has its own space")
    return tables.objectives(args.benchmark or DEFAULT_BENCHMARK, args.dataset, args.objectives, data_dir=args.data_dir)


def _cmd_generate_pareto(args):
    """``generate --objectives``: each seed's Pareto front and hypervolume (the exact front's share)."""
    from . import pareto
    _check_plot(args)
    from . import registry
    capacity = {} if args.capacity is None else dict(capacity=args.capacity)  # the run's front (any method)
    if "capacity" not in registry.settings(args.method):
        args.capacity = None
    settings, context_settings = _apply_method_flags(args)
    obj = _load_objectives(args)
    space = obj.space
    gen, settings, note = _wrapped(args, settings, space)
    gen = pareto.with_objectives(gen)
    config = renamed(lambda: gen.config(space, objectives=obj, **{**settings, **capacity}),
                     {name: _flag(name) for name in {**settings, **capacity}})
    settings = _resolved(settings, config, note)
    context, notes = _context(args, gen, context_settings, obj.tables[0])
    t0 = time.perf_counter()
    res = _run_seeds(args, gen, space, config, obj, context, notes)
    elapsed = time.perf_counter() - t0
    hv = np.asarray(res.best_fitness, np.float64)
    exact = obj.exact_front()[1] if space.enumerable else None
    share = pareto.exact_share(hv, obj) if exact is not None else np.full_like(hv, np.nan)
    sizes = np.asarray(res.extras["front_size"])
    f_ops, f_vals = np.asarray(res.extras["front_ops"]), np.asarray(res.extras["front_values"])
    runs = []
    for i in range(args.seeds):
        vals = f_vals[i, :sizes[i]]
        igdp = pareto.exact_igd(vals, obj) if exact is not None else math.nan
        on = [bool(exact is not None and np.any(np.all(exact == v, axis=1))) for v in vals]
        runs.append(dict(seed=i, hypervolume=float(hv[i]), hv_share=_finite_or_none(share[i]),
                         igd_plus=_finite_or_none(igdp), queries=int(np.asarray(res.queries)[i]),
                         truncated=bool(np.asarray(res.extras["front_truncated"])[i]),
                         front=[dict(arch=space.to_string(f_ops[i, j]), on_exact_front=on[j],
                                     **{n: float(m) for n, m in zip(obj.names, obj.to_metric(vals[j]))})
                                for j in range(len(vals))]))
    if not any(r["front"] for r in runs):
        raise CLIError(f"no run found an architecture with every objective of {obj.name}: the fronts are empty")
    out = dict(method=args.method, objectives=list(obj.names), goals=list(obj.goals), benchmark=obj.tables[0].benchmark,
               dataset=obj.tables[0].dataset, exact_front_size=None if exact is None else len(exact),
               hv_share_mean=_finite_or_none(np.mean(share)), time_s=elapsed, runs=runs, seed=args.seed,
               seeds=args.seeds, config={**settings, **context_settings}, version=_version())
    if args.json:
        print(json.dumps(out, allow_nan=False))
    else:
        print(f"{args.method} on {obj.name} ({', '.join(f'{n} {g}' for n, g in zip(obj.names, obj.goals))}; "
              f"{args.seeds} runs in {elapsed:.2f} s incl. compilation)")
        print(f"{'run':>4} {'HV':>8} {'share':>7} {'IGD+':>8} {'front':>6} {'queries':>8}")
        for r in runs:
            print(f"{r['seed']:>4} {r['hypervolume']:>8.4f} {_fmt(r['hv_share'] if r['hv_share'] is not None else math.nan):>7}"
                  f" {_fmt(r['igd_plus'] if r['igd_plus'] is not None else math.nan):>8} {len(r['front']):>6}"
                  f" {r['queries']:>8}")
        best = max(runs, key=lambda r: r["hypervolume"])
        print(f"front of run {best['seed']} (* = on the exact front of {out['exact_front_size'] or '?'} points; HV "
              f"normalised between the exact front's nadir and ideal points):")
        width = max(8, *(len(n) for n in obj.names))
        print("  " + " ".join(f"{n:>{width}}" for n in obj.names) + "  architecture")
        for p in sorted(best["front"], key=lambda p: -p[obj.names[0]]):
            print(("*" if p["on_exact_front"] else " ") + " " + " ".join(f"{p[n]:>{width}.4g}" for n in obj.names)
                  + f"  {p['arch']}")
        if any(r["truncated"] for r in runs):
            print(f"some fronts held more than --capacity {config.capacity} points: the most crowded were dropped")
    if args.plot is not None:
        from .pareto.plot import fronts
        best = int(np.argmax(hv))
        fronts([obj.to_metric(f_vals[best, :sizes[best]])], None if exact is None else obj.to_metric(exact),
               obj.names, f"{args.method} on {obj.name}: run {best}, HV share "
               f"{_fmt(share[best])}", args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)


def _cmd_bench(args):
    from . import bench, parallel
    for flag, value in (("--chunk", args.chunk), ("--devices", args.devices)):
        if value is not None:
            check_int(flag, value, lo=1)
    check_range("--timeout", args.timeout, lo=0, lo_open=True)
    flags = {"coordinator_address": ("--coordinator", args.coordinator),
             "num_processes": ("--num-processes", args.num_processes),
             "process_id": ("--process-id", args.process_id)}
    given = {name: value if value not in (None, "") else os.environ.get(parallel.ENV[name]) or None
             for name, (_, value) in flags.items()}
    missing = [f"{flags[name][0]} (${parallel.ENV[name]})" for name, value in given.items() if value is None]
    if missing and len(missing) < len(given):
        raise CLIError(f"{' and '.join(missing)} missing: a multi-process run needs --coordinator, --num-processes "
                       "and --process-id (or their variables) on every process")
    if not missing:
        renamed(lambda: parallel.initialize(*given.values(), timeout=args.timeout),
                {"coordinator_address": "--coordinator", "num_processes": "--num-processes",
                 "process_id": "--process-id"})
    bench.run_grid(args.grid, out=args.out, chunk=args.chunk, devices=args.devices, progress=not args.no_progress,
              plot=not args.no_plot, overwrite=args.overwrite)


def _cmd_prior(args):
    from . import prior, tables
    check_int("--k", args.k, lo=1)
    check_seed("--seed", args.seed)
    _check_plot(args)
    table = tables.load(args.benchmark, args.dataset, data_dir=args.data_dir)
    if args.budget is not None:
        table.space.check_budget(args.budget, "--budget")
    rows = len(table.info.row_ops) if args.budget is None else args.budget
    if args.k > rows:
        raise CLIError(f"--k {args.k} is more than the {rows} architectures "
                       f"{'of ' + table.name if args.budget is None else 'queried (--budget)'}")
    r = prior.score_table(_keys(args.seed), table, args.k, args.method, args.budget)
    space = table.space
    if args.json:
        print(json.dumps(dict(benchmark=table.info.benchmark, dataset=table.info.dataset, k=args.k,
                              method=args.method, lookups=int(r.lookups), unique_lookups=int(r.unique_lookups),
                              slots=list(space.slot_names), choices=[list(c) for c in space.choices],
                              score=np.nan_to_num(r.score).tolist(), prior=r.prior.tolist(),
                              frequency=r.frequency.tolist(), version=_version()), allow_nan=False))
    else:
        width = max(len(n) for c in space.choices for n in c)
        print(f"score[slot, op] of the top-{args.k} of {table.name} ({args.method}, {r.lookups} lookups)")
        print(" " * 12 + " ".join(f"{n:>{width}}" for n in space.op_names))
        for i, name in enumerate(space.slot_names):
            print(f"{name:>12}" + " ".join(f"{v:>{width}.3f}" for v in np.nan_to_num(r.score[i])))
    if args.plot is not None:
        from .prior.plot import heatmap
        heatmap(r.score, space, f"{table.name}: Shapley score, top-{args.k}", args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)


def _cmd_train_score(args):
    import jax

    from . import spaces
    from .diffusionnag import train
    check_int("--iterations", args.iterations, lo=1)
    check_int("--batch", args.batch, lo=1)
    check_range("--lr", args.lr, lo=0.0, lo_open=True)
    check_range("--sigma-max", args.sigma_max, lo=0.1, lo_open=True)
    check_int("--log-every", args.log_every, lo=1)
    check_int("--ckpt-every", args.ckpt_every, lo=1)
    check_seed("--seed", args.seed)
    check_int("--validity-samples", args.validity_samples, lo=0)
    check_int("--pc-steps", args.pc_steps, lo=2)
    space = spaces.get(args.space)
    cfg = train.ScoreTrainConfig(net=args.net, iterations=args.iterations, batch=args.batch, lr=args.lr,
                            sigma_max=args.sigma_max, log_every=min(args.log_every, args.iterations),
                            ckpt_every=args.ckpt_every)
    model, info = train.train_score(_keys(args.seed), space, cfg, args.out, resume=not args.restart)
    final = info["losses"][-1] if info["losses"] else float("nan")
    verb = "trained" if info["saved"] else "nothing to train:"
    print(f"{verb} {args.out} ({info['run']}): {info['steps']} steps, saved steps {info['saved'] or 'none new'}, "
          f"final loss {_fmt(final)}, {info['steps_per_s']:.1f} steps/s")
    if args.validity_samples:
        from .diffusionnag import encoding
        from .diffusionnag.sampler import pc_sample
        v, f = encoding.shape(space)
        x = jax.jit(lambda k: pc_sample(k, model, cfg.make_sde(), (args.validity_samples, v, f), args.pc_steps))(
            _keys(args.seed))
        m = encoding.metrics(x, space)
        print(f"validity of {m['n']} unguided samples ({args.pc_steps} PC steps): {m['validity']:.0%}, "
              f"uniqueness {m['uniqueness']:.0%}")


def _cmd_import_nats(args):
    from . import outputs
    from .tables.nats_import import import_nats
    args.out = str(outputs.check_file(_npz(args.out, "--out"), "--out", overwrite=args.overwrite))
    arrays = import_nats(args.path, args.out)
    n = len(arrays["index"])
    msg = f"wrote {args.out}: {n} architectures"
    if n:
        i = int(np.nanargmax(arrays["test_acc_cifar10"])) if np.isfinite(arrays["test_acc_cifar10"]).any() else 0
        msg += f"; best CIFAR-10 test accuracy {arrays['test_acc_cifar10'][i]:.2f} ({arrays['arch_str'][i]})"
    print(msg)


def _add_method_flags(g) -> None:
    """One argument group per generator of the registry, each flag once (under its first method)."""
    from . import registry
    done = set()
    for name in registry.names():
        gen = registry.get(name)
        group = g.add_argument_group(name, gen.description)
        for setting, spec in gen.settings.items():
            if setting in done:
                continue
            done.add(setting)
            users = [m for m in registry.names() if setting in registry.settings(m)]
            defaults = [registry.settings(m)[setting].default for m in users]
            if len(users) > 1:
                default = " [" + ", ".join(f"{m} {d}" for m, d in zip(users, defaults)) + "]"
            else:
                default = "" if spec.default is None else f" [{spec.default}]"
            also = f" (also {', '.join(u for u in users if u != name)})" if len(users) > 1 and spec.type is bool else ""
            if spec.type is bool:
                group.add_argument(_flag(setting), action="store_true", default=None, help=spec.help + also)
            else:
                more = "; any other method: at most this many unique queries (jaxnag.budget), EDNAG and PG-NAG " \
                       "in their query-efficient form (--plain: their defaults)" \
                    if setting == "budget" else ""
                group.add_argument(_flag(setting), type=spec.type, default=None, choices=spec.choices,
                                   help=f"{spec.help}{default}{more}")


def build_parser() -> argparse.ArgumentParser:
    from . import registry, spaces, tables
    p = _Parser(prog="jaxnag", description="Neural architecture generation in JAX.")
    p.add_argument("--version", action="version", version=f"jaxnag {_version()}")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    p.add_argument("--no-cache", action="store_true",
                   help="no persistent compilation cache (default: on, in $JAXNAG_CACHE_DIR or "
                        "$XDG_CACHE_HOME/jaxnag/xla; JAXNAG_CACHE_DIR=off turns it off too)")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import MODULE first (it registers its spaces and generators); repeatable. Installed "
                        "packages' jaxnag.spaces / jaxnag.generators entry points load without it")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    sub.required = True

    s = sub.add_parser("spaces", help="list the search spaces")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_spaces)

    b = sub.add_parser("benchmarks", help="list benchmarks, datasets, metrics and whether their data is readable")
    b.add_argument("--data-dir", default=None, help="folder with the .npz tables (default $JAXNAG_DATA_DIR)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=_cmd_benchmarks)

    g = sub.add_parser("generate", help="generate architectures for a task with one method, over seeds",
                       description="Method flags left out take the method's default (shown in brackets); a flag "
                                   "that does not apply to --method is refused.")
    g.add_argument("--method", choices=registry.names(), default="ednag")
    g.add_argument("--benchmark", default=None,
                   help=f"one of {', '.join(tables.BENCHMARKS)} [{DEFAULT_BENCHMARK}, the embedded default]")
    g.add_argument("--dataset", default=None, help="a dataset of the benchmark (default: its default dataset)")
    g.add_argument("--table", default=None, help="custom .npz table (with --metric and --space)")
    g.add_argument("--metric", default=None, help="a metric of the benchmark, or the column of --table")
    g.add_argument("--space", default=None, help=f"space of --table: {', '.join(spaces.names())}")
    g.add_argument("--minimise", action="store_true", help="--table: smaller metric values are better")
    g.add_argument("--maximise", action="store_true", help="--table: larger metric values are better (the default)")
    g.add_argument("--constraint", action="append", default=None, metavar="METRIC<=VALUE",
                   help="keep METRIC within VALUE (<=, <, >=, >; repeatable); a penalty every method respects, "
                        "and the hit rate counts the constrained optimum")
    g.add_argument("--objectives", default=None, metavar="METRIC,METRIC[,METRIC]",
                   help="multi-objective: generate a Pareto front of these metrics (each with its goal: accuracy "
                        "max, latency/energy/params/FLOPs min; DATASET:METRIC for another task, METRIC@min or "
                        "@max to state it; columns of --table); prints each run's front and hypervolume")
    g.add_argument("--plot", default=None, metavar="FILE", help="--objectives: a PNG of the best run's front over "
                                                                 "the exact front")
    g.add_argument("--overwrite", action="store_true", help="replace --plot if it exists")
    g.add_argument("--seeds", type=int, default=10, help="independent runs, vmapped in one call")
    g.add_argument("--seed", type=int, default=0, help=f"base PRNG seed, 0..{SEED_MAX}")
    _add_method_flags(g)
    sg = g.add_argument_group("online surrogate (jaxnag.surrogate), for any method")
    sg.add_argument("--surrogate-query", type=int, default=None, metavar="M",
                    help="evaluate only the M proposals a surrogate ranks best each round; the others "
                         "are told predicted values")
    sg.add_argument("--surrogate-local", type=int, default=None, metavar="K",
                    help="with --surrogate-query: replace picks evaluated before by new neighbours of the K best "
                         "so far")
    sg.add_argument("--surrogate-predictor", default=None, metavar="NAME",
                    help="with --surrogate-query: the surrogate's model (jaxnag.predictors): ridge (default; "
                         "additive), gp (interactions of every order), pairwise, additive, path (BANANAS's paths; "
                         "cell spaces), ensemble")
    sg.add_argument("--surrogate-acquisition", default=None, metavar="NAME",
                    help="with --surrogate-query: greedy (default), ucb, ei or thompson (not with ridge)")
    sg.add_argument("--surrogate-explore", type=int, default=None, metavar="E",
                    help="with --surrogate-local: E random architectures join the candidates, after the neighbours")
    sg.add_argument("--surrogate-joint", action="store_true",
                    help="with --surrogate-local: rank the proposals and the neighbours together")
    g.add_argument("--plain", action="store_true",
                   help="with --budget: the method's own defaults cut at the budget, not its query-efficient form "
                        "(EDNAG: the GP surrogate; PG-NAG: iterative)")
    g.add_argument("--data-dir", default=None, help="folder with the .npz tables (default $JAXNAG_DATA_DIR)")
    g.add_argument("--json", action="store_true", help="print one JSON object (standard JSON: null for no value)")
    g.add_argument("--proxy", default=None, metavar="NAME[,NAME...]",
                   help="score NB201 / TransNAS-Bench-101 micro architectures by a zero-cost proxy instead of a table (several: a rank "
                        "ensemble): " + ", ".join(_proxy_names()))
    _add_proxy_flags(g)
    g.set_defaults(func=_cmd_generate)

    px = sub.add_parser("proxies", help="score every cell of a space by a zero-cost proxy into a table (.npz)")
    px.add_argument("--space", default="nb201", help="nb201 or tnb101_micro")
    px.add_argument("--proxy", required=True, help=", ".join(_proxy_names()))
    px.add_argument("--out", required=True, help="the table to write (an .npz that --table reads; .npz is added "
                                                 "if missing)")
    px.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    _add_proxy_flags(px)
    px.set_defaults(func=_cmd_proxies)

    tr = sub.add_parser("train", help="train an architecture (NB201, NB101, DARTS) on an image dataset (.npz) and "
                                      "checkpoint it",
                        description="Trains into --out, a new or empty folder (checked before anything is loaded). "
                                    "Ctrl-C stops within a step, saves the weights so far (metrics.json says where "
                                    "it stopped) and exits with status 130.")
    tr.add_argument("--arch", required=True, help="arch string of --space, e.g. from `jaxnag generate`")
    tr.add_argument("--space", default="nb201", help="nb201, nb101 or darts (a DARTS genotype string)")
    tr.add_argument("--data", required=True, help=".npz with images 'x' [n, H, W, C] and labels 'y' [n]")
    tr.add_argument("--test", default=None, help="held-out .npz (default: --split of --data)")
    tr.add_argument("--split", type=float, default=0.8, help="fraction of --data to train on when no --test "
                                                               "(strictly between 0 and 1)")
    tr.add_argument("--recipe", default=None, choices=["nb201", "nb101", "darts"],
                    help="a benchmark's published training recipe: optimiser, schedule, augmentations (crop, flip; "
                         "DARTS: cutout, drop-path, the auxiliary head on 32x32 images); the flags below replace its "
                         "values [none: SGD Nesterov, cosine, weight decay 5e-4, no augmentation, 20 epochs of 64]")
    tr.add_argument("--epochs", type=int, default=None, help="[the recipe's, else 20]")
    tr.add_argument("--batch-size", type=int, default=None, help="[the recipe's, else 64]")
    tr.add_argument("--lr", type=float, default=None, help="initial learning rate, cosine schedule [the recipe's, "
                                                           "else 0.1]")
    tr.add_argument("--channels", type=int, default=None, help="the network's channels (default the benchmark's: "
                                                                "NB201 16, NB101 128, DARTS 36)")
    tr.add_argument("--cells", type=int, default=None, help="cells per stage (NB201, default 5), per stack (NB101, 3) "
                                                             "or in all (DARTS, 20)")
    tr.add_argument("--classes", type=int, default=None, help="network outputs; labels must lie in 0..classes-1 "
                                                               "(default: largest label + 1)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--out", required=True, help="a new or empty folder for the orbax checkpoint and metrics.json "
                                                  "(nothing is overwritten)")
    tr.add_argument("--json", action="store_true")
    tr.set_defaults(func=_cmd_train)

    ts = sub.add_parser("train-score", help="train a DiffusionNAG score network (a resumable checkpoint folder)",
                        description="Trains into --out, a jaxnag checkpoint folder: resumes its newest run, or "
                                    "--restart starts a new run beside it. Nothing is ever deleted except older "
                                    "steps of the run being trained. Ctrl-C saves the current step.")
    ts.add_argument("--out", required=True, help="checkpoint folder (new, empty, or one made by train-score)")
    ts.add_argument("--space", default="nb201", help=f"one of {', '.join(spaces.names())}")
    ts.add_argument("--net", choices=["small", "reference"], default="small")
    ts.add_argument("--iterations", type=int, default=6000, help="train until this step")
    ts.add_argument("--batch", type=int, default=256)
    ts.add_argument("--lr", type=float, default=1e-3)
    ts.add_argument("--sigma-max", type=float, default=5.0)
    ts.add_argument("--log-every", type=int, default=500)
    ts.add_argument("--ckpt-every", type=int, default=2000, help="save at every multiple of this step (and at the end)")
    ts.add_argument("--seed", type=int, default=0)
    ts.add_argument("--restart", action="store_true", help="start a new run in --out (keeps the old runs)")
    ts.add_argument("--validity-samples", type=int, default=64, help="unguided samples drawn at the end to report "
                                                                       "validity (0: skip)")
    ts.add_argument("--pc-steps", type=int, default=1000, help="PC steps of those samples")
    ts.set_defaults(func=_cmd_train_score)

    be = sub.add_parser("bench", help="run a grid file (methods x benchmark tasks x seeds) sharded over the devices",
                        description="Runs every cell of GRID.toml (see jaxnag.bench for the format) on every device "
                                    "of every process, appending one JSON line per finished cell to the results "
                                    "file; run again after a kill, it runs only the cells the file lacks. Ends with "
                                    "a summary table (also written as .md) and a plot (.png) beside the results.")
    be.add_argument("grid", help="the grid file (TOML)")
    be.add_argument("--out", default=None, help="results file (JSON lines) [the grid's `out`, or GRID.jsonl]")
    be.add_argument("--chunk", type=int, default=None, help="cells per compiled call [the grid's, or 256]")
    be.add_argument("--devices", type=int, default=None, help="shard over the first N devices [all]")
    be.add_argument("--no-plot", action="store_true", help="do not write the plot")
    be.add_argument("--no-progress", action="store_true", help="no progress bar")
    be.add_argument("--coordinator", default=None, help="HOST:PORT of process 0 for a multi-process run "
                                                        "[$JAXNAG_COORDINATOR]")
    be.add_argument("--num-processes", type=int, default=None, help="processes of the run [$JAXNAG_NUM_PROCESSES]")
    be.add_argument("--process-id", type=int, default=None, help="this process's index [$JAXNAG_PROCESS_ID]")
    be.add_argument("--timeout", type=float, default=60.0,
                    help="seconds a multi-process run waits for the coordinator and the other processes")
    be.add_argument("--overwrite", action="store_true",
                    help="replace a summary (.md) or plot (.png) beside the results that bench did not write")
    be.set_defaults(func=_cmd_bench)

    pr = sub.add_parser("prior", help="PG-NAG component scores of a table's best architectures")
    pr.add_argument("--benchmark", default="nasbench_graph")
    pr.add_argument("--dataset", default=None, help="default: the benchmark's default dataset")
    pr.add_argument("--data-dir", default=None)
    pr.add_argument("--k", type=int, default=20)
    pr.add_argument("--method", choices=["exact", "mc", "loo"], default="exact")
    pr.add_argument("--budget", type=int, default=None, help="score the top-k of B random queries")
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--plot", default=None, help="write a heatmap PNG of score[slot, op] here")
    pr.add_argument("--overwrite", action="store_true", help="replace --plot if it exists")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=_cmd_prior)

    d = sub.add_parser("data", help="data tools")
    dsub = d.add_subparsers(dest="data_command", parser_class=_Parser)
    dsub.required = True
    imp = dsub.add_parser("import-nats", help="convert an official NATS-Bench topology release to nb201.npz")
    imp.add_argument("path", help="NATS-tss-v1_0-3ffb9-simple folder or NATS-tss-*.pickle.pbz2 file")
    imp.add_argument("--out", required=True, help="output .npz (name it nb201.npz inside your data dir; .npz is "
                                                  "added if missing)")
    imp.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    imp.set_defaults(func=_cmd_import_nats)
    return p


def _one_line(e: BaseException) -> str:
    msg = " ".join(str(e).split()) or type(e).__name__
    return msg if msg.startswith("jaxnag") else f"jaxnag: error: {msg}"


def _proxy_names():
    from .proxies import NAMES
    return NAMES


def _add_proxy_flags(p) -> None:
    p.add_argument("--data", default=None, help="--proxy: .npz with images 'x' [n, H, W, C] and labels 'y' [n]")
    p.add_argument("--batch-size", type=int, default=16, help="--proxy: images of --data per score")
    p.add_argument("--classes", type=int, default=None, help="--proxy: network outputs (default: largest label + 1)")
    p.add_argument("--channels", type=int, default=None,
                   help="--proxy: network width C [the benchmark's: nb201 16, tnb101_micro 64]")
    p.add_argument("--cells", type=int, default=None,
                   help="--proxy: cells per stage (nb201) or module (tnb101_micro) [5, 2]")


def _platform_error(e: BaseException) -> CLIError | None:
    """A ``JAX_PLATFORMS`` this machine lacks, as one line naming what it has (JAX raises it from inside
    the first computation, with a traceback), or None for any other error. Checked when it happens, not
    up front: starting the backend early would break ``jax.distributed.initialize`` (bench across
    processes)."""
    want = os.environ.get("JAX_PLATFORMS", "").strip()
    text = " ".join(str(e).split())
    if not want or not isinstance(e, RuntimeError) or not any(
            m in text for m in ("Unable to initialize backend", "Unknown backend", "No visible")):
        return None
    import subprocess
    probe = subprocess.run([sys.executable, "-c", "import jax; print(','.join(sorted({d.platform for d in "
                            "jax.devices()})))"], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "JAX_PLATFORMS": ""})
    have = probe.stdout.strip() or "none that JAX can start"
    reason = text.split(" (set JAX_PLATFORMS")[0]
    return CLIError(f"JAX_PLATFORMS={want}: this machine cannot run it ({reason}); platforms present: {have} "
                    "(unset JAX_PLATFORMS or name one of them)")


def _renamed_flags(argv: list[str]) -> list[str]:
    """Old flag names (``registry.DEPRECATED``) work for one release, each with a one-line note."""
    from . import registry
    out = []
    for a in argv:
        flag, sep, value = a.partition("=")
        old = flag[2:].replace("-", "_") if flag.startswith("--") else None
        if old in registry.DEPRECATED:
            new = _flag(registry.DEPRECATED[old])
            print(registry.deprecation_note(flag, new), file=sys.stderr)
            a = new + sep + value
        out.append(a)
    return out


def _load_plugins(argv: list[str]) -> None:
    """Import every ``--plugin MODULE`` before the parser is built (their generators' settings are flags)."""
    from . import plugins
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--plugin":
            if i + 1 >= len(argv):
                raise CLIError("--plugin needs a module path, e.g. --plugin mypkg.spaces")
            plugins.load_module(argv[i + 1])
            i += 1
        elif a.startswith("--plugin="):
            plugins.load_module(a.split("=", 1)[1])
        elif not a.startswith("-"):  # the command: --plugin is a global option, given before it
            break
        i += 1


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        argv = _renamed_flags(argv)
        _load_plugins(argv)
        args = build_parser().parse_args(argv)
        if not args.no_cache and getattr(args, "func", None) is not None:
            from . import cache
            cache.enable()  # before the command's first compilation: a second run loads what the first compiled
        args.func(args)
    except Interrupted as e:  # Ctrl-C after jaxnag saved what it could
        print(_one_line(e), file=sys.stderr)
        return 130
    except JaxnagError as e:  # a user error: one line (a traceback only with --debug)
        if debug:
            raise
        print(_one_line(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        print("jaxnag: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # out of memory is the machine's limit, not a bug; anything else is a bug
        platform = None if debug else _platform_error(e)
        if platform is not None:
            print(_one_line(platform), file=sys.stderr)
            return 2
        if "RESOURCE_EXHAUSTED" not in str(e) or debug:
            raise
        from .outputs import describe_os_error
        full = describe_os_error(e)  # tensorstore reports a full disk as RESOURCE_EXHAUSTED too
        if full is not None:
            print(f"jaxnag: error: cannot write ({full}): {' '.join(str(e).split())[:200]}", file=sys.stderr)
            return 2
        print(f"jaxnag: error: out of memory ({' '.join(str(e).split())[:200]}); use fewer --seeds or a smaller "
              "--population", file=sys.stderr)
        return 2
    return 0


def _entry() -> None:
    """The console entry point (``jaxnag``, ``python -m jaxnag.cli``): :func:`main`, then exit with its code.
    After an interrupt (130) the process ends at once (``os._exit``, streams flushed first): a thread still
    compiling or saving must not keep it alive, nor crash it in interpreter teardown. A Ctrl-C that Python
    drops during start-up (raised in a garbage-collection callback) is raised again
    (:func:`jaxnag.interrupts.install`)."""
    from .interrupts import install
    install()
    try:
        code = main()
    except KeyboardInterrupt:  # a Ctrl-C outside main's own handling (e.g. a second one while it returns)
        print("jaxnag: interrupted", file=sys.stderr)
        code = 130
    if code == 130:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # a closed pipe: nothing more to say
                pass
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    _entry()
