"""Scale-out: any registered generator over a grid of configs x tasks x seeds, sharded over a device mesh.

A grid cell is one run: ``generator.generate(key(seed), table[task], space, config[c], **context)``.
:func:`run` lays the cells out in one flat batch, pads it to a multiple of the mesh size (the padding
repeats cell 0 and is dropped from the results), and runs it with ``jax.shard_map``: each device
``vmap``s the generator over its own cells, with the tables, configs and context replicated, so there
is no communication until the results are gathered.

A cell's result does not depend on how the grid is sharded, chunked or padded: for EDNAG, random
search, REA and evosax it is bit-identical to the unsharded single-device ``vmap`` of the same keys
(tested on 1 and 8 devices and across 2 processes). PG-NAG and DiffusionNAG train networks inside
the run, and XLA's CPU matrix products sum in an order that depends on the shapes and the thread
split: their architectures, queries and best values matched in every test, but the training losses and
predictions they report can differ in the last bits (1-2 ulp on a loss; 5.5e-7 absolute on DiffusionNAG's
predictions on the CI machine). Across hosts
(:func:`initialize` first, on every process), the mesh spans every process's devices and the results
are all-gathered to every process.

Seed ``s`` runs with key ``jax.random.key(s)``, so a cell's result depends on its seed alone, not
on which other seeds share the grid (what lets ``jaxnag bench`` resume a grid cell by cell).

Examples:
  >>> import numpy as np
  >>> from jaxnag import ednag, parallel, spaces, tables
  >>> space, t = spaces.get("nasbench_graph"), tables.load("nasbench_graph", "cora")
  >>> res = parallel.run("ednag", range(5), t, space, ednag.Config(population=8, steps=4))
  >>> res.best_fitness.shape  # [configs, tasks, seeds]
  (1, 1, 5)
"""

from __future__ import annotations

import collections

import math
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from .errors import ConfigError, check_int, check_range

__all__ = ["AXIS", "ENV", "Cells", "batch_configs", "call_memory", "cells", "device_memory", "fit", "initialize",
           "mesh", "run", "run_chunks"]

AXIS = "grid"  # the mesh axis the cells are sharded over

ENV = {"coordinator_address": "JAXNAG_COORDINATOR", "num_processes": "JAXNAG_NUM_PROCESSES",
       "process_id": "JAXNAG_PROCESS_ID"}  # initialize's arguments and the variables they default to


