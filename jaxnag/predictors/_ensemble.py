"""An ensemble of small MLPs (BANANAS-style): the members' mean predicts, their spread is the uncertainty.

Each member is an MLP on one-hot features (two hidden ReLU layers), initialised differently, trained with
Adam (optax) on the squared error of the held values normalised to mean 0, variance 1. Every
:meth:`Ensemble.update` adds the batch to the buffer (:class:`jaxnag.predictors.Buffer`) and continues
training every member for ``steps`` full-batch steps from where it was (warm start: an online run of ``r``
rounds trains ``r * steps`` steps in all). Everything is one program, vmapped over the members.

Examples:
  >>> import jax, jax.numpy as jnp
  >>> from jaxnag import predictors, spaces
  >>> space = spaces.get("nb201")
  >>> model = predictors.Ensemble(steps=300, memory=64)
  >>> ops = space.random(jax.random.key(0), (60,))
  >>> values = jnp.sum(ops == 3, axis=1).astype(jnp.float32)
  >>> fit_and_predict = jax.jit(lambda o, v: model.predict(model.update(model.init(space), o, v, space), o[:4], space))
  >>> mean, std = fit_and_predict(ops, values)  # one compiled program
  >>> bool(jnp.max(jnp.abs(mean - values[:4])) < 0.5), std.shape
  (True, (4,))
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from ..errors import ConfigError
from . import _buffer

__all__ = ["Ensemble", "EnsembleState"]


class EnsembleState(NamedTuple):
    """The observations, the members' parameters (leading axis: member) and Adam's state.

    Examples:
      >>> import jax
      >>> from jaxnag import predictors, spaces
      >>> model = predictors.Ensemble(members=3, hidden=8, memory=16)
      >>> st = jax.eval_shape(lambda: model.init(spaces.get("nb201")))  # shapes only
      >>> st._fields, st.params["w1"].shape, st.buffer.ops.shape  # w1: [members, R * C, hidden]
      (('buffer', 'params', 'opt'), (3, 30, 8), (16, 6))
    """

    buffer: _buffer.Buffer
    params: Any
    opt: Any

    @property
    def count(self) -> jax.Array:
        """Finite values told so far."""
        return self.buffer.count


@dataclasses.dataclass(frozen=True)
class Ensemble:
    """An ensemble of MLPs (module doc). Static and hashable: a config field.

    Attributes:
      members: how many MLPs.
      hidden: units per hidden layer.
      steps: Adam steps per update (each a full batch over the buffer).
      learning_rate: Adam's.
      weight_decay: L2 penalty on the weights.
      memory: the most observations held.

    Examples:
      >>> from jaxnag import errors, predictors
      >>> model = predictors.Ensemble(members=3, hidden=8)
      >>> model.members, model.steps, model.memory, hash(model) == hash(predictors.Ensemble(members=3, hidden=8))
      (3, 50, 300, True)
      >>> try:
      ...     predictors.Ensemble(members=1)
      ... except errors.ConfigError as e:
      ...     print(e)
      the ensemble's members must be an int >= 2, got 1
    """

    members: int = 5
    hidden: int = 32
    steps: int = 50
    learning_rate: float = 1e-2
    weight_decay: float = 1e-4
    memory: int = 300

    def __post_init__(self):
        for name in ("members", "hidden", "steps", "memory"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < (2 if name in ("members", "memory") else 1):
                lo = 2 if name in ("members", "memory") else 1
                raise ConfigError(f"the ensemble's {name} must be an int >= {lo}, got {v!r}")
        for name in ("learning_rate", "weight_decay"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not v >= 0 or (name == "learning_rate" and v == 0):
                bound = "> 0" if name == "learning_rate" else ">= 0"
                raise ConfigError(f"the ensemble's {name} must be a number {bound}, got {v!r}")

    def _optimizer(self):
        return optax.adamw(self.learning_rate, weight_decay=self.weight_decay)

    def _init_member(self, key, d):
        k1, k2, k3 = jax.random.split(key, 3)
        glorot = jax.nn.initializers.glorot_normal()
        h = self.hidden
        return dict(w1=glorot(k1, (d, h)), b1=jnp.zeros(h), w2=glorot(k2, (h, h)), b2=jnp.zeros(h),
                    w3=glorot(k3, (h, 1)), b3=jnp.zeros(1))

    @staticmethod
    def _forward(p, x):
        h = jax.nn.relu(x @ p["w1"] + p["b1"][None, :])
        h = jax.nn.relu(h @ p["w2"] + p["b2"][None, :])
        return (h @ p["w3"] + p["b3"][None, :])[:, 0]

    @staticmethod
    def _features(ops, space):
        return space.one_hot(ops).reshape(ops.shape[0], -1)

    def init(self, space) -> EnsembleState:
        """No observations; the members initialised from fixed keys (one per member)."""
        d = space.num_slots * space.num_choices
        params = jax.vmap(lambda k: self._init_member(k, d))(jax.random.split(jax.random.key(0), self.members))
        return EnsembleState(_buffer.empty(self.memory, space.num_slots), params,
                             jax.vmap(self._optimizer().init)(params))

    def update(self, state: EnsembleState, ops, values, space, mask=None) -> EnsembleState:
        """Add the batch (each architecture once) and train every member ``steps`` more steps."""
        buf, _ = _buffer.add(state.buffer, ops, values, mask)
        _, _, y = _buffer.normalised(buf)
        x = self._features(buf.ops, space)
        w = buf.used.astype(jnp.float32)
        opt = self._optimizer()

        def loss(p):
            return jnp.sum(w * (self._forward(p, x) - y) ** 2) / jnp.maximum(jnp.sum(w), 1.0)

        def step(carry, _):
            p, o = carry
            g = jax.grad(loss)(p)
            with jax.numpy_dtype_promotion("standard"):  # optax's bias correction mixes its int32 count with floats
                u, o = opt.update(g, o, p)
            return (optax.apply_updates(p, u), o), None

        def train(p, o):
            (p, o), _ = jax.lax.scan(step, (p, o), None, length=self.steps)
            return p, o
        params, opt_state = jax.vmap(train)(state.params, state.opt)
        return EnsembleState(buf, params, opt_state)

    def predict(self, state: EnsembleState, ops, space) -> tuple[jax.Array, jax.Array]:
        """``(mean [m], std [m])``: the members' mean and standard deviation, in the values' units."""
        mu, sd, _ = _buffer.normalised(state.buffer)
        x = self._features(jnp.asarray(ops, jnp.int32), space)
        out = jax.vmap(lambda p: self._forward(p, x))(state.params)  # [members, m]
        return mu + sd * jnp.mean(out, axis=0), sd * jnp.std(out, axis=0)
