"""Train DiffusionNAG's score network: denoising score matching with optax, EMA, orbax checkpoints.

Training runs in compiled chunks (a ``lax.scan`` under plain ``jax.jit``, one compilation, the
network passed as an ``nnx.split`` state). Step ``n`` draws its randomness from
``fold_in(key, n)``, so a run that is stopped and resumed ends with exactly the parameters of an
uninterrupted one.

A checkpoint folder belongs to jaxnag and cannot lose work::

  DIR/jaxnag-score.json     what the folder holds: space and network (checked before training)
  DIR/runs/0/run.json       one run: its key, training settings, start time
  DIR/runs/0/<step>/        orbax checkpoints of that run (params, EMA, optimizer state, step)

- :func:`train_score` refuses, before any compilation, a folder that is a file, unwritable, not
  empty and not a jaxnag checkpoint, or one of a different space or network.
- Resuming continues the newest run; ``resume=False`` (``--restart``) starts ``runs/<n+1>`` and
  deletes nothing. Each run's checkpoint manager only ever prunes steps of its own run.
- Saves happen at every multiple of ``ckpt_every`` and at the end; the run stops at exactly
  ``iterations`` steps. Orbax writes each step to a temporary folder and renames it when complete,
  so an interrupted save leaves the previous step loadable. Ctrl-C saves the current step.
- :func:`load_score` opens the folder read-only and loads the latest complete step of the newest
  run that has one. The reference called its latest checkpoint "best"; jaxnag does not claim that.

Examples:
  >>> # model, info = train.train_score(jax.random.key(0), spaces.get("nb201"),
  >>> #                                 ScoreTrainConfig(iterations=2000), "ckpt/small")
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from .. import outputs
from .. import sde as sde_lib
from ..interrupts import StopFlag
from ..errors import CheckpointError, ConfigError, Interrupted, JaxnagError, UnknownName, check_int, check_range, old_names
from ..nn.training import optimizer_step
from ..nn.score_net import REFERENCE, SMALL, NetConfig, ScoreNet, space_graph
from . import encoding

__all__ = ["CONFIGS", "DRAWN", "FORMAT", "MARKER", "ScoreTrainConfig", "TrainingInterrupted", "build", "default_data",
           "ema_decay", "latest_step", "load_config", "load_score", "optimizer", "prepare", "train_score"]

MARKER = "jaxnag-score.json"
FORMAT = 1
CONFIGS = {"reference": REFERENCE, "small": SMALL}


class TrainingInterrupted(Interrupted):
    """Training was interrupted (Ctrl-C); the current step was saved and the run can be resumed.

    Examples:
      >>> from jaxnag import errors
      >>> from jaxnag.diffusionnag import train
      >>> issubclass(train.TrainingInterrupted, errors.Interrupted)  # the CLI prints its line and exits 130
      True
      >>> try:  # what train_score raises on Ctrl-C (a real run trains for minutes)
      ...     raise train.TrainingInterrupted("interrupted at step 500; saved run-0 (run the same command to resume)")
      ... except errors.JaxnagError as e:
      ...     print(type(e).__name__, "|", e)
      TrainingInterrupted | interrupted at step 500; saved run-0 (run the same command to resume)
    """


@dataclasses.dataclass(frozen=True)
class ScoreTrainConfig:
    """Score-network training. Defaults suit the small network on a CPU; the reference
    used lr 2e-5, 1,000 warm-up steps and 250k iterations.

    ``iterations``, ``log_every``, ``ckpt_every`` and ``keep`` may change when a run is
    resumed; every other field defines the run and must match.

    Examples:
      >>> from jaxnag.diffusionnag import train
      >>> cfg = train.ScoreTrainConfig(sde="vp")
      >>> cfg.make_sde(), "iterations" in cfg.identity(), "sde" in cfg.identity()  # iterations may change
      (VPSDE(beta_min=0.1, beta_max=20.0), False, True)
      >>> try:
      ...     train.ScoreTrainConfig(sigma_max=0.05)
      ... except ValueError as e:  # errors.ConfigError
      ...     print(e)
      sigma_max must be in (0.1, inf], got 0.05
    """

    net: str = "small"
    sde: str = "ve"
    sigma_min: float = 0.1
    sigma_max: float = 5.0
    iterations: int = 6000
    batch: int = 256
    lr: float = 1e-3
    warmup: int = 200
    clip: float = 1.0
    ema_max: float = 0.9999
    log_every: int = 500
    ckpt_every: int = 2000
    keep: int = 2

    def replace(self, **kw):
        """A copy with the fields ``kw`` changed (checked as a new one is)."""
        return dataclasses.replace(self, **kw)

    def __post_init__(self):
        if self.net not in CONFIGS:
            raise UnknownName(f"unknown network config {self.net!r}; available: {', '.join(CONFIGS)}")
        if self.sde not in ("ve", "vp"):
            raise UnknownName(f"unknown sde {self.sde!r}; use 've' or 'vp'")
        check_range("sigma_min", self.sigma_min, lo=0.0, lo_open=True)
        check_range("sigma_max", self.sigma_max, lo=self.sigma_min, lo_open=True)
        check_int("iterations", self.iterations, lo=1)
        check_int("batch", self.batch, lo=1)
        check_range("lr", self.lr, lo=0.0, lo_open=True)
        check_int("warmup", self.warmup, lo=0)
        check_range("clip", self.clip, lo=0.0, lo_open=True)
        check_range("ema_max", self.ema_max, lo=0.0, hi=1.0)
        check_int("log_every", self.log_every, lo=1)
        check_int("ckpt_every", self.ckpt_every, lo=1)
        check_int("keep", self.keep, lo=1)

    def net_config(self) -> NetConfig:
        return CONFIGS[self.net]

    def make_sde(self):
        if self.sde == "ve":
            return sde_lib.VESDE(self.sigma_min, self.sigma_max)
        return sde_lib.VPSDE()

    def identity(self) -> dict:
        """The fields that define a run (all but the schedule of logging and saving)."""
        d = dataclasses.asdict(self)
        for k in _RESUMABLE:
            d.pop(k)
        return d


_RESUMABLE = ("iterations", "log_every", "ckpt_every", "keep")


#: How many architectures :func:`default_data` draws from a space too large to list (about 7-20 times the
#: architectures the default 6,000 steps of 256 see, so few are seen more than a few times).
DRAWN = 65536


def default_data(key: jax.Array, space) -> np.ndarray:
    """The architectures a score network learns by default, int32 ``[n, R]``: every valid encoding of a space
    small enough to list (NB201, TransNAS-Bench-101 micro: what DiffusionNAG trains on), else :data:`DRAWN`
    uniformly random valid encodings (``space.random``, distinct or not), drawn with ``key``: the score
    network then learns the space's uniform distribution, as it does on a listed one.

    Examples:
      >>> import jax
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import train
      >>> train.default_data(jax.random.key(0), spaces.get("nb201")).shape  # all 15,625 cells
      (15625, 6)
      >>> ops = train.default_data(jax.random.key(0), spaces.get("nb101"))  # about 5e8 encodings: drawn
      >>> ops.shape, bool(spaces.get("nb101").is_valid(ops).all())
      ((65536, 26), True)
    """
    if space.enumerable:
        ops = space.all_ops()
    else:
        ops = np.asarray(space.random(key, (DRAWN,)))  # redraws invalid rows; the rare survivor is dropped
    return ops[np.asarray(space.is_valid(ops))]


def build(space, config: ScoreTrainConfig, key) -> ScoreNet:
    """A fresh score network for ``space`` (its op-node graph) and ``config.net``: ``net(x [B, V, F], level [B])
    -> [B, V, F]`` on node-operation matrices (:mod:`jaxnag.diffusionnag.encoding`).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import train
      >>> build = lambda: train.build(spaces.get("nb201"), train.ScoreTrainConfig(net="small"), jax.random.key(0))
      >>> net = nnx.eval_shape(build)  # shapes only
      >>> type(net).__name__, net.config.layers
      ('ScoreNet', 3)
      >>> nnx.eval_shape(lambda m: m(jnp.zeros((2, 8, 7)), jnp.ones(2)), net)  # NB201: 8 nodes, 7 node types
      ShapeDtypeStruct(shape=(2, 8, 7), dtype=float32)
    """
    v, f = encoding.shape(space)
    net_cfg = dataclasses.replace(config.net_config(), features=f)
    return ScoreNet(net_cfg, space_graph(space), rngs=nnx.Rngs(params=key))


def optimizer(config: ScoreTrainConfig) -> optax.GradientTransformation:
    """Adam with linear warm-up and global-norm clipping.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.diffusionnag import train
      >>> opt = train.optimizer(train.ScoreTrainConfig(lr=1e-3, warmup=1))
      >>> params, grads = {"w": jnp.zeros(2)}, {"w": jnp.array([100.0, -1.0])}
      >>> with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 step count with floats
      ...     update = jax.jit(opt.update)
      ...     first, state = update(grads, opt.init(params), params)
      ...     second, state = update(grads, state, params)
      >>> float(jnp.abs(first["w"]).max()), [round(v, 4) for v in second["w"].tolist()]  # lr 0, then 1e-3
      (0.0, [-0.001, 0.001])
      >>> opt = train.optimizer(train.ScoreTrainConfig(lr=1e-3, warmup=0))  # no warm-up: the full rate at once
      >>> with jax.numpy_dtype_promotion("standard"):
      ...     first, _ = jax.jit(opt.update)(grads, opt.init(params), params)
      >>> [round(v, 4) for v in first["w"].tolist()]
      [-0.001, 0.001]
    """
    # optax's warm-up schedule over 0 steps stays at 0 for ever: no warm-up is the constant rate
    sched = optax.warmup_constant_schedule(0.0, config.lr, config.warmup) if config.warmup else config.lr
    return optax.chain(optax.clip_by_global_norm(config.clip), optax.adam(sched))


def ema_decay(step, max_decay):
    """The EMA decay at ``step``: ``min(max_decay, (1 + step) / (10 + step))`` (a warm-up, as the reference).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxnag.diffusionnag import train
      >>> [round(v, 4) for v in train.ema_decay(jnp.array([0, 10, 1_000_000]), 0.9999).tolist()]
      [0.1, 0.55, 0.9999]
    """
    step = jnp.asarray(step).astype(jnp.float32)
    return jnp.minimum(max_decay, (1.0 + step) / (10.0 + step))


# ----------------------------------------------------------------------------- the folder
def _write_json(path: Path, obj) -> None:
    """Write ``obj`` as JSON atomically (a temporary file renamed over the target)."""
    with outputs.atomic(path, "--out") as tmp:
        tmp.write_text(json.dumps(obj, indent=1))


def _read_json(path: Path) -> dict:
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is corrupt ({type(e).__name__}: {str(e)[:120]})") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path} is corrupt (not a JSON object)")
    return obj


def _runs(directory: Path) -> list[Path]:
    root = directory / "runs"
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))


def _steps(run: Path) -> list[int]:
    """Complete orbax steps of a run (temporary folders of interrupted saves are not steps)."""
    if not run.is_dir():
        return []
    return sorted(int(p.name) for p in run.iterdir() if p.is_dir() and p.name.isdigit())


def _identity(space, config: ScoreTrainConfig) -> dict:
    return dict(format=FORMAT, space=space.name, train=config.identity())


def _describe_mismatch(have: dict, want: dict) -> str:
    diffs = []
    if have.get("space") != want["space"]:
        diffs.append(f"space {have.get('space')} vs {want['space']}")
    for k, v in want["train"].items():
        if have.get("train", {}).get(k) != v:
            diffs.append(f"{k} {have.get('train', {}).get(k)!r} vs {v!r}")
    return ", ".join(diffs) or "format differs"


def prepare(directory, space, config: ScoreTrainConfig, resume: bool = True) -> tuple[Path, bool]:
    """Check ``directory`` can take this training run and return ``(run folder, resuming)``.

    Creates the folder and its marker if new. Never deletes anything. Raises
    :class:`CheckpointError` (before any training) for a file, an unwritable folder, a
    non-empty folder that is not a jaxnag score checkpoint, or a checkpoint of another
    space or network.

    Examples:
      >>> import os, tempfile
      >>> from pathlib import Path
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import train
      >>> s, cfg = spaces.get("nb201"), train.ScoreTrainConfig()
      >>> with tempfile.TemporaryDirectory() as d:
      ...     run, resuming = train.prepare(Path(d) / "ckpt", s, cfg)
      ...     print(run.relative_to(d).as_posix(), resuming, sorted(os.listdir(Path(d) / "ckpt")))
      ...     try:
      ...         train.prepare(Path(d) / "ckpt", s, cfg.replace(net="reference"))
      ...     except Exception as e:
      ...         print(type(e).__name__, "another kind" in str(e))
      ckpt/runs/0 False ['jaxnag-score.json', 'runs']
      CheckpointError True
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise CheckpointError(f"--out {directory} is a file, not a folder")
    want = _identity(space, config)
    marker = directory / MARKER
    if directory.is_dir() and any(directory.iterdir()) and not marker.is_file():
        what = "an older jaxnag checkpoint" if (directory / "config.json").is_file() else "not a jaxnag score checkpoint"
        raise CheckpointError(f"{directory} is not empty and is {what}; nothing was written: "
                              "train into a new or empty folder")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CheckpointError(f"cannot write to {directory} ({e.strerror or e})") from None
    outputs.probe(directory, directory / MARKER, "--out")
    if marker.is_file():
        have = _read_json(marker)
        if have != want:
            raise CheckpointError(f"{directory} holds a score network of another kind ({_describe_mismatch(have, want)}); "
                                  "nothing was written: train into a new folder")
    else:
        _write_json(marker, want)
    runs = _runs(directory)
    if runs and not _steps(runs[-1]):  # a run that never saved a step: reuse its number
        return runs[-1], False
    if resume and runs:
        return runs[-1], True
    run = directory / "runs" / str(int(runs[-1].name) + 1 if runs else 0)
    run.mkdir(parents=True)
    return run, False