# ----------------------------------------------------------------------------- processes and devices
def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, local_device_ids: Sequence[int] | None = None, *,
               timeout: float = 300, **kwargs) -> None:
    """Join a multi-process (multi-host) run: :func:`jax.distributed.initialize`, called on every process
    before any computation.

    Each argument left out is read from ``JAXNAG_COORDINATOR`` (``host:port`` of process 0),
    ``JAXNAG_NUM_PROCESSES`` and ``JAXNAG_PROCESS_ID``; where all three are unset too, JAX's own cluster
    detection applies (``JAX_COORDINATOR_ADDRESS``..., SLURM, Open MPI, TPU pods). Some of the three
    without the others is refused, naming the missing ones. Calling it again in an initialised process
    does nothing.

    ``timeout`` (seconds) bounds the waiting. A process other than 0 first checks, in Python, that the
    coordinator accepts a TCP connection, retrying until ``timeout``: an unreachable coordinator (process 0
    not started, a wrong address, a firewall) is a :class:`ConfigError` after at most ``timeout`` seconds.
    Then ``jax.distributed.initialize`` runs with ``initialization_timeout=timeout``. Still checked only by
    JAX: process 0 (and each process once connected) waits up to ``timeout`` seconds for all
    ``num_processes`` processes to register, and a peer that never comes (or one that dies later, after
    JAX's heartbeat timeout) makes JAX's C++ client abort the process (SIGABRT, a C++ stack on stderr);
    Python cannot turn that into an exception.

    Raises:
      ConfigError: a bad value, missing values, an unreachable coordinator, or a computation already ran
        in this process (JAX then refuses).

    Examples:
      >>> from jaxnag import errors, parallel
      >>> try:  # checked before JAX is asked to connect anywhere
      ...     parallel.initialize("no-port", num_processes=2, process_id=1)
      ... except errors.ConfigError as e:
      ...     print(e)
      coordinator_address ($JAXNAG_COORDINATOR) must be HOST:PORT, got 'no-port'
    """
    import jax

    if jax.distributed.is_initialized():
        return
    check_range("timeout", timeout, lo=0, lo_open=True)
    given = dict(coordinator_address=coordinator_address, num_processes=num_processes, process_id=process_id)
    for name, env in ENV.items():
        if given[name] is None and os.environ.get(env):
            given[name] = os.environ[env]
    missing = [name for name, value in given.items() if value is None]
    if missing and len(missing) < len(given):
        raise ConfigError(f"{' and '.join(f'{name} (${ENV[name]})' for name in missing)} missing: a multi-process "
                          "run needs coordinator_address, num_processes and process_id (or none of them, for "
                          "JAX's cluster detection)")
    for name in ("num_processes", "process_id"):
        if given[name] is not None:
            try:
                given[name] = int(given[name])
            except ValueError:
                raise ConfigError(f"{name} ({ENV[name]}) must be an integer, got {given[name]!r}") from None
    if given["num_processes"] is not None:
        check_int("num_processes", given["num_processes"], lo=1)
        if given["process_id"] is not None:
            check_int("process_id", given["process_id"], lo=0, hi=given["num_processes"] - 1)
    if given["coordinator_address"] is not None:
        host, port = _address(given["coordinator_address"])
        if given["process_id"] != 0:
            _reach(given["coordinator_address"], host, port, timeout)
    kwargs.setdefault("initialization_timeout", max(int(math.ceil(timeout)), 1))
    try:
        jax.distributed.initialize(local_device_ids=local_device_ids, **given, **kwargs)
    except (RuntimeError, ValueError) as e:
        raise ConfigError(f"jax.distributed.initialize failed: {' '.join(str(e).split())} (call "
                          "jaxnag.parallel.initialize() before any JAX computation in the process)") from e


def _address(address) -> tuple[str, int]:
    """``HOST:PORT`` (``[IPV6]:PORT``) as ``(host, port)``."""
    host, sep, port = str(address).strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"coordinator_address ($JAXNAG_COORDINATOR) must be HOST:PORT, got {address!r}")
    return host, int(port)


def _reach(address: str, host: str, port: int, timeout: float) -> None:
    """Wait until ``host:port`` accepts a TCP connection, at most ``timeout`` seconds."""
    import socket
    import time
    deadline = time.monotonic() + timeout
    reason = "no answer"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with socket.create_connection((host, port), timeout=min(left, 5.0)):
                return
        except OSError as e:
            reason = (e.strerror or str(e) or type(e).__name__).lower() if not isinstance(e, TimeoutError) \
                else "no answer"
        time.sleep(max(min(0.25, deadline - time.monotonic()), 0))
    raise ConfigError(f"the coordinator {address} did not accept a connection within {timeout:g} s ({reason}): "
                      "start process 0 first, check the address and port, or allow longer (--timeout)")


def mesh(devices: Sequence[Any] | int | None = None):
    """A 1-D device mesh with axis :data:`AXIS`: every device of every process by default, the first
    ``devices`` of them for an int, or the given devices.

    Examples:
      >>> import jax
      >>> from jaxnag import parallel
      >>> m = parallel.mesh(1)
      >>> m.axis_names, m.devices.size, parallel.mesh().devices.size == jax.device_count()
      (('grid',), 1, True)
    """
    import jax
    from jax.sharding import Mesh

    all_devices = jax.devices()
    if devices is None:
        devices = all_devices
    elif isinstance(devices, int):
        check_int("devices", devices, lo=1, hi=len(all_devices))
        devices = all_devices[:devices]
    return Mesh(np.asarray(list(devices), dtype=object), (AXIS,))


_mesh = mesh  # for the functions whose ``mesh`` argument hides it


