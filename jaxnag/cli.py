"""The ``jaxnag`` command line: a thin layer over the library.

Examples:
  jaxnag spaces
  jaxnag benchmarks --data-dir ../shared/data
  jaxnag generate --method ednag --benchmark nasbench_graph --dataset cora --seeds 10 --json
  jaxnag generate --method rea --benchmark nb201 --dataset cifar10 --budget 300 --data-dir DIR
  jaxnag generate --method random --table my.npz --metric acc --space nb201 --budget 100
  jaxnag data import-nats NATS-tss-v1_0-3ffb9-simple --out DIR/nb201.npz
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

import numpy as np


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise CLIError(f"{self.prog}: {message} (see --help)")


# --------------------------------------------------------------------------- methods
def _method_random(args, table, space):
    from .baselines import random_search
    return lambda key: random_search(key, table, space, args.budget)


def _method_rea(args, table, space):
    from .baselines import rea
    return lambda key: rea(key, table, space, args.budget)


def _method_ednag(args, table, space):
    from . import ednag
    cfg = ednag.Config.faithful_reference() if args.faithful else ednag.Config()
    cfg = cfg.replace(population=args.population, steps=args.steps)
    return lambda key: ednag.generate(key, table, space, cfg)


METHODS: dict[str, Callable] = {"ednag": _method_ednag, "random": _method_random, "rea": _method_rea,
                                "pgnag": None, "diffusionnag": None}  # host-driven: see _run_pgnag, _run_diffusionnag


# --------------------------------------------------------------------------- commands
def _cmd_spaces(args):
    from . import spaces
    rows = []
    for name in spaces.names():
        s = spaces.get(name)
        rows.append(dict(name=name, slots=s.num_slots, choices=s.num_choices, size=s.size,
                         ops=list(s.op_names), description=s.description))
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print(f"{r['name']:<16} {r['slots']} slots x {r['choices']} choices, {r['size']:>6} encodings  "
              f"{r['description']}")
        print(f"{'':<16} ops: {', '.join(r['ops'])}")


def _cmd_benchmarks(args):
    from . import tables
    rows = tables.availability(args.data_dir)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        mark = "available" if r["available"] else "MISSING"
        print(f"{r['benchmark']:<15} [{mark}] space={r['space']}  source: {r['source']}")
        print(f"{'':<15} datasets: {', '.join(r['datasets'])}")
        print(f"{'':<15} metrics:  {', '.join(r['metrics'])} (default {r['default_metric']})")
        if r["howto"]:
            print(f"{'':<15} how to get it: {r['howto']}")


def _load_table(args):
    from . import tables
    if args.table:
        if not args.space or not args.metric:
            raise CLIError("--table needs --space NAME and --metric KEY")
        return tables.load_custom(args.table, args.space, args.metric)
    return tables.load(args.benchmark, args.dataset, data_dir=args.data_dir, metric=args.metric)


def _run_pgnag(args, table, keys):
    """PG-NAG is host-driven (scoring, training): one run per seed, with progress."""
    from . import pgnag, tables
    source = table
    if args.prior_from:
        bench, _, ds = args.prior_from.partition(":")
        if not ds:
            raise CLIError(f"--prior-from takes BENCHMARK:DATASET, got {args.prior_from!r}")
        source = tables.load(bench, ds, data_dir=args.data_dir)
    cfg = pgnag.Config(k=args.k, method=args.prior_method, budget=args.prior_budget, temperature=args.tau,
                       prior=args.prior, sampler=args.sampler, samples=args.samples,
                       train=pgnag.TrainConfig(iterations=args.iterations))
    best_ops, best, queries = [], [], []
    for i, key in enumerate(keys):
        r = pgnag.run(key, source, table, cfg)
        best_ops.append(r.best_ops)
        best.append(r.best)
        queries.append(r.target_queries)
        print(f"jaxnag: pgnag run {i + 1}/{len(keys)}: best of {cfg.samples} = {r.best:.4f}, "
              f"mean {r.mean:.4f}, novelty {r.novelty:.0%}", file=sys.stderr, flush=True)
    return np.stack(best_ops), np.asarray(best, np.float64), np.asarray(queries)


def _run_diffusionnag(args, table, keys):
    """DiffusionNAG: guided rounds per seed from a trained score checkpoint; the predictor is
    trained on --predictor-queries random table lookups and ranks the generated cells; the
    reported best is the best true metric among the predictor's top-5 (5 more lookups)."""
    import jax

    from .diffusionnag import guidance, train
    if not args.checkpoint:
        raise CLIError("--method diffusionnag needs --checkpoint DIR (train one with `jaxnag train-score`)")
    model, tcfg, space = train.load_score(args.checkpoint, table.space)
    sde = tcfg.make_sde()
    gcfg = guidance.GuidanceConfig(scale=args.guidance_scale, steps=args.pc_steps)
    best_ops, best, queries = [], [], []
    for i, key in enumerate(keys):
        k_q, k_p, k_g = jax.random.split(key, 3)
        pred = None
        q_ranks = np.zeros(0, np.int64)
        if args.predictor_queries > 0:
            q = space.sample_unique(k_q, args.predictor_queries)
            pred = guidance.fit_predictor(k_p, space, q, table(q), sde)
            q_ranks = np.asarray(space.query_id(q))
        ops, _, info = guidance.generate(k_g, model, sde, space, args.samples, pred, gcfg, verbose=True)
        if len(ops) == 0:
            raise CLIError("no valid architecture was generated; train the score network longer")
        top = ops[:5]
        vals = np.asarray(table(top), np.float64)
        j = int(np.nanargmax(vals))
        best_ops.append(top[j])
        best.append(vals[j])
        queries.append(len(np.union1d(q_ranks, np.asarray(space.query_id(top)))))
        print(f"jaxnag: diffusionnag run {i + 1}/{len(keys)}: best of top-5 = {vals[j]:.4f} "
              f"({info.rounds} rounds, validity {info.validity:.0%})", file=sys.stderr, flush=True)
    return np.stack(best_ops), np.asarray(best), np.asarray(queries)


