"""EDNAG hyperparameter sweep on NB201 as one vmap over configs, seeds and datasets; how the
library's default configuration was chosen.

1. Sweep: hyperparameters are pytree leaves of ``ednag.Config``, so a grid of configs (around the
   reference configuration, N = 30, T = 100) is one batched ``Config`` and the whole sweep
   (configs x 3 datasets x seeds) is one compiled call.
2. Length: the sweep's best config at T = 100 .. 150 on other seeds (``--length-seeds``). The
   rule, fixed before the run: the fewest mean unique queries among the lengths whose worst
   dataset hits the optimum in at least ``--target`` of those seeds.
3. Check: the reference's hyperparameters, the sweep's choice at T = 100, the chosen length and
   the library's defaults (``ednag.Config()``) on fresh seeds that no choice saw, twice
   (``--check-seeds`` and ``--wide-seeds``), so the hit rates are not inflated by the choice.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/ednag_sweep.py [--seeds 100] [--length-seeds 500]
      [--check-seeds 200] [--wide-seeds 1000] [--out docs]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe  # noqa: E402

from jaxnag import ednag, tables  # noqa: E402

DATASETS = ("cifar10", "cifar100", "imagenet16")
GRID = dict(diversity_rate=[0.0, 0.2], elite_rate=[0.1, 0.3, 0.5], mutation_index=[2.0, 3.0, 5.0],
            temperature=[0.1, 0.3, 1.0])
LENGTHS = (100, 110, 120, 130, 140, 150)
KEYS = dict(sweep=11, length=13, check=2611, wide=2612)  # disjoint seed sets (check: fresh, used by no choice)


def hit_rates(cfgs: ednag.Config, stacked, space, keys) -> tuple[np.ndarray, np.ndarray]:
    """Hit rate and mean unique queries, ``[configs, datasets]``: one compiled call."""
    per_task = jax.vmap(lambda c, t: jax.vmap(lambda k: ednag.generate(k, t, space, c))(keys), in_axes=(None, 0))
    run = jax.jit(jax.vmap(per_task, in_axes=(0, None)))
    r = run(cfgs, stacked)
    hit = np.asarray(r.best_fitness >= stacked.optimum[None, :, None]).mean(-1)
    return hit, np.asarray(r.queries).mean(-1)


def _one(cfg: ednag.Config, stacked, space, keys):
    h, q = hit_rates(cfg.batched(temperature=[cfg.temperature]), stacked, space, keys)
    return h[0], q[0]


def _seeds(name: str, n: int):
    return jax.random.split(jax.random.key(KEYS[name]), n)


def _fmt_hit(h) -> str:
    return " / ".join(f"{v:.1%}" for v in h)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--length-seeds", type=int, default=500)
    ap.add_argument("--check-seeds", type=int, default=200)
    ap.add_argument("--wide-seeds", type=int, default=1000)
    ap.add_argument("--target", type=float, default=0.97, help="stage 2: worst-dataset hit rate wanted")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="docs")
    args = ap.parse_args()
    ts = [tables.load("nb201", d, data_dir=args.data_dir) for d in DATASETS]
    stacked, space = tables.stack(ts), ts[0].space
    names = list(GRID)
    combos = list(itertools.product(*GRID.values()))
    base = ednag.Config.reference()  # N = 30, T = 100, the reference's selection and mutation
    cfgs = base.batched(**{n: [c[i] for c in combos] for i, n in enumerate(names)})

    # 1. the sweep
    t0 = time.perf_counter()
    hit, q = hit_rates(cfgs, stacked, space, _seeds("sweep", args.seeds))
    sweep_s = time.perf_counter() - t0
    order = np.lexsort((-hit.mean(1), -hit.min(1)))  # best worst-dataset hit rate, then mean
    rows = [dict(zip(names, combos[i]), hit=hit[i].tolist(), queries=q[i].tolist()) for i in order]
    best = base.replace(**dict(zip(names, combos[order[0]])))

    # 2. the length
    lengths = []
    for steps in LENGTHS:
        h, qq = _one(best.replace(steps=steps), stacked, space, _seeds("length", args.length_seeds))
        lengths.append(dict(steps=steps, hit=h.tolist(), queries=qq.tolist()))
    ok = [r for r in lengths if min(r["hit"]) >= args.target]
    chosen = min(ok, key=lambda r: np.mean(r["queries"]))["steps"] if ok else None

    # 3. the check on fresh seeds
    fields = ["population", "steps", *names]
    check = [("reference hyperparameters (defaults before issue 12)", base),
             ("sweep's choice, T = 100", best)]
    defaults = ednag.Config()
    if chosen is not None and best.replace(steps=chosen) == defaults:
        check.append((f"sweep's choice, T = {chosen} = library defaults, `ednag.Config()`", defaults))
    else:
        if chosen is not None:
            check.append((f"sweep's choice, T = {chosen}", best.replace(steps=chosen)))
        check.append(("library defaults, `ednag.Config()`", defaults))
    checked = []
    for label, c in check:
        h, qq = _one(c, stacked, space, _seeds("check", args.check_seeds))
        hw, qw = _one(c, stacked, space, _seeds("wide", args.wide_seeds))
        checked.append(dict(label=label, config={n: getattr(c, n) for n in fields}, hit=h.tolist(),
                            queries=qq.tolist(), wide_hit=hw.tolist(), wide_queries=qw.tolist()))

    lines = [
        "# EDNAG hyperparameter sweep on NB201 (default mode): how the defaults were chosen",
        "",
        f"Produced by `JAXNAG_DATA_DIR=../shared/data python benchmarks/ednag_sweep.py --seeds {args.seeds} "
        f"--length-seeds {args.length_seeds} --check-seeds {args.check_seeds} --wide-seeds {args.wide_seeds}` on "
        f"{describe()}. `hit` = share of seeds reaching the table optimum (CIFAR-10 / CIFAR-100 / ImageNet16-120); "
        "`queries` = mean unique architectures evaluated. Seeds of the four stages are disjoint "
        f"(`jax.random.split(jax.random.key(k), n)` with k = {KEYS['sweep']}, {KEYS['length']}, {KEYS['check']}, "
        f"{KEYS['wide']}).",
        "",
        f"## Check on fresh seeds ({args.check_seeds} and {args.wide_seeds})",
        "",
        "| | " + " | ".join(fields) + f" | hit, {args.check_seeds} seeds | queries | hit, {args.wide_seeds} seeds |",
        "|---|" + "---|" * len(fields) + "---|---|---|",
    ]
    for c in checked:
        lines.append(f"| {c['label']} | " + " | ".join(f"{c['config'][n]:g}" for n in fields) + " | "
                     + _fmt_hit(c["hit"]) + f" | {np.mean(c['queries']):.0f} | {_fmt_hit(c['wide_hit'])} |")
    lines += ["", f"## 2. Length: the sweep's choice at T = {', '.join(map(str, LENGTHS))} ({args.length_seeds} seeds)",
              "", f"Rule: the fewest queries among the lengths whose worst dataset reaches {args.target:.0%}; "
              + (f"chosen: T = {chosen}." if chosen else "none does."), "",
              "| T | hit C10 / C100 / IN16 | queries |", "|---|---|---|"]
    for r in lengths:
        lines.append(f"| {r['steps']} | {_fmt_hit(r['hit'])} | {np.mean(r['queries']):.0f} |")
    lines += ["", f"## 1. Sweep ({args.seeds} seeds, N = 30, T = 100, other fields as in the reference; "
              f"{len(combos)} configurations x 3 datasets x {args.seeds} seeds = {len(combos) * 3 * args.seeds:,} runs "
              f"in {sweep_s:.1f} s, one compiled call: the configs are a batched `ednag.Config`), best first", "",
              "| " + " | ".join(names) + " | hit C10 / C100 / IN16 | queries |",
              "|" + "---|" * len(names) + "---|---|"]
    for r in rows:
        lines.append("| " + " | ".join(f"{r[n]:g}" for n in names) + " | "
                     + " / ".join(f"{h:.0%}" for h in r["hit"]) + f" | {np.mean(r['queries']):.0f} |")
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    (out / "ednag_sweep.md").write_text("\n".join(lines) + "\n")
    (out / "ednag_sweep.json").write_text(json.dumps(dict(sweep=rows, lengths=lengths, chosen_steps=chosen,
                                                          check=checked, sweep_seconds=sweep_s), indent=1))
    print("\n".join(lines[:30]))


if __name__ == "__main__":
    main()
