"""Fingerprints of every generator's runs: save them at one commit, compare at another (bit-identity).

A refactoring that must not change results (the query archive moving into one module, a state
re-laid out) is checked by running this at the commit before (``--save``) and after (``--compare``):
every generator of the registry, plain and under the budget and surrogate wrappers, on NB201 and
NAS-Bench-Graph, three seeds each through ``generate`` (vmapped) and one through the host driver
``protocol.run``. Each run's ``best_ops``, ``best_fitness``, ``queries`` and traces are recorded;
``--compare`` prints, per run and field, whether it is bit-identical, and exits 1 if any differs.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/fingerprint.py --save /tmp/before.npz
  JAXNAG_DATA_DIR=../shared/data python benchmarks/fingerprint.py --compare /tmp/before.npz [--only NAME]
"""

from __future__ import annotations

import argparse
import sys

import jax
import numpy as np

from jaxnag import budget, protocol, registry, surrogate, tables

SPACES = {"nb201": "cifar10", "nasbench_graph": "cora"}
FIELDS = ("best_ops", "best_fitness", "queries", "best_trace", "queries_trace")


def _context(gen, space, source):
    ctx = {}
    if "source" in gen.context:
        ctx["source"] = source
    if "score_model" in gen.context:
        from jaxnag.diffusionnag import generator as dn
        from jaxnag.diffusionnag import train as dn_train
        tcfg = dn_train.ScoreTrainConfig(net="small") if hasattr(dn_train, "ScoreTrainConfig") else \
            dn_train.TrainConfig(net="small")  # before the rename
        ctx["score_model"] = dn.ScoreModel.of(dn_train.build(space, tcfg, jax.random.key(0)), tcfg.make_sde())
    return ctx


def cases(only=None):
    """``(label, generator, settings, context-maker)`` of every run fingerprinted."""
    for name in registry.names():
        if name not in ("ednag", "random", "rea", "evosax", "pgnag", "diffusionnag"):
            continue  # plugins are not part of the fingerprint
        gen = registry.get(name)
        try:
            gen.config(__import__("jaxnag").spaces.get("nb201"), **gen.small)
        except Exception:  # an extra not installed (evosax)
            continue
        yield name, gen, dict(gen.small)
        yield f"budget({name})", budget.with_budget(gen), dict(gen.small, budget=20)
        if name in ("ednag", "pgnag"):
            extra = dict(samples=10) if name == "pgnag" else {}
            yield f"surrogate({name})", surrogate.with_surrogate(gen), dict(gen.small, query=4, **extra)
            yield f"budget(surrogate({name}))", budget.with_budget(surrogate.with_surrogate(gen)), \
                dict(gen.small, query=4, budget=20, local=2, **extra)


def fingerprint(only=None) -> dict:
    out = {}
    for bench, dataset in SPACES.items():
        t = tables.load(bench, dataset)
        space = t.space
        source = t
        for label, gen, settings in cases():
            if only and only not in label:
                continue
            if "score_model" in gen.context and not space.edges:
                continue  # DiffusionNAG needs a cell space with ops on edges
            cfg = gen.config(space, **settings)
            ctx = _context(gen, space, source)
            run = jax.jit(jax.vmap(lambda k, c: gen.generate(k, t, space, cfg, **c), in_axes=(0, None)))
            res = run(jax.random.split(jax.random.key(0), 3), ctx)
            for f in FIELDS:
                out[f"{bench}/{label}/generate/{f}"] = np.asarray(getattr(res, f))
            host = protocol.run(gen, jax.random.key(1), lambda ops: np.asarray(t(ops)), space, cfg, **ctx)
            for f in FIELDS:
                out[f"{bench}/{label}/run/{f}"] = np.asarray(getattr(host, f))
            print(f"{bench:15s} {label:32s} best {np.asarray(res.best_fitness).round(3).tolist()} "
                  f"queries {np.asarray(res.queries).tolist()}", flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", help="write the fingerprints to this .npz")
    g.add_argument("--compare", help="compare with the fingerprints in this .npz")
    p.add_argument("--only", help="only the runs whose label contains this")
    args = p.parse_args(argv)
    now = fingerprint(args.only)
    if args.save:
        np.savez(args.save, **now)
        print(f"saved {len(now)} arrays to {args.save}")
        return 0
    before = dict(np.load(args.compare))
    differ = 0
    for k, v in now.items():
        if k not in before:
            print(f"NEW      {k}")
            continue
        same = before[k].shape == v.shape and np.array_equal(before[k], v, equal_nan=True)
        if not same:
            differ += 1
            print(f"DIFFERS  {k}: before {before[k].ravel()[:6].tolist()} now {v.ravel()[:6].tolist()}")
    runs = {k.rsplit("/", 1)[0] for k in now}
    print(f"{len(now) - differ} of {len(now)} arrays bit-identical ({len(runs)} runs); {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
