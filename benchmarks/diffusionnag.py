"""DiffusionNAG on NB201: sample quality, predictor-guided generation, throughput.

Needs a score checkpoint from ``jaxnag train-score --out DIR`` (the small config
trains on this CPU in minutes).

1. Unguided: validity, uniqueness, novelty of 1,000 samples (1,000 PC steps).
2. Guided: for CIFAR-10, CIFAR-100, ImageNet16-120 and predictor budgets of 100, 300
   and 1,000 table queries, over SEEDS seeds (``diffusionnag.generate`` vmapped over seeds
   and datasets, one call per budget): train the noise-aware predictor, run one guided
   round of 256 samples, rank the distinct valid ones by the predictor and report the
   true accuracy of the top-1 and the best of the top-5 (and how often the top-5 holds
   the optimum).
3. Throughput, side by side in this process: sampling architectures per second for
   1,000 PC steps at batch 1, 100 and 1,000 for both network configs (the reference
   network and the small batches are timed over fewer steps and scaled, since the
   cost per step is constant: the table says which), and training steps per second.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/diffusionnag.py --checkpoint DIR [--seeds 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np
from flax import nnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe  # noqa: E402

from jaxnag import spaces, tables  # noqa: E402
from jaxnag.diffusionnag import encoding, generator, train  # noqa: E402
from jaxnag.diffusionnag.sampler import pc_sample  # noqa: E402
from jaxnag.nn.score_net import REFERENCE, SMALL, ScoreNet, count_params, nb201_graph  # noqa: E402


def sample_fn(model, sde, n, steps):
    g, st = nnx.split(model)

    @jax.jit
    def run(st, key):
        m = nnx.merge(g, st)
        return pc_sample(key, lambda x, lvl: m(x, lvl), sde, (n, 8, 7), steps)

    return lambda key: run(st, key)


def throughput(sde, model_small, rows):
    for name, model, cfg in (("small", model_small, SMALL),
                             ("reference", ScoreNet(REFERENCE, nb201_graph(), rngs=nnx.Rngs(0)), REFERENCE)):
        for batch in (1, 100, 1000):
            steps = 1000 if (name == "small" and batch == 1000) else (20 if name == "reference" else 100)
            f = sample_fn(model, sde, batch, steps)
            jax.block_until_ready(f(jax.random.key(0)))
            t0 = time.perf_counter()
            jax.block_until_ready(f(jax.random.key(1)))
            dt = (time.perf_counter() - t0) * 1000 / steps  # scaled to 1,000 PC steps
            rows.append(dict(config=name, params=count_params(model), batch=batch, timed_steps=steps,
                             seconds_per_1000_steps=dt, archs_per_s=batch / dt))
            print(f"sampling {name:<9} batch {batch:>4}: {batch / dt:9.2f} archs/s for 1,000 PC steps "
                  f"({dt:.2f} s; timed over {steps} steps)", flush=True)


def train_rate(space, rows):
    for name, chunk in (("small", 100), ("reference", 10)):
        cfg = train.ScoreTrainConfig(net=name, iterations=4 * chunk, log_every=chunk, ckpt_every=10**9)
        _, info = train.train_score(jax.random.key(1), space, cfg, verbose=False)
        rows.append(dict(config=name, batch=cfg.batch, steps_per_s=info["steady_steps_per_s"], chunk=chunk))
        print(f"training {name:<9}: {info['steady_steps_per_s']:.2f} steps/s (batch 256; median of chunks of "
              f"{chunk} steps after the first, which compiles)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--scale", type=float, default=5.0)
    ap.add_argument("--guided-steps", type=int, default=250)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="docs")
    ap.add_argument("--parts", default="unguided,guided,throughput",
                    help="comma list; skipped parts are taken from an existing OUT/diffusionnag.json")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    model, tcfg, space = train.load_score(args.checkpoint, spaces.get("nb201"))
    sde = tcfg.make_sde()
    previous = out / "diffusionnag.json"
    result = json.loads(previous.read_text()) if previous.is_file() and parts != {"unguided", "guided", "throughput"} \
        else {}
    result.update(checkpoint=str(args.checkpoint), train_config=tcfg.__dict__, machine=describe())

    if "unguided" in parts:
        x = sample_fn(model, sde, 1000, 1000)(jax.random.key(123))
        result["unguided"] = encoding.metrics(encoding.binarize(x), space, train_ops=space.all_ops())
    m = result["unguided"]
    print(f"unguided 1,000 samples: validity {m['validity']:.2%}, uniqueness {m['uniqueness']:.2%}, "
          f"novelty {m['novelty']:.2%}", flush=True)

    guided_rows = [] if "guided" in parts else result["guided"]
    datasets = ("cifar10", "cifar100", "imagenet16")
    stacked = tables.stack([tables.load("nb201", ds, data_dir=args.data_dir) for ds in datasets])
    score = generator.ScoreModel.of(model, sde)
    for q in (100, 300, 1000) if "guided" in parts else ():
        cfg = generator.Config(predictor_queries=q, pc_steps=args.guided_steps, guidance_scale=args.scale)
        one = lambda k, t, s: generator.generate(k, t, space, cfg, s)  # noqa: E731
        grid = jax.jit(jax.vmap(jax.vmap(one, in_axes=(0, None, None)), in_axes=(None, 0, None)))
        t0 = time.perf_counter()
        res = jax.block_until_ready(grid(jax.random.split(jax.random.key(q), args.seeds), stacked, score))
        print(f"guided Q={q}: {len(datasets)} datasets x {args.seeds} seeds in one call, "
              f"{time.perf_counter() - t0:.1f} s with compilation", flush=True)
        values = np.asarray(res.extras["candidate_values"], np.float64)  # [datasets, seeds, top]
        for i, (ds, t) in enumerate(zip(datasets, tables.unstack(stacked))):
            top1, top5 = values[i, :, 0], np.nanmax(values[i], axis=1)
            row = dict(dataset=ds, queries=q, top1=float(np.mean(top1)), top1_std=float(np.std(top1)),
                       top5=float(np.mean(top5)), top5_std=float(np.std(top5)),
                       hit5=float(np.mean(top5 >= np.float32(t.optimum))), optimum=float(t.optimum),
                       validity=float(np.mean(res.extras["validity"][i])),
                       distinct=float(np.mean(res.extras["distinct"][i])))
            guided_rows.append(row)
            print(f"guided {ds:<10} Q={q:<5} top-1 {row['top1']:.3f} +- {row['top1_std']:.3f}  top-5 best "
                  f"{row['top5']:.3f}  optimum in top-5: {row['hit5']:.0%}", flush=True)
    result["guided"] = guided_rows

    if "throughput" in parts:
        tp, tr = [], []
        throughput(sde, model, tp)
        train_rate(space, tr)
        result["sampling"], result["training"] = tp, tr
    tp, tr = result["sampling"], result["training"]
    (out / "diffusionnag.json").write_text(json.dumps(result, indent=1))
    lines = ["# DiffusionNAG on NB201", "",
             f"Produced by `JAXNAG_DATA_DIR=../shared/data python benchmarks/diffusionnag.py --checkpoint "
             f"{args.checkpoint} --seeds {args.seeds}` on {result['machine']}. Checkpoint: the small network "
             f"({tcfg.iterations} iterations, batch {tcfg.batch}, lr {tcfg.lr}, VE-SDE sigma {tcfg.sigma_min}-"
             f"{tcfg.sigma_max}), made by `jaxnag train-score --out {args.checkpoint} --iterations {tcfg.iterations}`.",
             "", "## Unguided samples (1,000, 1,000 PC steps)", "",
             f"validity {m['validity']:.2%}, uniqueness {m['uniqueness']:.2%}, novelty {m['novelty']:.2%} "
             "(the training set is all 15,625 cells, so every valid sample is in it: novelty is 0 by construction).",
             "", f"## Guided generation (scale {args.scale}, {args.guided_steps} PC steps, one round of 256 samples, "
             f"the distinct valid ones ranked by the predictor, the top-5 queried; {args.seeds} seeds)", "",
             "`diffusionnag.generate` vmapped over seeds and the three datasets (a stacked table): one call per "
             "predictor budget Q.", "",
             "| dataset | predictor queries | top-1 accuracy | best of top-5 | optimum in top-5 | optimum |",
             "|---|---|---|---|---|---|"]
    for r in guided_rows:
        lines.append(f"| {r['dataset']} | {r['queries']} | {r['top1']:.3f} +- {r['top1_std']:.3f} | "
                     f"{r['top5']:.3f} +- {r['top5_std']:.3f} | {r['hit5']:.0%} | {r['optimum']:.2f} |")
    lines += ["", "## Sampling throughput (architectures per second for 1,000 PC steps)", "",
              "| network | parameters | batch | seconds per 1,000 steps | archs/s | timed over |", "|---|---|---|---|---|---|"]
    for r in tp:
        lines.append(f"| {r['config']} | {r['params']:,} | {r['batch']} | {r['seconds_per_1000_steps']:.2f} | "
                     f"{r['archs_per_s']:.2f} | {r['timed_steps']} steps |")
    lines += ["", "## Training throughput (steady state, compilation excluded)", "", "| network | batch | steps/s |",
              "|---|---|---|"]
    for r in tr:
        lines.append(f"| {r['config']} | {r['batch']} | {r['steps_per_s']:.2f} |")
    (out / "diffusionnag.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'diffusionnag.md'}")


if __name__ == "__main__":
    main()