def _cmd_train_score(args):
    import jax

    from . import spaces
    from .diffusionnag import train
    cfg = train.TrainConfig(net=args.net, iterations=args.iterations, batch=args.batch, lr=args.lr,
                            sigma_max=args.sigma_max, log_every=min(args.log_every, args.iterations),
                            ckpt_every=args.ckpt_every)
    _, info = train.train_score(jax.random.key(args.seed), spaces.get(args.space), cfg, args.out,
                                resume=not args.restart)
    print(f"wrote {args.out}: {info['steps']} steps, final loss {info['losses'][-1] if info['losses'] else float('nan'):.4f}, "
          f"{info['steps_per_s']:.1f} steps/s")


def _cmd_generate(args):
    import jax

    for flag in ("seeds", "population", "steps", "budget", "k", "samples", "iterations", "pc_steps"):
        if getattr(args, flag) < 1:
            raise CLIError(f"--{flag.replace('_', '-')} must be a positive integer, got {getattr(args, flag)}")
    table = _load_table(args)
    space = table.space
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    t0 = time.perf_counter()
    if args.method == "pgnag":
        best_ops, best, queries = _run_pgnag(args, table, keys)
    elif args.method == "diffusionnag":
        best_ops, best, queries = _run_diffusionnag(args, table, keys)
    else:
        run = METHODS[args.method](args, table, space)
        print(f"jaxnag: compiling and running {args.seeds} x {args.method} on {table.name} in one call ...",
              file=sys.stderr, flush=True)
        res = jax.block_until_ready(jax.jit(jax.vmap(run))(keys))
        best_ops = np.asarray(res.best_ops)
        best = np.asarray(res.best_fitness, np.float64)
        queries = np.asarray(res.queries)
    elapsed = time.perf_counter() - t0
    optimum = float(table.optimum)
    # "seed" i is the run's key: jax.random.split(jax.random.key(--seed), --seeds)[i]
    runs = [dict(seed=i, best_arch=space.to_string(best_ops[i]), best_score=float(best[i]),
                 queries=int(queries[i])) for i in range(args.seeds)]
    out = dict(method=args.method, benchmark=table.info.benchmark, dataset=table.info.dataset,
               metric=table.info.metric, optimum=optimum,
               hit_rate=float(np.mean(best >= np.float32(optimum))), time_s=elapsed, runs=runs)
    if args.json:
        print(json.dumps(out))
        return
    print(f"{args.method} on {table.name}  ({args.seeds} runs in {elapsed:.2f} s incl. compilation; "
          f"optimum {optimum:.4f})")
    print(f"{'run':>4} {'best':>10} {'queries':>8}  architecture")
    for r in runs:
        hit = "*" if r["best_score"] >= np.float32(optimum) else " "
        print(f"{r['seed']:>4} {r['best_score']:>10.4f}{hit}{r['queries']:>8}  {r['best_arch']}")
    print(f"mean best {best.mean():.4f} +- {best.std():.4f}, hit rate {out['hit_rate']:.0%} (* = optimum)")