def _manager(run: Path, keep: int | None = None, read_only: bool = False):
    import orbax.checkpoint as ocp
    outputs.quiet_orbax()
    opts = ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=False, create=not read_only,
                                        read_only=read_only)
    return ocp.CheckpointManager(run.resolve(), options=opts, item_handlers=ocp.StandardCheckpointHandler())


def _restore(run: Path, abstract, step: int | None = None):
    import orbax.checkpoint as ocp
    with _manager(run, read_only=True) as m:
        step = m.latest_step() if step is None else step
        if step is None:
            raise CheckpointError(f"{run} holds no checkpoint step (train with `jaxnag train-score`)")
        _check_shapes(m, step, abstract, run)
        try:
            return step, m.restore(step, args=ocp.args.StandardRestore(abstract))
        except Exception as e:  # orbax raises many types for damaged files
            raise CheckpointError(f"checkpoint step {step} in {run} is corrupt or incomplete "
                                  f"({type(e).__name__}: {str(e)[:160]})") from None


def _check_shapes(manager, step: int, abstract, run: Path) -> None:
    """Name a network-size mismatch as such (not as corruption), where orbax can read the metadata."""
    try:
        meta = manager.item_metadata(step)
        have = {_path(k): tuple(v.shape) for k, v in jax.tree_util.tree_leaves_with_path(meta) if hasattr(v, "shape")}
    except Exception:  # unreadable metadata: the restore reports the damage
        return
    for k, v in jax.tree_util.tree_leaves_with_path(abstract):
        key = _path(k)
        if key in have and have[key] != tuple(v.shape):
            raise CheckpointError(f"{run} step {step} holds a network of another size ({key}: {list(have[key])}, "
                                  f"this configuration expects {list(v.shape)})")


