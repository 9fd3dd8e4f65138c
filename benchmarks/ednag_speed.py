"""EDNAG speed, side by side in one process, reported as ratios.

(a) one EDNAG run after compilation, at the reference configuration (N = 30, T = 100, like
    the reference loop it is compared with; ``ednag.Config.reference()``);
(b) 1,000 seeds vmapped in one call (JAX's default threefry keys, and philox keys:
    random bits are a large share of the work at N = 30, and XLA's CPU threefry is a
    rolled loop);
(c) per-generation time of EDNAG against evosax DiffusionEvolution at population 512
    and 30 dimensions (NB201's 6 x 5 encoding), both 100 generations under lax.scan
    on the same table fitness; and, like for like, EDNAG's denoising part alone
    (evaluate, count queries, fitness weights, x0, DDIM: what a DiffusionEvolution
    generation does), composed from jaxnag.ednag.denoise;
(d) compile time of one run;
(e) multi-task generation with the library's defaults (``ednag.Config()``): hit rates.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/ednag_speed.py [--repeats 5] [--out docs]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe  # noqa: E402

from jaxnag import ednag, queries, schedules, shaping, tables  # noqa: E402
from jaxnag.ednag import denoise  # noqa: E402
from jaxnag.baselines.evosax_adapter import evosax_search  # noqa: E402

REFERENCE_RUN_S = (2.1, 2.3)  # reference EDNAG loop on these CPUs (methods.md)


def timed(fn, *args, repeats):
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        out.append(time.perf_counter() - t0)
    return float(np.median(out)), float(np.min(out))


def denoise_only(key, table, space, n, steps):
    """EDNAG's denoising generations without mutation and selection, at population n."""
    r, c = space.shape
    alphas = schedules.get("cosine", steps)

    def evaluate(x, seen, q):
        ops = space.from_one_hot(x.reshape(n, r, c))
        seen, new = queries.mark(seen, space.query_id(ops), space.is_valid(ops))
        return table(ops), seen, q + new

    k0, key = jax.random.split(key)
    x = jax.random.normal(k0, (n, r * c))
    f, seen, q = evaluate(x, queries.empty(space.size), jnp.int32(0))

    def body(carry, inp):
        x, f, seen, q = carry
        k, t = inp
        x0 = denoise.weighted_x0_log(x, shaping.centered_rank(f) / 0.1, alphas[t])
        x = denoise.normalize(denoise.ddim_step(k, x, x0, alphas[t], alphas[t - 1], 0.8))
        f, seen, q = evaluate(x, seen, q)
        return (x, f, seen, q), jnp.max(f)

    ts = jnp.arange(steps - 1, 0, -1)
    (x, f, seen, q), best = jax.lax.scan(body, (x, f, seen, q), (jax.random.split(key, steps - 1), ts))
    return best, q


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="docs")
    args = ap.parse_args()
    table = tables.load("nb201", "cifar10", data_dir=args.data_dir)
    space = table.space
    cfg = ednag.Config.reference()  # (a)-(d): like for like with the reference loop's N = 30, T = 100
    default = ednag.Config()  # (e)
    key = jax.random.key(0)
    res = {}

    one = jax.jit(lambda k: ednag.generate(k, table, space, cfg))
    t0 = time.perf_counter()
    jax.block_until_ready(one(key))
    res["compile_plus_first_run_s"] = time.perf_counter() - t0
    lowered = jax.jit(lambda k: ednag.generate(k, table, space, cfg)).lower(key)
    t0 = time.perf_counter()
    lowered.compile()
    res["compile_s"] = time.perf_counter() - t0
    res["one_run_s"], res["one_run_min_s"] = timed(one, key, repeats=args.repeats)

    many = jax.jit(jax.vmap(lambda k: ednag.generate(k, table, space, cfg)))
    keys = jax.random.split(key, 1000)
    philox = jax.random.split(jax.random.key(0, impl="philox2x32"), 1000)
    jax.block_until_ready(many(keys))
    jax.block_until_ready(many(philox))
    res["1000_seeds_s"], res["1000_seeds_min_s"] = timed(many, keys, repeats=max(2, args.repeats // 2))
    res["1000_seeds_philox_s"], res["1000_seeds_philox_min_s"] = timed(many, philox,
                                                                       repeats=max(2, args.repeats // 2))

    big = cfg.replace(population=512)
    ed512 = jax.jit(lambda k: ednag.generate(k, table, space, big))
    evo512 = jax.jit(lambda k: evosax_search(k, "DiffusionEvolution", table, space, 512, 100))
    jax.block_until_ready(ed512(key))
    jax.block_until_ready(evo512(key))
    ed_s, _ = timed(ed512, key, repeats=args.repeats)
    evo_s, _ = timed(evo512, key, repeats=args.repeats)
    res["ednag_per_gen_512_ms"] = ed_s / (big.steps - 1) * 1e3
    res["evosax_de_per_gen_512_ms"] = evo_s / 100 * 1e3
    res["ratio_evosax_over_ednag_per_gen"] = res["evosax_de_per_gen_512_ms"] / res["ednag_per_gen_512_ms"]
    den512 = jax.jit(lambda k: denoise_only(k, table, space, 512, big.steps))
    jax.block_until_ready(den512(key))
    den_s, _ = timed(den512, key, repeats=args.repeats)
    res["ednag_denoise_only_per_gen_512_ms"] = den_s / (big.steps - 1) * 1e3
    res["ratio_evosax_over_denoise_only"] = res["evosax_de_per_gen_512_ms"] / res["ednag_denoise_only_per_gen_512_ms"]

    # (e) multi-task generation: every task x 100 seeds in one compiled call (vmap over tables and keys).
    multi = []
    for bench, datasets in (("nb201", ("cifar10", "cifar100", "imagenet16")),
                            ("tnb101_micro", tables.benchmark("tnb101_micro").datasets)):
        ts = [tables.load(bench, d, data_dir=args.data_dir) for d in datasets]
        stacked = tables.stack(ts)
        sp = ts[0].space
        run = jax.jit(jax.vmap(jax.vmap(lambda t, k: ednag.generate(k, t, sp, default), in_axes=(None, 0)),
                               in_axes=(0, None)))
        keys100 = jax.random.split(jax.random.key(1), 100)
        jax.block_until_ready(run(stacked, keys100))
        t0 = time.perf_counter()
        r = jax.block_until_ready(run(stacked, keys100))
        dt = time.perf_counter() - t0
        hits = np.asarray(r.best_fitness >= stacked.optimum[:, None]).mean(axis=1)
        multi.append(dict(benchmark=bench, tasks=list(datasets), seconds=dt, hit_rates=hits.tolist()))
    res["multitask"] = multi
    res["ratio_reference_over_one_run"] = REFERENCE_RUN_S[0] / res["one_run_s"]
    res["ratio_one_run_x1000_over_vmapped_1000"] = 1000 * res["one_run_s"] / res["1000_seeds_s"]
    res["machine"] = describe()

    lines = [
        "# EDNAG speed (one process, side by side)",
        "",
        f"Produced by `JAXNAG_DATA_DIR=../shared/data python benchmarks/ednag_speed.py --repeats {args.repeats}` "
        f"on {res['machine']}. Medians of {args.repeats} repeats after compilation. "
        "Timings on these shared machines are noisy; the ratios are the figures to read.",
        "",
        "| measurement | value |",
        "|---|---|",
        f"| (a) one run, N = {cfg.population}, T = {cfg.steps} (`ednag.Config.reference()`) "
        f"| {res['one_run_s'] * 1e3:.2f} ms |",
        f"| (a) reference loop (methods.md, same CPU kind) / one run | {res['ratio_reference_over_one_run']:.0f}x |",
        f"| (b) 1,000 seeds vmapped, one call | {res['1000_seeds_s']:.3f} s |",
        f"| (b) 1,000 seeds, philox2x32 keys (`jax.random.key(0, impl='philox2x32')`) "
        f"| {res['1000_seeds_philox_s']:.3f} s |",
        f"| (b) 1,000 sequential runs / one vmapped call | {res['ratio_one_run_x1000_over_vmapped_1000']:.1f}x |",
        f"| (c) EDNAG per generation, population 512, 30 dims | {res['ednag_per_gen_512_ms']:.3f} ms |",
        f"| (c) evosax DiffusionEvolution per generation, same shapes | {res['evosax_de_per_gen_512_ms']:.3f} ms |",
        f"| (c) evosax / EDNAG per generation | {res['ratio_evosax_over_ednag_per_gen']:.2f}x |",
        f"| (c) EDNAG denoising part alone (evaluate, weights, x0, DDIM), same shapes "
        f"| {res['ednag_denoise_only_per_gen_512_ms']:.3f} ms |",
        f"| (c) evosax / EDNAG denoising part, like for like | {res['ratio_evosax_over_denoise_only']:.2f}x |",
        f"| (d) compile time of one run (lower + compile) | {res['compile_s']:.2f} s |",
        "",
        f"(e) Multi-task generation with the defaults (`ednag.Config()`: N = {default.population}, "
        f"T = {default.steps}), one compiled call each (vmap over stacked tables and 100 seeds):",
        "",
        "| benchmark | tasks x seeds | time | hit rate of each task's optimum |",
        "|---|---|---|---|",
    ]
    for m in multi:
        rates = ", ".join(f"{t} {h:.0%}" for t, h in zip(m["tasks"], m["hit_rates"]))
        lines.append(f"| {m['benchmark']} | {len(m['tasks'])} x 100 | {m['seconds']:.2f} s | {rates} |")
    lines.append("")
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    (out / "ednag_speed.md").write_text("\n".join(lines))
    (out / "ednag_speed.json").write_text(json.dumps(res, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