def _cmd_prior(args):
    import jax

    from . import prior, tables
    table = tables.load(args.benchmark, args.dataset, data_dir=args.data_dir)
    r = prior.score_table(jax.random.key(args.seed), table, args.k, args.method, args.budget)
    space = table.space
    if args.json:
        print(json.dumps(dict(benchmark=table.info.benchmark, dataset=table.info.dataset, k=args.k,
                              method=args.method, lookups=r.lookups, unique_lookups=r.unique_lookups,
                              slots=list(space.slot_names), choices=[list(c) for c in space.choices],
                              score=np.nan_to_num(r.score).tolist(), prior=r.prior.tolist(),
                              frequency=r.frequency.tolist())))
    else:
        width = max(len(n) for c in space.choices for n in c)
        print(f"score[slot, op] of the top-{args.k} of {table.name} ({args.method}, {r.lookups} lookups)")
        print(" " * 12 + " ".join(f"{n:>{width}}" for n in space.op_names))
        for i, name in enumerate(space.slot_names):
            print(f"{name:>12}" + " ".join(f"{v:>{width}.3f}" for v in np.nan_to_num(r.score[i])))
    if args.plot:
        from .prior.plot import heatmap
        heatmap(r.score, space, f"{table.name}: Shapley score, top-{args.k}", args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)


