"""EDNAG speed, side by side in one process, reported as ratios.

(a) one EDNAG run after compilation, at the reference configuration (N = 30, T = 100, like
    the reference loop it is compared with; ``ednag.Config.reference()``), beside one run of evosax's
    DiffusionEvolution with the same population, generations and table fitness (issue 27's peer);
(b) 1,000 seeds vmapped in one call, beside evosax DiffusionEvolution's 1,000 seeds (JAX's default
    threefry keys, and philox keys, which ``jaxnag.rng`` leaves to ``jax.random``);
(c) per-generation time of EDNAG against evosax DiffusionEvolution at population 512
    and 30 dimensions (NB201's 6 x 5 encoding), both 100 generations under lax.scan
    on the same table fitness; and, like for like, EDNAG's denoising part alone
    (evaluate, count queries, fitness weights, x0, DDIM: what a DiffusionEvolution
    generation does), composed from jaxnag.ednag.denoise;
(d) compile time of one run;
(e) multi-task generation with the library's defaults (``ednag.Config()``): hit rates;
(f) with ``--profile``: where the 1,000-seed call spends its time, from JAX's profiler (XLA's own
    time per compiled operation, grouped by the named scopes of ``jaxnag.ednag``: x0, DDIM, mutation,
    decode, fitness, archive, selection), beside the work each part must do at the least (its
    floating-point operations and random words), the limit on paper.

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
from _machine import alternating, describe  # noqa: E402

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


SCOPES = ("ednag_x0", "ednag_ddim", "ednag_mutation", "ednag_decode", "ednag_fitness", "ednag_archive",
          "ednag_selection")


def profile(fn, *args, folder):
    """Seconds per named scope of one call of ``fn`` (XLA's time per compiled operation, from
    ``jax.profiler``), the operations of no scope as ``other``. The call profiled is the executable whose
    operation names are read, so the names match by construction."""
    import gzip
    import re
    compiled = fn.lower(*args).compile()
    scope = {}
    for m in re.finditer(r"^\s*(?:ROOT )?%([\w.-]+) = .*?op_name=\"([^\"]+)\"", compiled.as_text(), re.M):
        scope[m.group(1)] = next((s for s in SCOPES if s in m.group(2)), "other")
    jax.block_until_ready(compiled(*args))
    jax.profiler.start_trace(folder)
    jax.block_until_ready(compiled(*args))
    jax.profiler.stop_trace()
    trace = sorted(Path(folder).glob("plugins/profile/*/*.trace.json.gz"))[-1]
    events = json.load(gzip.open(trace))["traceEvents"]
    out: dict[str, float] = {}
    for e in events:
        if e.get("ph") == "X" and e["name"] in scope:  # compiled operations only (not executor spans)
            out[scope[e["name"]]] = out.get(scope[e["name"]], 0.0) + e["dur"] * 1e-6
    return out


def rates(repeats: int) -> dict:
    """This machine's throughput for the kinds of work EDNAG does, on data that stays in cache as EDNAG's does
    (a 1 MiB array transformed 200 times in one compiled loop): FLOP/s of a 1024 x 1024 product,
    exponentials per s, random words (``jaxnag.rng.bits``) per s, simple elementwise operations (a
    multiply-add counted as two) per s."""
    from jaxnag import rng
    shape, reps = (256, 1024), 200
    size = shape[0] * shape[1] * reps
    a = jax.random.normal(jax.random.key(0), (1024, 1024))
    v = jax.random.uniform(jax.random.key(1), shape)

    def loop(body):
        return jax.jit(lambda x: jax.lax.fori_loop(0, reps, body, x))
    mm = jax.jit(lambda a: a @ a)
    ex = loop(lambda i, x: jnp.exp(-x))
    fma = loop(lambda i, x: x * 0.5 + 0.25)
    bits = loop(lambda i, x: x ^ rng.bits(jax.random.fold_in(jax.random.key(2), i), shape))
    u = jnp.zeros(shape, jnp.uint32)
    for f, x in ((mm, a), (ex, v), (fma, v), (bits, u)):
        jax.block_until_ready(f(x))
    return dict(flops=2 * 1024**3 / timed(mm, a, repeats=repeats)[1], exp=size / timed(ex, v, repeats=repeats)[1],
                words=size / timed(bits, u, repeats=repeats)[1], simple=2 * size / timed(fma, v, repeats=repeats)[1])


def least_work(n: int, d: int, runs: int, steps: int) -> dict:
    """The work each part of EDNAG must do at the least for ``runs`` runs of ``steps`` denoising steps
    (population ``n``, ``d`` genes), as (FLOPs, transcendental functions, random words, simple operations):
    the x0 estimate is two n x n x d products and an n x n softmax; DDIM draws a normal per gene
    (erf_inv); mutation a uniform per gene and a power and a root; selection a (2n) x (2n) Gram matrix,
    its square roots and rank comparisons; decode an argmax per gene; fitness and archive a lookup and an
    insert per child."""
    k = runs * steps
    m = 2 * n
    return {
        "ednag_x0": (k * 4 * n * n * d, k * n * n, 0, k * 4 * n * n),
        "ednag_ddim": (0, k * n * d, k * n * d, k * 10 * n * d),
        "ednag_mutation": (0, k * 2 * n * d, k * n * d, k * 15 * n * d),
        "ednag_decode": (0, 0, 0, k * n * d),
        "ednag_fitness": (0, 0, 0, k * n),
        "ednag_archive": (0, 0, 0, k * 4 * n),
        "ednag_selection": (k * 2 * m * m * d, k * (m * m + 2 * m), k * m, k * 5 * m * m),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="docs")
    ap.add_argument("--profile", action="store_true", help="(f): profile the 1,000-seed call by scope")
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

    de = jax.jit(lambda k: evosax_search(k, "DiffusionEvolution", table, space, cfg.population, cfg.steps))
    jax.block_until_ready(de(key))
    t = alternating({"ednag": (one, (key,)), "de": (de, (key,))}, repeats=10 * args.repeats)
    res["one_run_s"], res["evosax_de_one_run_s"] = t["ednag"], t["de"]
    res["ratio_evosax_over_ednag_one_run"] = res["evosax_de_one_run_s"] / res["one_run_s"]

    many = jax.jit(jax.vmap(lambda k: ednag.generate(k, table, space, cfg)))
    de_many = jax.jit(jax.vmap(lambda k: evosax_search(k, "DiffusionEvolution", table, space, cfg.population,
                                                       cfg.steps)))
    keys = jax.random.split(key, 1000)
    philox = jax.random.split(jax.random.key(0, impl="philox2x32"), 1000)
    jax.block_until_ready(many(keys))
    jax.block_until_ready(many(philox))
    jax.block_until_ready(de_many(keys))
    t = alternating({"ednag": (many, (keys,)), "philox": (many, (philox,)), "de": (de_many, (keys,))},
                    repeats=args.repeats)
    res["1000_seeds_s"], res["1000_seeds_philox_s"], res["evosax_de_1000_seeds_s"] = t["ednag"], t["philox"], t["de"]
    res["ratio_evosax_over_ednag_1000_seeds"] = res["evosax_de_1000_seeds_s"] / res["1000_seeds_s"]
    if args.profile:
        import tempfile
        with tempfile.TemporaryDirectory() as folder:
            res["profile_1000_seeds_s"] = profile(many, keys, folder=folder)
        res["machine_rates"] = r = rates(args.repeats)
        work = least_work(cfg.population, 30, 1000, cfg.steps - 1)
        res["least_work_1000_seeds"] = work
        res["paper_limit_1000_seeds_s"] = {part: f / r["flops"] + t / r["exp"] + w / r["words"] + o / r["simple"]
                                           for part, (f, t, w, o) in work.items()}

    big = cfg.replace(population=512)
    ed512 = jax.jit(lambda k: ednag.generate(k, table, space, big))
    evo512 = jax.jit(lambda k: evosax_search(k, "DiffusionEvolution", table, space, 512, 100))
    jax.block_until_ready(ed512(key))
    jax.block_until_ready(evo512(key))
    t = alternating({"ednag": (ed512, (key,)), "de": (evo512, (key,))}, repeats=args.repeats)
    ed_s, evo_s = t["ednag"], t["de"]
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
        f"Produced by `JAXNAG_DATA_DIR=../shared/data python benchmarks/ednag_speed.py --repeats {args.repeats}"
        f"{' --profile' if args.profile else ''}` "
        f"on {res['machine']}. Medians of {args.repeats} repeats after compilation. "
        "Timings on these shared machines are noisy; the ratios are the figures to read.",
        "",
        "| measurement | value |",
        "|---|---|",
        f"| (a) one run, N = {cfg.population}, T = {cfg.steps} (`ednag.Config.reference()`) "
        f"| {res['one_run_s'] * 1e3:.2f} ms |",
        f"| (a) reference loop (methods.md, same CPU kind) / one run | {res['ratio_reference_over_one_run']:.0f}x |",
        f"| (a) evosax DiffusionEvolution, one run, same N, generations and fitness "
        f"| {res['evosax_de_one_run_s'] * 1e3:.2f} ms |",
        f"| (a) evosax / EDNAG, one run (at or above 1: target met) | {res['ratio_evosax_over_ednag_one_run']:.2f}x |",
        f"| (b) 1,000 seeds vmapped, one call (goal: under 1 s) | {res['1000_seeds_s']:.3f} s |",
        f"| (b) evosax DiffusionEvolution, 1,000 seeds vmapped | {res['evosax_de_1000_seeds_s']:.3f} s |",
        f"| (b) evosax / EDNAG, 1,000 seeds (at or above 1: target met) "
        f"| {res['ratio_evosax_over_ednag_1000_seeds']:.2f}x |",
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
        rates_ = ", ".join(f"{t} {h:.0%}" for t, h in zip(m["tasks"], m["hit_rates"]))
        lines.append(f"| {m['benchmark']} | {len(m['tasks'])} x 100 | {m['seconds']:.2f} s | {rates_} |")
    lines.append("")
    if args.profile:
        prof, limit, r = res["profile_1000_seeds_s"], res["paper_limit_1000_seeds_s"], res["machine_rates"]
        lines += [
            "(f) Where the 1,000-seed call spends its time (`--profile`: the wall time of each compiled operation, "
            "from `jax.profiler`, by the named scopes of `jaxnag.ednag`), beside the "
            "limit on paper: each part's least work (`least_work` in the script) at this machine's measured rates "
            f"({r['flops'] / 1e9:.0f} GFLOP/s in a 1024 x 1024 product, {r['exp'] / 1e9:.2f} G exp/s, "
            f"{r['words'] / 1e9:.2f} G random words/s, {r['simple'] / 1e9:.2f} G simple operations/s, in cache):",
            "",
            "| part | measured s | limit on paper s | measured / limit |",
            "|---|---|---|---|",
        ]
        for part in (*SCOPES, "other"):
            lim = limit.get(part)
            lines.append(f"| {part.removeprefix('ednag_')} | {prof.get(part, 0.0):.3f} | "
                         + (f"{lim:.3f} | {prof.get(part, 0.0) / lim:.1f}x |" if lim else "- | - |"))
        lines.append(f"| total | {sum(prof.values()):.3f} | {sum(limit.values()):.3f} | "
                     f"{sum(prof.values()) / sum(limit.values()):.1f}x |")
        lines.append("")
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    (out / "ednag_speed.md").write_text("\n".join(lines))
    (out / "ednag_speed.json").write_text(json.dumps(res, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