# ----------------------------------------------------------------------------- the grid
class Cells(NamedTuple):
    """The cells of a grid, flattened config-major (config, then task, then seed).

    Attributes:
      config, task: int32 ``[cells]`` indices into the configs and the stacked tasks.
      seed: int64 ``[cells]``, the seed of each cell (its key is ``jax.random.key(seed)``).
      shape: ``(configs, tasks, seeds)``.

    Examples:
      >>> from jaxnag import parallel
      >>> c = parallel.cells(2, 1, [5, 6])
      >>> c._fields, c.shape, len(c)
      (('config', 'task', 'seed', 'shape'), (2, 1, 2), 4)
      >>> [(int(a), int(b), int(s)) for a, b, s in zip(c.config, c.task, c.seed)]  # (config, task, seed) per cell
      [(0, 0, 5), (0, 0, 6), (1, 0, 5), (1, 0, 6)]
    """

    config: np.ndarray
    task: np.ndarray
    seed: np.ndarray
    shape: tuple[int, int, int]

    def __len__(self) -> int:
        return len(self.seed)


def cells(num_configs: int, num_tasks: int, seeds: Sequence[int]) -> Cells:
    """Every (config, task, seed) combination, config-major: int32 ``config``, ``task`` and int64 ``seed``, each
    ``[configs * tasks * seeds]``.

    Examples:
      >>> from jaxnag import parallel
      >>> g = parallel.cells(2, 3, [4, 9])
      >>> len(g), g.shape
      (12, (2, 3, 2))
      >>> g.config[:5].tolist(), g.task[:5].tolist(), g.seed[:5].tolist()
      ([0, 0, 0, 0, 0], [0, 0, 1, 1, 2], [4, 9, 4, 9, 4])
    """
    seeds = _seeds(seeds)
    check_int("num_configs", num_configs, lo=1)
    check_int("num_tasks", num_tasks, lo=1)
    c, t, s = np.meshgrid(np.arange(num_configs), np.arange(num_tasks), np.arange(len(seeds)), indexing="ij")
    return Cells(c.ravel().astype(np.int32), t.ravel().astype(np.int32), seeds[s.ravel()],
                 (num_configs, num_tasks, len(seeds)))


def _seeds(seeds) -> np.ndarray:
    """``seeds`` (a count ``n``, meaning seeds ``0..n-1``, or a sequence of seeds) as int64 ``[n]``."""
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = range(check_int("seeds (a count)", int(seeds), lo=1, hi=2**31 - 1))
    elif isinstance(seeds, (str, bytes, float, bool)) or not hasattr(seeds, "__iter__"):
        raise ConfigError(f"seeds must be a count or a sequence of integers, got {seeds!r}")
    arr = np.asarray(list(seeds) if not isinstance(seeds, np.ndarray) else seeds)
    if arr.ndim != 1 or arr.size == 0:
        raise ConfigError(f"seeds must be a non-empty 1-D sequence of integers, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ConfigError(f"seeds must be integers, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= 2**31:
        raise ConfigError(f"seeds must lie in [0, 2**31), got {arr.min()}..{arr.max()}")
    return arr.astype(np.int64)


def batch_configs(configs) -> tuple[Any, int]:
    """``(batched config, number of configs)``: a list of configs of one generator with the same static
    fields, stacked leaf by leaf; a single config (scalar leaves) is a batch of one; a config whose
    leaves all have one leading dimension (``ednag.Config.batched``) is already a batch.

    Raises:
      ConfigError: configs that differ in a static field (shapes, modes: run them as separate grids),
        or a config whose leaves are partly batched.

    Examples:
      >>> from jaxnag import ednag, parallel
      >>> cfg = ednag.Config(population=8, steps=4)
      >>> batched, n = parallel.batch_configs([cfg, cfg.replace(temperature=0.2)])
      >>> n, batched.temperature.tolist(), batched.population  # leaves stacked, static fields kept
      (2, [0.1, 0.2], 8)
      >>> parallel.batch_configs(cfg)[0].temperature.shape  # one config: a batch of one
      (1,)
    """
    import jax

    if isinstance(configs, (list, tuple)):
        if not configs:
            raise ConfigError("configs is empty")
        structures = {jax.tree.structure(c) for c in configs}
        if len(structures) != 1:
            raise ConfigError("configs of one grid must agree on their static fields (population, steps, modes...): "
                              f"got {len(structures)} different ones; run each as its own grid")
        for c in configs:
            if any(np.ndim(leaf) for leaf in jax.tree.leaves(c)):
                raise ConfigError("a list of configs takes unbatched configs (scalar fields)")
        return jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *configs), len(configs)
    leaves = jax.tree.leaves(configs)
    dims = {np.ndim(leaf) for leaf in leaves}
    if not leaves or dims == {0}:
        return jax.tree.map(lambda x: np.asarray(x)[None], configs), 1
    sizes = {np.shape(leaf)[0] if np.ndim(leaf) else None for leaf in leaves}
    if dims == {1} and len(sizes) == 1:
        return jax.tree.map(np.asarray, configs), sizes.pop()
    raise ConfigError(f"a batched config needs every leaf batched along one leading axis, got shapes "
                      f"{sorted({np.shape(leaf) for leaf in leaves})}")