def _path(keys) -> str:
    """A tree path as ``a/b/0/c`` whatever key types the tree uses (orbax metadata and nnx differ)."""
    parts = [str(getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))) for k in keys]
    return "/".join(p for p in parts if p != "value")


def _abstract(tree):
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), tree)


def _fresh_tree(space, config: ScoreTrainConfig, k_init):
    # the network and the optimizer's state do not depend on the schedule of steps, logs and saves: a run
    # resumed for more iterations shares these compilations
    config = dataclasses.replace(config, iterations=1, log_every=1, ckpt_every=1, keep=1)
    rest, tree = _fresh_arrays(space, config, k_init)
    return _graphdef(space, config), rest, tree


@functools.lru_cache(maxsize=32)
def _graphdef(space, config: ScoreTrainConfig):
    """The network's static structure (traced once per space and config)."""
    return nnx.split(nnx.eval_shape(lambda: build(space, config, jax.random.key(0))), nnx.Param, ...)[0]


@functools.partial(jax.jit, static_argnums=(0, 1))
def _fresh_arrays(space, config: ScoreTrainConfig, k_init):
    """A fresh network's arrays and optimizer state, built in one compiled program (built op by op, each
    initializer's shape compiled a program of its own: about 60 compilations and 3 s per network)."""
    _, params, rest = nnx.split(build(space, config, k_init), nnx.Param, ...)
    return rest, dict(params=params, ema=params, opt=optimizer(config).init(params), step=jnp.int32(0))


