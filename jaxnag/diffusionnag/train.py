"""Train DiffusionNAG's score network: denoising score matching with optax, EMA, orbax checkpoints.

Training runs in compiled chunks (``lax.scan`` of ``log_every`` steps under plain
``jax.jit``, the network passed as an ``nnx.split`` state); between chunks the loop
prints progress and, every ``ckpt_every`` steps, saves a resumable checkpoint
(params, EMA params, optimizer state, step) with orbax, plus ``config.json``.
Only the latest ``keep`` checkpoints are kept and the one loaded is the latest: the
reference called its latest checkpoint "best", jaxnag does not claim that.

Example:
  >>> # model, info = train.train_score(jax.random.key(0), spaces.get("nb201"),
  >>> #                                 TrainConfig(iterations=2000), "ckpt/small")
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from .. import sde as sde_lib
from ..tables import DataError
from ..nn.score_net import REFERENCE, SMALL, NetConfig, ScoreNet, op_node_graph
from . import encoding

CONFIGS = {"reference": REFERENCE, "small": SMALL}


class CheckpointError(DataError):
    """A checkpoint folder is missing, incomplete or corrupt."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Score-network training. Defaults suit the small network on a CPU; the reference
    used lr 2e-5, 1,000 warm-up steps and 250k iterations."""

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

    def net_config(self) -> NetConfig:
        if self.net not in CONFIGS:
            raise ValueError(f"unknown network config {self.net!r}; available: {', '.join(CONFIGS)}")
        return CONFIGS[self.net]

    def make_sde(self):
        if self.sde == "ve":
            return sde_lib.VESDE(self.sigma_min, self.sigma_max)
        if self.sde == "vp":
            return sde_lib.VPSDE()
        raise ValueError(f"unknown sde {self.sde!r}; use 've' or 'vp'")


def build(space, config: TrainConfig, key) -> ScoreNet:
    """A fresh score network for ``space`` (its op-node graph) and ``config.net``."""
    if space.edges is None:
        raise ValueError(f"DiffusionNAG needs a cell space with ops on edges; {space.name} has none")
    output = max(d for _, d in space.edges)
    v, f = encoding.shape(space)
    net_cfg = dataclasses.replace(config.net_config(), features=f)
    return ScoreNet(net_cfg, op_node_graph(space.edges, output), rngs=nnx.Rngs(params=key))


def optimizer(config: TrainConfig) -> optax.GradientTransformation:
    """Adam with linear warm-up and global-norm clipping."""
    sched = optax.warmup_constant_schedule(0.0, config.lr, config.warmup)
    return optax.chain(optax.clip_by_global_norm(config.clip), optax.adam(sched))


def ema_decay(step, max_decay):
    return jnp.minimum(max_decay, (1.0 + step) / (10.0 + step))


def _save(directory: Path, step: int, tree, config: TrainConfig, space, keep: int):
    import orbax.checkpoint as ocp
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(dict(train=dataclasses.asdict(config), space=space.name)))
    with ocp.CheckpointManager(directory.resolve(), options=ocp.CheckpointManagerOptions(max_to_keep=keep)) as m:
        m.save(step, args=ocp.args.StandardSave(tree))
        m.wait_until_finished()


def _restore(directory: Path, abstract):
    import orbax.checkpoint as ocp
    with ocp.CheckpointManager(directory.resolve()) as m:
        step = m.latest_step()
        if step is None:
            raise CheckpointError(f"{directory} holds no checkpoint step (train with `jaxnag train-score`)")
        try:
            return step, m.restore(step, args=ocp.args.StandardRestore(abstract))
        except Exception as e:  # orbax raises many types for damaged files
            raise CheckpointError(f"checkpoint step {step} in {directory} is corrupt or incomplete "
                                  f"({type(e).__name__}: {str(e)[:200]})") from None


def load_config(directory) -> tuple[TrainConfig, str]:
    """``(TrainConfig, space name)`` stored beside a checkpoint."""
    path = Path(directory) / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{directory} is not a jaxnag score checkpoint (no config.json); "
                              "train one with `jaxnag train-score --out DIR`")
    try:
        raw = json.loads(path.read_text())
        return TrainConfig(**raw["train"]), raw["space"]
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{path} is corrupt ({e})") from None


def train_score(key: jax.Array, space, config: TrainConfig = TrainConfig(), out: str | Path | None = None,
                data_ops=None, resume: bool = True, verbose: bool = True):
    """Train (or resume) a score network on ``data_ops`` (default: every valid encoding of the space).

    Returns ``(ema_model, info)`` where ``info`` has ``losses`` (mean per chunk), ``steps``,
    ``seconds``, ``steps_per_s`` (overall, compilation included) and ``steady_steps_per_s``
    (median over the chunks after the first).
    """
    k_init, k_loop = jax.random.split(key)
    model = build(space, config, k_init)
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    sde = config.make_sde()
    opt = optimizer(config)
    tree = dict(params=params, ema=params, opt=opt.init(params), step=jnp.int32(0))
    out = Path(out) if out is not None else None
    if out is not None and resume and (out / "config.json").is_file():
        _, tree = _restore(out, jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), tree))
        if verbose:
            print(f"jaxnag: resumed {out} at step {int(tree['step'])}", file=sys.stderr)
    if data_ops is None:
        data_ops = space.all_ops()[np.asarray(space.is_valid(space.all_ops()))]
    data = jnp.asarray(encoding.to_matrix(jnp.asarray(data_ops), space)) * 2.0 - 1.0

    def loss_fn(p, k):
        k_i, k_l, k_d = jax.random.split(k, 3)
        x0 = data[jax.random.randint(k_i, (config.batch,), 0, data.shape[0])]
        net = nnx.merge(graphdef, p, rest)
        return sde_lib.dsm_loss(lambda x, lvl: net(x, lvl, k_d), sde, x0, k_l)

    @jax.jit
    def chunk(tree, k):
        def step(t, kk):
            loss, grads = jax.value_and_grad(loss_fn)(t["params"], kk)
            upd, opt_state = opt.update(grads, t["opt"], t["params"])
            params = optax.apply_updates(t["params"], upd)
            d = ema_decay(t["step"], config.ema_max)
            ema = jax.tree.map(lambda e, q: d * e + (1 - d) * q, t["ema"], params)
            return dict(params=params, ema=ema, opt=opt_state, step=t["step"] + 1), loss
        return jax.lax.scan(step, tree, jax.random.split(k, config.log_every))

    losses, chunk_seconds = [], []
    t0 = time.perf_counter()
    start = int(tree["step"])
    done = start
    while done < config.iterations:
        k_loop, k = jax.random.split(jax.random.fold_in(k_loop, done))
        tc = time.perf_counter()
        tree, l = chunk(tree, k)
        done = int(tree["step"])
        chunk_seconds.append(time.perf_counter() - tc)
        losses.append(float(jnp.mean(l)))
        if verbose:
            rate = (done - start) / (time.perf_counter() - t0)
            print(f"jaxnag: score training step {done}/{config.iterations}  loss {losses[-1]:.4f}  "
                  f"{rate:.1f} steps/s", file=sys.stderr, flush=True)
        if out is not None and (done % config.ckpt_every == 0 or done >= config.iterations):
            _save(out, done, tree, config, space, config.keep)
    seconds = time.perf_counter() - t0
    ema_model = nnx.merge(graphdef, tree["ema"], rest)
    # Steady-state rate: chunks after the first (which includes compilation).
    steady = chunk_seconds[1:] or chunk_seconds
    return ema_model, dict(losses=losses, steps=done, seconds=seconds, chunk_seconds=chunk_seconds,
                           steps_per_s=(done - start) / seconds if seconds > 0 else float("nan"),
                           steady_steps_per_s=config.log_every / float(np.median(steady)) if steady else float("nan"))


def load_score(directory, space=None):
    """The EMA score network stored in ``directory`` (latest step) and its TrainConfig.

    Raises:
      CheckpointError: missing, incomplete or corrupt checkpoint, or a different space.
    """
    from .. import spaces
    directory = Path(directory)
    config, space_name = load_config(directory)
    if space is not None and space.name != space_name:
        raise CheckpointError(f"{directory} was trained on {space_name}, not {space.name}")
    space = spaces.get(space_name)
    model = build(space, config, jax.random.key(0))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    tree = dict(params=params, ema=params, opt=optimizer(config).init(params), step=jnp.int32(0))
    _, tree = _restore(directory, jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), tree))
    return nnx.merge(graphdef, tree["ema"], rest), config, space