def device_memory(device=None) -> int | None:
    """Bytes one call may use on ``device`` (default: the first local device): an accelerator's free
    memory, or the host's available memory for the CPU; None where it cannot be told.

    Examples:
      >>> from jaxnag import parallel
      >>> free = parallel.device_memory()
      >>> isinstance(free, int) and free > 0
      True
    """
    import jax
    dev = device if device is not None else jax.local_devices()[0]
    if dev.platform != "cpu":
        stats = dev.memory_stats() or {}
        if "bytes_limit" in stats:
            return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
        return None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def compile_fitting(fn: Callable, num_keys: int, *shared, share: float = 0.8, flag: str = "seeds",
                    announce: Callable[[], None] | None = None):
    """``jax.jit(jax.vmap(fn))`` compiled for ``num_keys`` PRNG keys (``fn(key, *shared)``, the other
    arguments shared), refusing a call whose buffers exceed ``share`` of the free device memory with the
    number of keys that would fit (a one-line :class:`~jaxnag.errors.ConfigError` naming ``flag``) instead
    of an out-of-memory crash. No key array is allocated for the check. ``announce()`` is called once the
    program is traced (its argument errors come first) and before XLA compiles it.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag import parallel
      >>> run = parallel.compile_fitting(lambda k, s: jax.random.uniform(k) * s, 4, jnp.float32(2.0))
      >>> run(jax.random.split(jax.random.key(0), 4), jnp.float32(2.0)).shape
      (4,)
    """
    import jax
    n = check_int(flag, num_keys, lo=1, hi=2**31 - 1)

    def lower(count):
        keys = jax.eval_shape(lambda: jax.random.split(jax.random.key(0), count))
        return jax.jit(jax.vmap(fn, in_axes=(0,) + (None,) * len(shared))).lower(keys, *shared)
    lowered = lower(n)
    if announce is not None:
        announce()
    try:
        compiled = lowered.compile()
    except jax.errors.JaxRuntimeError as e:  # e.g. more scatter indices than XLA's CPU emitters take (2^31)
        probe = min(n // 2, 64)
        if probe < 1:
            raise
        need = _buffer_bytes(lower(probe).compile())  # the buffers grow with the keys: estimated from a few
        per_key = None if need is None else need / probe
        why = str(e).strip().splitlines()[0].split(". ")[0].split(": ", 1)[-1]
        size = "" if per_key is None else f" and would need about {per_key * n / 2**30:.1f} GiB in one call"
        raise ConfigError(f"{flag} {n} cannot compile as one program ({why}){size}: "
                          f"{_fitting(per_key, share, device_memory())}") from None
    need = _buffer_bytes(compiled)
    free = device_memory()
    if need is not None and free is not None and need > share * free:
        raise ConfigError(f"{flag} {n} needs about {need / 2**30:.1f} GiB in one call and {free / 2**30:.1f} GiB "
                          f"is free: {_fitting(need / n, share, free)}")
    return compiled


def _buffer_bytes(compiled) -> int | None:
    """Bytes of a compiled program's arguments, outputs and temporaries; None where the backend does not say."""
    try:
        m = compiled.memory_analysis()
        return int(m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes)
    except Exception:  # a backend without memory analysis: run and let the runtime say
        return None


def _fitting(per_key: float | None, share: float, free: int | None) -> str:
    """How many keys fit in ``share`` of ``free`` bytes at ``per_key`` bytes each, as advice for the message."""
    if per_key is None or free is None:
        return "split the work into several calls"
    return f"at most {max(int(share * free / per_key), 0)} fit in one call (split the work into several calls)"


def fit(generator, table, space, configs, *, share: float = 0.8, probe: tuple[int, int] = (256, 512),
        **context) -> tuple[int | None, float, float]:
    """The largest number of cells one device runs in one call: ``(cells, bytes per cell, fixed bytes)``.

    Compiles the grid function on one device for ``probe`` cells (no run) and fits XLA's memory
    estimate (arguments, outputs and temporaries) as ``fixed + per_cell * cells``; ``cells`` is what
    fits in ``share`` of :func:`device_memory` (None where the memory cannot be told).

    Examples:
      >>> import types, jax.numpy as jnp
      >>> from jaxnag import parallel, spaces, tables
      >>> space, t = spaces.get("nasbench_graph"), tables.load("nasbench_graph", "cora")
      >>> one = types.SimpleNamespace(  # any object with generate(key, fitness, space, config): here one lookup
      ...     generate=lambda key, fitness, space, config: fitness(jnp.zeros(5, jnp.int32)))
      >>> cells, per_cell, fixed = parallel.fit(one, t, "nasbench_graph", {}, probe=(2, 4))  # a space or its name
      >>> cells > 1000, per_cell > 0, fixed > 0
      (True, True, True)
    """
    import jax
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    from . import spaces
    generator, space = _resolve(generator), spaces.get(space)  # a registered space's name, or the space itself
    one = _mesh(1)
    batched, num_configs = batch_configs(configs)
    stacked = table.num_tasks is not None
    fn = _sharded(generator, space, one, stacked, num_configs == 1)
    split, everywhere = NamedSharding(one, P(AXIS)), NamedSharding(one, P())
    shared = jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), np.asarray(x).dtype, sharding=everywhere),
                          (table, batched, context))
    need = []
    for n in probe:
        spec = [jax.ShapeDtypeStruct(s, d, sharding=split) for s, d in (((n, 2), np.uint32), ((n,), np.int32),
                                                                          ((n,), np.int32))]
        m = fn.lower(*spec, *shared).compile().memory_analysis()
        need.append(int(m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes))
    per_cell = max((need[1] - need[0]) / (probe[1] - probe[0]), 1.0)
    fixed = max(need[0] - per_cell * probe[0], 0.0)
    free = device_memory(one.devices.flat[0])
    cells_ = None if free is None else max(int((share * free - fixed) // per_cell), 0)
    return cells_, per_cell, fixed


# ----------------------------------------------------------------------------- running
def _resolve(generator):
    """A :class:`~jaxnag.protocol.Generator` from itself or its registry name."""
    from . import registry
    return registry.get(generator) if isinstance(generator, str) else generator


_FUNCTIONS: collections.OrderedDict = collections.OrderedDict()
_MAX_FUNCTIONS = 32  # compiled grid functions kept (least recently used dropped first)


def _sharded(generator, space, mesh_, stacked: bool, one_config: bool) -> Callable:
    """The jitted, sharded grid function (built once per generator, space, mesh, table kind and whether
    there is one config, so ``jax.jit`` compiles once per shape). One config stays unbatched inside the
    ``vmap``, which keeps the program the plain ``vmap(generate)`` over keys."""
    key = (id(generator), id(space), mesh_, stacked, one_config)
    if key in _FUNCTIONS:
        _FUNCTIONS.move_to_end(key)
        return _FUNCTIONS[key][2]
    import jax
    from jax.sharding import PartitionSpec as P

    def cell(key_data, config_index, task_index, table, configs, context):
        key = jax.random.wrap_key_data(key_data)
        task = jax.tree.map(lambda x: x[task_index], table) if stacked else table
        config = jax.tree.map(lambda x: x[0] if one_config else x[config_index], configs)
        return generator.generate(key, task, space, config, **context)

    def local(key_data, config_index, task_index, table, configs, context):
        return jax.vmap(cell, in_axes=(0, 0, 0, None, None, None))(key_data, config_index, task_index, table,
                                                                   configs, context)

    sharded = P(AXIS)
    fn = jax.jit(jax.shard_map(local, mesh=mesh_, in_specs=(sharded, sharded, sharded, P(), P(), P()),
                               out_specs=sharded, check_vma=False))
    _FUNCTIONS[key] = (generator, space, fn)  # holding them keeps their ids unique
    while len(_FUNCTIONS) > _MAX_FUNCTIONS:
        _FUNCTIONS.popitem(last=False)
    return fn


def _global(x: np.ndarray, sharding):
    """A global array of ``sharding`` from a host array every process holds in full."""
    import jax
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])


