"""XLA's CPU flags against compile time and run time: the same programs in fresh processes under each setting.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/xla_flags.py [--repeats 2] [--out docs]

jaxnag's runs on a CPU are often compile-bound (a generator's whole run is one program, compiled once per
shape). XLA reads its flags once per process, so every setting runs the same programs in a child process of
its own, the settings alternating ``--repeats`` times (the fastest of each is kept): for each program the
seconds to lower and compile it, the seconds of one run after that (median of three), and whether its result
equals the default setting's bit for bit. Ratios are against XLA's defaults, measured side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, report  # noqa: E402

SETTINGS = {
    "XLA's defaults": "",
    "fusion emitters off": "--xla_cpu_use_fusion_emitters=false",
    "fusion emitters off + LLVM -O0 (the default test run's)": "--xla_cpu_use_fusion_emitters=false "
                                                                "--xla_backend_optimization_level=0",
}

CHILD = r'''
import hashlib, json, statistics, sys, time
import jax, numpy as np
from jaxnag import proxies, registry, spaces, tables

data_dir = sys.argv[1]
c10, c100 = (tables.load("nb201", d, data_dir=data_dir) for d in ("cifar10", "cifar100"))
space = c10.space
keys = jax.random.split(jax.random.key(0), 100)


def generator_run(name, settings, n, context=None):
    gen = registry.get(name)
    cfg = gen.config(space, **settings)
    ctx = context or {}
    return (lambda k: jax.vmap(lambda kk: gen.generate(kk, c100, space, cfg, **ctx))(k)), (keys[:n],)


programs = {  # the small settings first: the many small programs of a test run
    "EDNAG, registry.small settings, 2 seeds": generator_run("ednag", registry.get("ednag").small, 2),
    "REA, registry.small settings, 2 seeds": generator_run("rea", registry.get("rea").small, 2),
    "EDNAG, 100 seeds (N 30, T 150)": generator_run("ednag", {}, 100),
    "REA, 100 seeds (300 queries)": generator_run("rea", {}, 100),
    "PG-NAG transfer CIFAR-10 -> CIFAR-100, 10 seeds": generator_run("pgnag", {}, 10, {"source": c10}),
    "synflow of 32 NB201 networks": (proxies.fitness(space, "synflow"),
                                     (np.asarray(space.random(jax.random.key(1), (32,))),)),
}
out = {}
for name, (fn, args) in programs.items():
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    times, res = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        res = jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - t0)
    leaves = [np.asarray(x) for x in jax.tree.leaves(res)]
    digest = hashlib.sha256(b"".join(x.tobytes() for x in leaves)).hexdigest()
    out[name] = dict(compile_s=compile_s, run_s=statistics.median(times), digest=digest)
print("RESULT " + json.dumps(out))
'''


def child(flags: str, data_dir: str) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS=flags, JAXNAG_CACHE_DIR="off")
    p = subprocess.run([sys.executable, "-c", CHILD, data_dir], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(p.stderr[-3000:])
    return json.loads(p.stdout.rsplit("RESULT ", 1)[1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("JAXNAG_DATA_DIR", "../shared/data"))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    best: dict = {}
    for rep in range(args.repeats):
        for setting, flags in SETTINGS.items():
            got = child(flags, args.data_dir)
            print(rep, setting, {k: (round(v["compile_s"], 2), round(v["run_s"], 4)) for k, v in got.items()},
                  flush=True)
            for prog, r in got.items():
                b = best.setdefault(setting, {}).setdefault(prog, dict(r))
                b["compile_s"], b["run_s"] = min(b["compile_s"], r["compile_s"]), min(b["run_s"], r["run_s"])
                b["same_every_repeat"] = b.get("same_every_repeat", True) and b["digest"] == r["digest"]
    out = dict(repeats=args.repeats, settings=SETTINGS, results=best, machine=describe())
    report(args.out, "xla_flags", out, _markdown(out))
    return 0


def _markdown(o: dict) -> str:
    base = o["results"][next(iter(o["settings"]))]
    lines = ["# XLA's CPU flags: compile time and run time of jaxnag's programs", "",
             f"`JAXNAG_DATA_DIR=../shared/data python benchmarks/xla_flags.py --repeats {o['repeats']} --out docs` "
             f"({o['machine']}). Each setting in a fresh process, the settings alternating {o['repeats']} times, "
             "the fastest of each kept; run = one call of the compiled program (median of three). Ratios against "
             "XLA's defaults; 'same result' compares every output array bit for bit with the default setting's.", "",
             "| program | setting | `XLA_FLAGS` | compile s | compile ratio | run s | run ratio | same result |",
             "|---|---|---|---|---|---|---|---|"]
    for prog, b in base.items():
        for setting, flags in o["settings"].items():
            r = o["results"][setting][prog]
            lines.append(f"| {prog} | {setting} | `{flags or '(none)'}` | {r['compile_s']:.2f} | "
                         f"{r['compile_s'] / b['compile_s']:.2f} | {r['run_s']:.4f} | {r['run_s'] / b['run_s']:.2f} | "
                         f"{'yes' if r['digest'] == b['digest'] else 'no'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
