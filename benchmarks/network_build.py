"""Building a network eagerly: jaxnag's initialisation (``jaxnag.rng``, host draws for a concrete key) beside
``jax.random``'s draws (rng's own paths switched off, so every draw is the eager ``jax.random`` call that
flax's initialisers make).

Each build runs in a fresh process (no compiled program carried over), the two ways alternating; the
time is the constructor's wall time, the compilations are counted with ``jax.monitoring`` in the
process. Both ways give the same parameters, value for value (checked here, and in
``tests/test_models.py``).

  python benchmarks/network_build.py [--repeats 3] [--out docs]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, report  # noqa: E402

NETWORKS = {
    "NB201 (C 16, N 5, CIFAR-10)": "from jaxnag.models import nb201; build = lambda r: nb201.Network("
                                   "[3, 1, 3, 0, 2, 4], rngs=r)",
    "TransNAS-Bench-101 micro (its default size)": "from jaxnag.models import tnb101; build = lambda r: "
                                                    "tnb101.Network([3, 1, 3, 0, 2, 3], rngs=r)",
    "NB101 (128 channels, 3 x 3 cells)": "from jaxnag import spaces; from jaxnag.models import nb101; "
                                         "ops = spaces.get('nb101').from_string('0110001|0001000|0001000|0000001|"
                                         "0000000|0000000|0000000|conv3x3-bn-relu|maxpool3x3|conv1x1-bn-relu|"
                                         "conv3x3-bn-relu|conv3x3-bn-relu'); build = lambda r: nb101.Network(ops, "
                                         "rngs=r)",
    "DARTS (C 36, 20 cells)": "from jaxnag import spaces; from jaxnag.models import darts; "
                              "from jaxnag.spaces.darts import DARTS_V2; ops = spaces.get('darts').from_string("
                              "DARTS_V2); build = lambda r: darts.Network(ops, rngs=r)",
}

CHILD = """
import hashlib, json, sys, time
import numpy as np
from flax import nnx
from jaxnag import cache, rng
{setup}
if sys.argv[1] == "jax.random":
    rng._fused = lambda *a, **k: None  # every draw through jax.random, as flax's initialisers make them
counts = cache.compile_counts()
before = counts["requests"]
t = time.perf_counter()
net = build(nnx.Rngs(0))
seconds = time.perf_counter() - t
leaves = [np.asarray(v) for v in __import__("jax").tree.leaves(nnx.state(net, nnx.Param))]
digest = hashlib.sha256(b"".join(v.tobytes() for v in leaves)).hexdigest()
print(json.dumps(dict(seconds=seconds, compilations=counts["requests"] - before, digest=digest)))
"""

WAYS = ("jaxnag.rng", "jax.random")


def build(setup: str, way: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(setup=setup), way], capture_output=True, text=True,
                         check=True, env={**__import__("os").environ, "JAX_PLATFORMS": "cpu"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default="docs")
    args = p.parse_args(argv)
    rows = []
    for name, setup in NETWORKS.items():
        runs = {w: [] for w in WAYS}
        for _ in range(args.repeats):
            for way in WAYS:  # alternating
                runs[way].append(build(setup, way))
        same = len({r["digest"] for w in WAYS for r in runs[w]}) == 1
        med = {w: statistics.median(r["seconds"] for r in runs[w]) for w in WAYS}
        rows.append(dict(network=name, seconds={w: med[w] for w in WAYS},
                         compilations={w: runs[w][0]["compilations"] for w in WAYS},
                         speedup=med["jax.random"] / med["jaxnag.rng"], same_parameters=same))
        print(rows[-1], flush=True)
    lines = ["# Building a network eagerly: compilations of its initialisation", "",
             f"Produced by `python benchmarks/network_build.py --repeats {args.repeats}` on {describe()}. Each build "
             "in a fresh process, the two ways alternating; medians of the constructor's wall time. 'jax.random': "
             "every weight drawn by an eager `jax.random` call, as flax's initialisers draw them (one compiled "
             "program per weight shape); 'jaxnag.rng': `models.layers.variance_scaling`, whose uniform draws for a "
             "concrete key are hashed on the host (no compilation).", "",
             "| network | jax.random s | jaxnag.rng s | speed-up | compilations (jax.random / jaxnag.rng) | "
             "same parameters |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['network']} | {r['seconds']['jax.random']:.2f} | {r['seconds']['jaxnag.rng']:.2f} | "
                     f"{r['speedup']:.1f}x | {r['compilations']['jax.random']} / {r['compilations']['jaxnag.rng']} | "
                     f"{'yes' if r['same_parameters'] else 'NO'} |")
    lines += ["", "NB101's default initialisation is PyTorch's uniform one, as the others'; its `init=\"kaiming_out\"` "
              "(normal draws, which need `erf_inv` and stay compiled) is not timed here."]
    report(args.out, "network_build", dict(machine=describe(), repeats=args.repeats, rows=rows),
           "\n".join(lines) + "\n")
    return 0 if all(r["same_parameters"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