def _replicated(tree, sharding):
    import jax
    return jax.tree.map(lambda x: _global(np.asarray(x), sharding), tree)


def _gather(tree) -> Any:
    """Global arrays to host numpy arrays on every process."""
    import jax
    if jax.process_count() == 1:
        return jax.tree.map(np.asarray, tree)
    from jax.experimental import multihost_utils
    return multihost_utils.process_allgather(tree, tiled=True)


class _Plan(NamedTuple):
    """What :func:`run_chunks` runs: the sharded function, the cells to run, the padded call size and the
    arguments every call shares."""

    fn: Callable
    todo: np.ndarray
    per_call: int
    grid: Cells
    key_data: np.ndarray
    split: Any
    shared: tuple

    def args(self, index: np.ndarray) -> tuple:
        """The arguments of the call that runs cells ``index`` (padded with its first cell)."""
        padded = np.concatenate([index, np.full(self.per_call - len(index), index[0])])
        return (_global(self.key_data[padded], self.split), _global(self.grid.config[padded], self.split),
                _global(self.grid.task[padded], self.split), *self.shared)


def _plan(generator, seeds, table, space, configs, mesh, chunk, select, context) -> _Plan:
    import jax
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    from . import spaces
    generator = _resolve(generator)
    space = spaces.get(space)  # a registered space's name, or the space itself
    mesh_ = mesh if mesh is not None else _mesh()
    devices = mesh_.devices.size
    batched, num_configs = batch_configs(configs)
    stacked = table.num_tasks is not None
    grid = cells(num_configs, table.num_tasks if stacked else 1, seeds)
    todo = np.arange(len(grid))
    if select is not None:
        select = np.asarray(select, bool)
        if select.shape != (len(grid),):
            raise ConfigError(f"select must be a bool mask of the grid's {len(grid)} cells, got shape {select.shape}")
        todo = todo[select]
    if chunk is None:
        chunk = len(todo)
    check_int("chunk", chunk, lo=1)
    per_call = max(devices, math.ceil(min(chunk, max(len(todo), 1)) / devices) * devices)
    fn = _sharded(generator, space, mesh_, stacked, num_configs == 1)
    split = NamedSharding(mesh_, P(AXIS))
    everywhere = NamedSharding(mesh_, P())
    shared = _replicated((table, batched, context), everywhere)
    key_data = np.asarray(jax.random.key_data(jax.vmap(jax.random.key)(grid.seed.astype(np.int32))))
    return _Plan(fn, todo, per_call, grid, key_data, split, shared)