# ----------------------------------------------------------------------------- training
@functools.partial(jax.jit, static_argnames=("graphdef", "config"))
def _train_chunk(tree, n, rest, data, k_loop, *, graphdef, config: ScoreTrainConfig):
    """The first ``n`` of ``log_every`` training steps (the rest are skipped), as one scan.

    Module-level and keyed by the static network definition and config, so every chunk
    length, every resumed process step and every call with the same settings share one
    compilation.
    """
    opt = optimizer(config)
    sde = config.make_sde()

    def loss_fn(p, k):
        k_i, k_l, k_d = jax.random.split(k, 3)
        x0 = data[jax.random.randint(k_i, (config.batch,), 0, data.shape[0])]
        net = nnx.merge(graphdef, p, rest)
        return sde_lib.dsm_loss(lambda x, lvl: net(x, lvl, k_d), sde, x0, k_l)

    def one_step(t):
        params, opt_state, loss = optimizer_step(loss_fn, opt, t["params"], t["opt"],
                                                 jax.random.fold_in(k_loop, t["step"]))
        d = ema_decay(t["step"], config.ema_max)
        ema = jax.tree.map(lambda e, q: d * e + (1 - d) * q, t["ema"], params)
        return dict(params=params, ema=ema, opt=opt_state, step=t["step"] + 1), loss

    def body(t, i):
        return jax.lax.cond(i < n, one_step, lambda t: (t, jnp.float32(jnp.nan)), t)
    return jax.lax.scan(body, tree, jnp.arange(config.log_every))