def _cmd_import_nats(args):
    from .tables.nats_import import import_nats
    arrays = import_nats(args.path, args.out)
    n = len(arrays["index"])
    msg = f"wrote {args.out}: {n} architectures"
    if n:
        i = int(np.nanargmax(arrays["test_acc_cifar10"])) if np.isfinite(arrays["test_acc_cifar10"]).any() else 0
        msg += f"; best CIFAR-10 test accuracy {arrays['test_acc_cifar10'][i]:.2f} ({arrays['arch_str'][i]})"
    print(msg)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="jaxnag", description="Neural architecture generation in JAX.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    sub.required = True

    s = sub.add_parser("spaces", help="list the search spaces")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_spaces)

    b = sub.add_parser("benchmarks", help="list benchmarks, datasets and where their data comes from")
    b.add_argument("--data-dir", default=None, help="folder with the .npz tables (default $JAXNAG_DATA_DIR)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=_cmd_benchmarks)

    g = sub.add_parser("generate", help="generate architectures for a task with one method, over seeds")
    g.add_argument("--method", choices=sorted(METHODS), default="ednag")
    g.add_argument("--benchmark", default="nasbench_graph")
    g.add_argument("--dataset", default="cora")
    g.add_argument("--table", default=None, help="custom .npz table (with --metric and --space)")
    g.add_argument("--metric", default=None)
    g.add_argument("--space", default=None)
    g.add_argument("--seeds", type=int, default=10, help="independent runs, vmapped in one call")
    g.add_argument("--seed", type=int, default=0, help="base PRNG seed")
    g.add_argument("--population", type=int, default=30)
    g.add_argument("--steps", type=int, default=100)
    g.add_argument("--budget", type=int, default=300, help="unique queries for random/rea")
    g.add_argument("--faithful", action="store_true", help="EDNAG: reproduce the reference code's behaviour")
    pg = g.add_argument_group("pgnag")
    pg.add_argument("--k", type=int, default=20, help="top-k architectures scored")
    pg.add_argument("--tau", type=float, default=None, help="prior temperature (default: std of the scores)")
    pg.add_argument("--samples", type=int, default=100, help="architectures generated per run")
    pg.add_argument("--prior-budget", type=int, default=None, help="score the top-k of B random queries")
    pg.add_argument("--prior-from", default=None, help="BENCHMARK:DATASET to score the prior on (transfer)")
    pg.add_argument("--prior-method", choices=["exact", "mc", "loo"], default="exact")
    pg.add_argument("--prior", choices=["shapley", "frequency", "uniform"], default="shapley")
    pg.add_argument("--sampler", choices=["diffusion", "direct"], default="diffusion")
    pg.add_argument("--iterations", type=int, default=1500, help="denoiser training iterations")
    dn = g.add_argument_group("diffusionnag")
    dn.add_argument("--checkpoint", default=None, help="score checkpoint folder from `jaxnag train-score`")
    dn.add_argument("--guidance-scale", type=float, default=5.0, help="w in s + w * grad f")
    dn.add_argument("--predictor-queries", type=int, default=300, help="table lookups to train the predictor")
    dn.add_argument("--pc-steps", type=int, default=1000, help="predictor-corrector steps")
    g.add_argument("--data-dir", default=None)
    g.add_argument("--json", action="store_true", help="print one JSON object")
    g.set_defaults(func=_cmd_generate)

    ts = sub.add_parser("train-score", help="train a DiffusionNAG score network (writes a resumable checkpoint)")
    ts.add_argument("--out", required=True, help="checkpoint folder")
    ts.add_argument("--space", default="nb201")
    ts.add_argument("--net", choices=["small", "reference"], default="small")
    ts.add_argument("--iterations", type=int, default=6000)
    ts.add_argument("--batch", type=int, default=256)
    ts.add_argument("--lr", type=float, default=1e-3)
    ts.add_argument("--sigma-max", type=float, default=5.0)
    ts.add_argument("--log-every", type=int, default=500)
    ts.add_argument("--ckpt-every", type=int, default=2000)
    ts.add_argument("--seed", type=int, default=0)
    ts.add_argument("--restart", action="store_true", help="ignore an existing checkpoint in --out")
    ts.set_defaults(func=_cmd_train_score)

    pr = sub.add_parser("prior", help="PG-NAG component scores of a table's best architectures")
    pr.add_argument("--benchmark", default="nasbench_graph")
    pr.add_argument("--dataset", default="cora")
    pr.add_argument("--data-dir", default=None)
    pr.add_argument("--k", type=int, default=20)
    pr.add_argument("--method", choices=["exact", "mc", "loo"], default="exact")
    pr.add_argument("--budget", type=int, default=None, help="score the top-k of B random queries")
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--plot", default=None, help="write a heatmap PNG of score[slot, op] here")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=_cmd_prior)

    d = sub.add_parser("data", help="data tools")
    dsub = d.add_subparsers(dest="data_command", parser_class=_Parser)
    dsub.required = True
    imp = dsub.add_parser("import-nats", help="convert an official NATS-Bench topology release to nb201.npz")
    imp.add_argument("path", help="NATS-tss-v1_0-3ffb9-simple folder or NATS-tss-*.pickle.pbz2 file")
    imp.add_argument("--out", required=True, help="output .npz (name it nb201.npz inside your data dir)")
    imp.set_defaults(func=_cmd_import_nats)
    return p


def main(argv=None) -> int:
    from .spaces import InvalidArchitecture
    from .tables import DataError  # CheckpointError is a DataError
    try:
        args = build_parser().parse_args(argv)
        args.func(args)
    except CLIError as e:
        msg = str(e)
        print(msg if msg.startswith("jaxnag") else f"jaxnag: error: {msg}", file=sys.stderr)
        return 2
    except KeyError as e:
        print(f"jaxnag: error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    except (DataError, InvalidArchitecture, ValueError, FileNotFoundError) as e:
        print(f"jaxnag: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