def call_memory(generator, seeds: Sequence[int], table, space, configs, *, mesh=None, chunk: int | None = None,
                select: np.ndarray | None = None, **context) -> tuple[int, int] | None:
    """``(cells per call, bytes)``: what one call of :func:`run_chunks` with the same arguments needs on each
    device, by XLA's estimate of the compiled call (arguments, outputs and temporaries); None when no cell
    is selected or the backend gives no estimate. It compiles the call :func:`run_chunks` makes, and JAX
    keeps that compilation, so checking first costs no second compilation.

    Examples:
      >>> from jaxnag import ednag, parallel, spaces, tables
      >>> space, t = spaces.get("nasbench_graph"), tables.load("nasbench_graph", "cora")
      >>> per_call, need = parallel.call_memory("ednag", range(10), t, space, ednag.Config(population=8, steps=4),
      ...                                       chunk=5)
      >>> per_call, need > 0
      (5, True)
    """
    p = _plan(generator, seeds, table, space, configs, mesh, chunk, select, context)
    if not len(p.todo):
        return None
    try:
        m = p.fn.lower(*p.args(p.todo[:p.per_call])).compile().memory_analysis()
        need = int(m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes)
    except (AttributeError, NotImplementedError, TypeError):  # a backend without memory analysis
        return None
    return p.per_call, need