def _chunk_fn(graphdef, rest, data, config: ScoreTrainConfig, k_loop):
    """``chunk(tree, n) -> (tree, losses [log_every])`` for one training run."""
    # The schedule of logging and saving does not change the step: share compilations across it.
    static = dataclasses.replace(config, iterations=1, ckpt_every=1, keep=1)
    return lambda tree, n: _train_chunk(tree, n, rest, data, k_loop, graphdef=graphdef, config=static)


def _key_record(key) -> dict:
    return dict(impl=str(jax.random.key_impl(key)), data=np.asarray(jax.random.key_data(key)).tolist())


def _key_from_record(rec: dict, where: Path):
    try:
        return jax.random.wrap_key_data(jnp.asarray(rec["data"], jnp.uint32), impl=rec["impl"])
    except Exception as e:
        raise CheckpointError(f"{where}: unreadable run key ({type(e).__name__}: {e})") from None


def train_score(key: jax.Array, space, config: ScoreTrainConfig = ScoreTrainConfig(), out: str | Path | None = None,
                data_ops=None, resume: bool = True, verbose: bool = True):
    """Train (or resume) a score network on ``data_ops`` (default: :func:`default_data`, every valid encoding of
    a space small enough to list, else :data:`DRAWN` random valid ones).

    With ``out``, see the module doc for what is checked, saved and never deleted. When a run
    is resumed, its stored key is used (``key`` is ignored), so the result does not depend on
    where it was interrupted.

    Returns ``(ema_model, info)`` where ``info`` has ``losses`` (mean per chunk), ``steps``,
    ``seconds``, ``steps_per_s`` (overall, compilation included), ``steady_steps_per_s``
    (median over the chunks after the first), ``run`` (the run folder) and ``saved`` (steps saved).

    Raises:
      CheckpointError: see :func:`prepare`; a corrupt checkpoint to resume.
      TrainingInterrupted: on Ctrl-C, after saving the current step.

    Examples:
      >>> import os, tempfile
      >>> import jax
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import train
      >>> with tempfile.TemporaryDirectory() as d:
      ...     _ = open(os.path.join(d, "notes.txt"), "w").write("not a checkpoint")
      ...     try:  # refused before anything is compiled or written (a real run trains for minutes)
      ...         train.train_score(jax.random.key(0), spaces.get("nb201"), train.ScoreTrainConfig(), out=d)
      ...     except Exception as e:
      ...         print(type(e).__name__, os.listdir(d))
      CheckpointError ['notes.txt']
    """
    if not isinstance(config, ScoreTrainConfig):
        raise ConfigError(f"config must be a diffusionnag.train.ScoreTrainConfig, got {type(config).__name__}")
    out = Path(out) if out is not None else None
    run, resuming = prepare(out, space, config, resume) if out is not None else (None, False)
    if resuming:
        key = _key_from_record(_read_json(run / "run.json").get("key", {}), run / "run.json")
    k_init, k_loop = jax.random.split(key)
    graphdef, rest, tree = _fresh_tree(space, config, k_init)
    if resuming:
        _, tree = _restore(run, _abstract(tree))
        if verbose:
            print(f"jaxnag: resumed {run} at step {int(tree['step'])}", file=sys.stderr, flush=True)
    elif run is not None:
        _write_json(run / "run.json", dict(key=_key_record(key), train=dataclasses.asdict(config),
                                           started=time.strftime("%Y-%m-%dT%H:%M:%S")))
    if data_ops is None:
        data_ops = default_data(jax.random.fold_in(key, 1), space)
    data = jnp.asarray(encoding.to_matrix(jnp.asarray(data_ops), space)) * 2.0 - 1.0
    chunk = _chunk_fn(graphdef, rest, data, config, k_loop)

    manager = _manager(run, config.keep) if run is not None else None
    saved: list[int] = []

    def save(step: int):
        if manager is None or step in saved or step in _steps(run):
            return
        import orbax.checkpoint as ocp
        manager.save(step, args=ocp.args.StandardSave(tree), force=True)
        manager.wait_until_finished()
        saved.append(step)

    losses, chunk_seconds = [], []
    t0 = time.perf_counter()
    start = done = int(tree["step"])
    # Ctrl-C sets a flag that is read between chunks: a KeyboardInterrupt raised at an arbitrary point
    # (inside JAX's dispatch or a lock) could leave the process unable to save, or hang
    stop = StopFlag(None)
    try:
        while done < config.iterations:
            stop.check()
            next_ckpt = (done // config.ckpt_every + 1) * config.ckpt_every
            n = min(config.log_every, next_ckpt - done, config.iterations - done)
            tc = time.perf_counter()
            new_tree, l = chunk(tree, jnp.int32(n))
            done = int(new_tree["step"])  # waits for the chunk
            tree = new_tree
            chunk_seconds.append(time.perf_counter() - tc)
            losses.append(float(jnp.nanmean(l)))
            if verbose:
                rate = (done - start) / (time.perf_counter() - t0)
                print(f"jaxnag: score training step {done}/{config.iterations}  loss {losses[-1]:.4f}  "
                      f"{rate:.1f} steps/s", file=sys.stderr, flush=True)
            if done % config.ckpt_every == 0 or done >= config.iterations:
                save(done)
    except KeyboardInterrupt:
        done = int(tree["step"])
        if manager is None:
            raise TrainingInterrupted(f"interrupted at step {done}; nothing saved (no output folder)") from None
        save(done)
        raise TrainingInterrupted(f"interrupted at step {done}; saved {run} (run the same command to resume)") \
            from None
    finally:
        stop.restore()
        if manager is not None:
            manager.close()
    seconds = time.perf_counter() - t0
    ema_model = nnx.merge(graphdef, tree["ema"], rest)
    # Steady-state rate: chunks after the first (which includes compilation), full-length ones.
    steady = chunk_seconds[1:] or chunk_seconds
    return ema_model, dict(losses=losses, steps=done, seconds=seconds, chunk_seconds=chunk_seconds,
                           steps_per_s=(done - start) / seconds if seconds > 0 else float("nan"),
                           steady_steps_per_s=config.log_every / float(np.median(steady)) if steady else float("nan"),
                           run=run, saved=saved)


# ----------------------------------------------------------------------------- loading
def _locate(directory: Path) -> tuple[ScoreTrainConfig, str, Path]:
    """``(config, space name, run folder)`` of the newest run with a complete step."""
    if not directory.is_dir():
        raise CheckpointError(f"{directory} is not a folder; train a score network with `jaxnag train-score --out DIR`")
    marker = directory / MARKER
    if not marker.is_file():
        if (directory / "config.json").is_file():  # the layout of jaxnag 0.1 (read-only support)
            raw = _read_json(directory / "config.json")
            return _config_from(raw.get("train"), directory / "config.json"), raw.get("space"), directory
        raise CheckpointError(f"{directory} is not a jaxnag score checkpoint (no {MARKER}); "
                              "train one with `jaxnag train-score --out DIR`")
    space_name = _read_json(marker).get("space")
    for run in reversed(_runs(directory)):
        if _steps(run):
            raw = _read_json(run / "run.json")
            return _config_from(raw.get("train"), run / "run.json"), space_name, run
    raise CheckpointError(f"{directory} holds no completed checkpoint step yet (training saves at every "
                          "--ckpt-every steps and at the end)")


def _config_from(raw, where: Path) -> ScoreTrainConfig:
    try:
        return ScoreTrainConfig(**raw)
    except (TypeError, JaxnagError) as e:
        raise CheckpointError(f"{where} is corrupt ({e})") from None


def load_config(directory) -> tuple[ScoreTrainConfig, str]:
    """``(ScoreTrainConfig, space name)`` of the run that :func:`load_score` would load.

    Examples:
      >>> import dataclasses, json, tempfile
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import train
      >>> cfg = train.ScoreTrainConfig(iterations=2000)
      >>> with tempfile.TemporaryDirectory() as d:
      ...     run, _ = train.prepare(d, spaces.get("nb201"), cfg)  # what train_score writes first, then:
      ...     _ = (run / "run.json").write_text(json.dumps(dict(train=dataclasses.asdict(cfg))))
      ...     (run / "2000").mkdir()  # stands in for orbax's step folder (real training takes minutes)
      ...     print(train.load_config(d) == (cfg, "nb201"))
      True
    """
    config, space_name, _ = _locate(Path(directory))
    return config, space_name


def latest_step(directory) -> int:
    """The training step of the checkpoint that :func:`load_score` would load.

    Examples:
      >>> import dataclasses, json, tempfile
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import train
      >>> cfg = train.ScoreTrainConfig(iterations=4000)
      >>> with tempfile.TemporaryDirectory() as d:
      ...     run, _ = train.prepare(d, spaces.get("nb201"), cfg)  # what train_score writes first, then:
      ...     _ = (run / "run.json").write_text(json.dumps(dict(train=dataclasses.asdict(cfg))))
      ...     for step in (2000, 4000):  # stand in for orbax's step folders (real training takes minutes)
      ...         (run / str(step)).mkdir()
      ...     print(train.latest_step(d))
      4000
    """
    _, _, run = _locate(Path(directory))
    return _steps(run)[-1]


def load_score(directory, space=None):
    """The EMA score network stored in ``directory`` (latest step), its ScoreTrainConfig and space.

    Opens the folder read-only: loading never creates, changes or deletes a file.

    Raises:
      CheckpointError: missing, incomplete or corrupt checkpoint, or a different space or network size.

    Examples:
      >>> import tempfile
      >>> from pathlib import Path
      >>> from jaxnag import spaces
      >>> from jaxnag.diffusionnag import train
      >>> with tempfile.TemporaryDirectory() as d:
      ...     _ = train.prepare(d, spaces.get("nb201"), train.ScoreTrainConfig())  # no step saved yet
      ...     before = sorted(p.name for p in Path(d).rglob("*"))
      ...     try:
      ...         train.load_score(d)
      ...     except Exception as e:
      ...         print(type(e).__name__, sorted(p.name for p in Path(d).rglob("*")) == before)  # nothing written
      CheckpointError True
    """
    from .. import spaces
    directory = Path(directory)
    config, space_name, run = _locate(directory)
    if space is not None and space.name != space_name:
        raise CheckpointError(f"{directory} was trained on {space_name}, not {space.name}")
    try:
        space = spaces.get(space_name)
    except KeyError:
        raise CheckpointError(f"{directory} names an unknown space {space_name!r}") from None
    graphdef, rest, tree = _fresh_tree(space, config, jax.random.key(0))
    _, tree = _restore(run, _abstract(tree))
    return nnx.merge(graphdef, tree["ema"], rest), config, space


__getattr__ = old_names("jaxnag.diffusionnag.train", {"TrainConfig": "ScoreTrainConfig"}, globals())
