"""The persistent compilation cache: a command's compilations and time, cold (empty cache) and warm.

Each command runs in a fresh process, three times: with ``--no-cache``, with an empty cache folder
(cold: it compiles and writes every program) and again with that folder (warm: it loads them). The
compile requests and cache hits are counted with ``jax.monitoring`` inside the process; wall and CPU
time (user + system of the child) are measured around it. Ratios are warm / no cache, run side by side.

  JAXNAG_DATA_DIR=../shared/data python benchmarks/cache.py [--out docs]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe  # noqa: E402

COUNT = ("import json, sys; from jaxnag import cache; counts = cache.compile_counts(); from jaxnag.cli import main; "
         "code = main(sys.argv[1:]); print('COUNTS ' + json.dumps(counts), file=sys.stderr); sys.exit(code)")

COMMANDS = {
    "generate ednag, default benchmark (10 seeds)": ["generate", "--method", "ednag", "--seeds", "10", "--json"],
    "generate ednag (10 seeds)": ["generate", "--method", "ednag", "--benchmark", "nb201", "--dataset", "cifar100",
                                  "--seeds", "10", "--json"],
    "generate rea (10 seeds)": ["generate", "--method", "rea", "--benchmark", "nb201", "--dataset", "cifar100",
                                "--seeds", "10", "--json"],
    "generate pgnag transfer (10 seeds)": ["generate", "--method", "pgnag", "--prior-from", "nb201:cifar10",
                                           "--benchmark", "nb201", "--dataset", "cifar100", "--seeds", "10",
                                           "--json"],
}


def run(args, cache_dir) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    if cache_dir is None:
        args = ["--no-cache", *args]
    else:
        env["JAXNAG_CACHE_DIR"] = str(cache_dir)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", COUNT, *args], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(p.stderr[-2000:])
    counts = json.loads(p.stderr.rsplit("COUNTS ", 1)[1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return dict(wall_s=wall, cpu_s=cpu, maxrss_mib=after.ru_maxrss / 1024, **counts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="folder for cache.md")
    args = ap.parse_args(argv)
    rows = []
    for label, cmd in COMMANDS.items():
        with tempfile.TemporaryDirectory() as d:
            off = run(cmd, None)
            cold = run(cmd, Path(d) / "cache")
            warm = run(cmd, Path(d) / "cache")
        rows.append((label, off, cold, warm))
        print(label, json.dumps(dict(off=off, cold=cold, warm=warm)), flush=True)
    lines = ["# Persistent compilation cache: a command cold and warm", "",
             f"`python benchmarks/cache.py` on {describe()}. Each command in a fresh process: without the cache, "
             "with an empty cache (cold) and again (warm). Compile requests counted inside the process (a "
             "request is a compilation, or a load from the cache: a hit).", "",
             "| command | requests | hits cold / warm | wall s: off / cold / warm | CPU s: off / warm | warm / off CPU |",
             "|---|---|---|---|---|---|"]
    for label, off, cold, warm in rows:
        lines.append(f"| {label} | {off['requests']} | {cold['hits']} / {warm['hits']} | {off['wall_s']:.1f} / "
                     f"{cold['wall_s']:.1f} / {warm['wall_s']:.1f} | {off['cpu_s']:.1f} / {warm['cpu_s']:.1f} | "
                     f"{warm['cpu_s'] / off['cpu_s']:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out, "cache.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