def run_chunks(generator, seeds: Sequence[int], table, space, configs, *, mesh=None, chunk: int | None = None,
               select: np.ndarray | None = None, **context) -> Iterator[tuple[np.ndarray, Any]]:
    """Run a grid chunk by chunk; yields ``(cell indices, Result)`` with host arrays, one chunk at a time.

    Every chunk has the same padded shape (one compilation). ``select`` (bool ``[cells]`` over
    :func:`cells` of the grid) runs only those cells, so a resumed grid skips what finished; the
    other arguments are :func:`run`'s.

    Examples:
      >>> import numpy as np
      >>> from jaxnag import ednag, parallel, spaces, tables
      >>> space, t = spaces.get("nasbench_graph"), tables.load("nasbench_graph", "cora")
      >>> todo = np.arange(10) % 3 != 0  # cells 0, 3, 6 and 9 done already
      >>> for index, res in parallel.run_chunks("ednag", range(10), t, space, ednag.Config(population=8, steps=4),
      ...                                       chunk=5, select=todo):
      ...     print(index.tolist(), res.best_fitness.shape)
      [1, 2, 4, 5, 7] (5,)
      [8] (1,)
    """
    import jax

    p = _plan(generator, seeds, table, space, configs, mesh, chunk, select, context)
    for start in range(0, len(p.todo), p.per_call):
        index = p.todo[start:start + p.per_call]
        out = _gather(p.fn(*p.args(index)))
        yield index, jax.tree.map(lambda x: x[:len(index)], out)


def run(generator, seeds: Sequence[int], table, space, configs, *, mesh=None, chunk: int | None = None,
        **context):
    """Run ``generator`` (a registry name or a :class:`~jaxnag.protocol.Generator`) on every cell of
    configs x tasks x seeds, sharded over ``mesh`` (default: every device of every process).

    Args:
      seeds: ints; seed ``s`` runs with ``jax.random.key(s)``.
      table: the fitness: one table, or a :func:`jaxnag.tables.stack` of tasks.
      space: the search space, or a registered space's name.
      configs: one config, a list of configs with the same static fields, or a batched config.
      chunk: at most this many cells per call (rounded up to a multiple of the mesh size), to bound
        memory; every call has the same shape. Default: the whole grid in one call.
      context: the generator's context (PG-NAG's ``source``, DiffusionNAG's ``score_model``), replicated.

    Returns:
      A :class:`~jaxnag.protocol.Result` of host arrays whose leading axes are ``[configs, tasks, seeds]``
      (tasks = 1 for one table), on every process.

    Examples:
      >>> from jaxnag import ednag, parallel, spaces, tables
      >>> space, t = spaces.get("nasbench_graph"), tables.load("nasbench_graph", "cora")
      >>> cfg = ednag.Config(population=8, steps=4)
      >>> a = parallel.run("ednag", range(10), t, space, cfg, chunk=5)  # two calls of 5 cells
      >>> b = parallel.run("ednag", [7, 3, 9, 1, 5], t, space, cfg)
      >>> a.best_fitness.shape, bool((a.best_fitness[0, 0, [7, 3, 9, 1, 5]] == b.best_fitness[0, 0]).all())
      ((1, 1, 10), True)
    """
    import jax
    batched, num_configs = batch_configs(configs)
    grid = cells(num_configs, table.num_tasks or 1, seeds)
    out = None
    for index, res in run_chunks(generator, seeds, table, space, batched, mesh=mesh, chunk=chunk, **context):
        if out is None:
            out = jax.tree.map(lambda x: np.empty((len(grid),) + x.shape[1:], x.dtype), res)
        jax.tree.map(lambda o, x: o.__setitem__(index, x), out, res)
    return jax.tree.map(lambda o: o.reshape(grid.shape + o.shape[1:]), out)
