"""What machine a benchmark ran on, detected (never typed in): shared by the benchmark scripts."""

from __future__ import annotations

import os
import platform


def describe() -> str:
    """e.g. ``"2 CPU cores (x86_64, Linux), jax 0.10.2 on cpu"``."""
    import jax
    dev = jax.devices()[0]
    kind = dev.device_kind if dev.platform != "cpu" else dev.platform
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{cores} CPU cores ({platform.machine()}, {platform.system()}), jax {jax.__version__} on "
            f"{len(jax.devices())} x {kind}")


def report(out_dir, stem: str, data: dict, text: str) -> None:
    """Print ``text`` and, where ``out_dir`` is given (made if missing), write it as ``stem.md`` beside ``data`` as
    ``stem.json``."""
    import json
    from pathlib import Path
    print(text)
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        Path(out_dir, f"{stem}.json").write_text(json.dumps(data, indent=2) + "\n")
        Path(out_dir, f"{stem}.md").write_text(text)


def pyplot():
    """matplotlib's pyplot on the Agg backend, or None (with a message) where matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install 'jaxnag[bench]'): no plot")
        return None
    return plt


def printed_rows(log, key: tuple, having: tuple = ()) -> dict:
    """The dict rows an earlier run printed (one Python literal per line) that have the fields ``key``
    (the first one first on the line) and ``having``, by their ``key`` values, each marked
    ``reused=True``: what a benchmark's ``--reuse`` keeps."""
    import ast
    from pathlib import Path
    rows = {}
    for line in Path(log).read_text().splitlines():
        if line.startswith("{" + repr(key[0])) and all(repr(k) in line for k in (*key, *having)):
            r = ast.literal_eval(line)
            rows[tuple(r[k] for k in key)] = dict(r, reused=True)
    return rows


def reused_lines(rows, key: tuple, what: str = "the same command") -> list:
    """The report's lines naming the rows a ``--reuse`` kept (``reused=True``, from :func:`printed_rows`), each
    by its ``key`` fields joined with '/'; none when no row was kept."""
    kept = ["/".join(str(r[k]) for k in key) for r in rows if r.get("reused")]
    return ["", f"Rows kept from an earlier run of {what} (`--reuse LOG`, its printed rows): {', '.join(kept)}."] \
        if kept else []


def alternating(calls: dict, repeats: int) -> dict:
    """Median seconds of each ``name: (fn, args)``, one call of each in turn per repeat, so that a change
    in the machine's load falls on all of them alike (the ratios). Compile the calls first."""
    import time

    import jax
    import numpy as np
    out = {name: [] for name in calls}
    for _ in range(repeats):
        for name, (fn, args) in calls.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            out[name].append(time.perf_counter() - t0)
    return {name: float(np.median(v)) for name, v in out.items()}
