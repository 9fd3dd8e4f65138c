"""What the networks of :mod:`jaxnag.models` share: PyTorch-style initialisation and batch norm,
taps on intermediate values (how zero-cost proxies read activations), the masked mode of mixed
cells, state merging inside transforms, parameter counts and a population applied in one program.

Examples:
  >>> from flax import nnx
  >>> from jaxnag.models import layers
  >>> layers.count(layers.linear(4, 3, nnx.Rngs(0)))
  15
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .. import rng
from ..errors import ConfigError, UnknownName, check_int

__all__ = ["BN", "FLOP_CONVENTIONS", "INIT", "MixedNetworkBase", "apply_population", "cell_ops", "conv",
           "conv_general_dilated", "conv_layer", "count", "flop_convention", "forward_mode", "linear", "masked",
           "masked_mode", "merge", "pooled_logits", "stacked", "switch_edge", "tap", "tapped", "variance_scaling"]

# How the models' ``flops`` count: ``macs``, the multiply-adds of convolutions and linear layers (and the linear
# bias), as the NAS-Bench-201 API counts; ``naslib``, NASLib's counter (tensorwatch's ``ModelStats`` on a batch of one,
# the ``flops`` of NASLib's zero-cost benchmark files), which adds batch norm (1 per element, 2 with scale and shift),
# ReLU (1 per element), pooling (window size per output) and global pooling, and leaves out the linear bias.
FLOP_CONVENTIONS = ("macs", "naslib")
BN = dict(momentum=0.9, epsilon=1e-5)  # PyTorch's BatchNorm2d defaults (momentum 0.1 of the new batch)


def flop_convention(name: str) -> str:
    """``name`` if it is one of :data:`FLOP_CONVENTIONS`, else an :class:`~jaxnag.errors.UnknownName` naming them.

    Examples:
      >>> from jaxnag.models import layers
      >>> layers.flop_convention("naslib")
      'naslib'
      >>> layers.flop_convention("gmacs")
      Traceback (most recent call last):
      jaxnag.errors.UnknownName: unknown FLOP convention 'gmacs'; available: macs, naslib
    """
    if name not in FLOP_CONVENTIONS:
        raise UnknownName(f"unknown FLOP convention {name!r}; available: {', '.join(FLOP_CONVENTIONS)}")
    return name


def _head_flops(channels: int, side: int, classes: int, naslib: bool) -> int:
    """FLOPs of global average pooling over ``channels`` maps of ``side``^2 and a linear classifier: its
    multiply-adds and bias, or as tensorwatch counts (pooling (side + 1)^2 per channel, the linear layer
    without its bias)."""
    if naslib:
        return channels * (side + 1) ** 2 + channels * classes
    return channels * classes + classes


def variance_scaling(scale: float, mode: str, distribution: str) -> Callable:
    """``nnx.initializers.variance_scaling(scale, mode, distribution)`` for ``mode`` in fan_in, fan_out,
    fan_avg and ``distribution`` in uniform, normal: the same values, drawn through :mod:`jaxnag.rng`. With a
    concrete key (a network built eagerly) a uniform draw compiles nothing, where ``jax.random``'s compiles a
    program per weight shape: NB201's network builds 10.9x faster, DARTS's 3.7x (``docs/network_build.md``).

    Examples:
      >>> import jax, numpy as np
      >>> from flax import nnx
      >>> from jaxnag.models import layers
      >>> key = jax.random.key(0)
      >>> ours, flax_ = layers.variance_scaling(2.0, "fan_out", "uniform"), nnx.initializers.variance_scaling(
      ...     2.0, "fan_out", "uniform")
      >>> bool((np.asarray(ours(key, (3, 3, 4, 8))) == np.asarray(flax_(key, (3, 3, 4, 8)))).all())
      True
    """
    if mode not in ("fan_in", "fan_out", "fan_avg") or distribution not in ("uniform", "normal"):
        raise ConfigError(f"variance_scaling: mode must be fan_in, fan_out or fan_avg and distribution uniform or "
                          f"normal, got {mode!r}, {distribution!r}")

    def init(key, shape, dtype=jnp.float32):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ConfigError(f"variance_scaling: a weight of at least 2 dimensions, got shape {shape}")
        receptive = int(np.prod(shape[:-2]))
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
        denominator = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = np.asarray(scale / denominator, np.dtype(dtype))
        if distribution == "uniform":  # as jax: U(-1, 1) * sqrt(3 variance), each rounded as jax rounds it
            draw, std = rng.uniform(key, shape, -1.0, 1.0, dtype), np.sqrt(np.asarray(3, variance.dtype) * variance)
        else:
            draw, std = rng.normal(key, shape, dtype), np.sqrt(variance)
        # A concrete draw is scaled on the host: an eager multiply would compile once per shape.
        return draw * std if isinstance(draw, jax.core.Tracer) else jax.device_put(np.asarray(draw) * std)
    init.__doc__ = (f"A weight of ``shape`` drawn from ``key``: variance scaling ({scale!r}, {mode}, "
                    f"{distribution}).\n\n"
                    f"Examples:\n  >>> import jax\n  >>> from jaxnag.models import layers\n"
                    f"  >>> init = layers.variance_scaling({scale!r}, {mode!r}, {distribution!r})\n"
                    f"  >>> init(jax.random.key(0), (3, 3, 2, 4)).shape\n  (3, 3, 2, 4)\n")
    return init


# PyTorch's default initialisation of conv and linear weights, U(+-1/sqrt(fan_in))
INIT = variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def linear(cin: int, cout: int, rngs) -> nnx.Linear:
    """A linear layer initialised as PyTorch's (weights and bias U(+-1/sqrt(cin)))."""
    bound = 1.0 / np.sqrt(cin)
    return nnx.Linear(cin, cout, kernel_init=INIT, rngs=rngs,
                      bias_init=lambda key, shape, dtype=jnp.float32: rng.uniform(key, shape, -bound, bound, dtype))


_DN = ("NHWC", "HWIO", "NHWC")


# A convolution and its two gradients as three functions whose derivatives are each other (the gradients of
# ``<dx(g, k), X> = <g, conv(X, k)>`` and ``<dk(x, g), K> = <g, conv(x, K)>``), every one in the forward's
# layout (NHWC images, HWIO kernels), so derivatives of any order (grasp's Hessian-vector product) stay in it.
# The forms JAX derives swap batch and feature dimensions, and XLA swaps the operands of a convolution whose
# kernel is larger than its input (a second derivative's); its CPU backend canonicalises either only outside
# ``cond``/``switch`` branches and ``while`` bodies (``lax.map``), and inside ran them 3-30x slower (profiled:
# docs/results.md). ``spec`` is the forward's (strides, padding, lhs dilation, rhs dilation); the formulas
# are ``lax``'s transposes of a convolution, with the swapped dimensions written as transposes.


def _dilated(sizes, dilation):
    return [0 if n == 0 else 1 + d * (n - 1) for n, d in zip(sizes, dilation, strict=True)]


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _conv(x, k, spec):
    return _lax_conv(x, k, *spec)


def _conv_fwd(x, k, spec):
    return _conv(x, k, spec), (x, k)


def _conv_bwd(spec, res, g):
    x, k = res
    return _conv_dx(g, k, spec, x.shape[1:3]), _conv_dk(x, g, spec, k.shape[:2])


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_dx(g, k, spec, sizes):
    """The input gradient: ``g`` convolved with the flipped kernel, in <-> out channels swapped."""
    strides, padding, lhs_dilation, rhs_dilation = spec
    lhs, rhs, out = _dilated(sizes, lhs_dilation), _dilated(k.shape[:2], rhs_dilation), _dilated(g.shape[1:3], strides)
    before = [r - lo - 1 for r, (lo, _) in zip(rhs, padding, strict=True)]
    pads = tuple((b, n + r - 1 - o - b) for b, n, r, o in zip(before, lhs, rhs, out, strict=True))
    return _lax_conv(g, jnp.flip(k, (0, 1)).transpose(0, 1, 3, 2), lhs_dilation, pads, strides, rhs_dilation)


def _conv_dx_fwd(g, k, spec, sizes):
    return _conv_dx(g, k, spec, sizes), (g, k)


def _conv_dx_bwd(spec, sizes, res, cotangent):
    g, k = res
    return _conv(cotangent, k, spec), _conv_dk(cotangent, g, spec, k.shape[:2])


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_dk(x, g, spec, ks):
    """The kernel gradient: channels as the batch and the batch as channels, [cin, H, W, B] * [oh, ow, B, cout]."""
    strides, padding, lhs_dilation, rhs_dilation = spec
    lhs, rhs, out = _dilated(x.shape[1:3], lhs_dilation), _dilated(ks, rhs_dilation), _dilated(g.shape[1:3], strides)
    pads = tuple((lo, o - n + r - lo - 1) for (lo, _), n, r, o in zip(padding, lhs, rhs, out, strict=True))
    dk = _lax_conv(x.transpose(3, 1, 2, 0), g.transpose(1, 2, 0, 3), rhs_dilation, pads, lhs_dilation, strides)
    return dk.transpose(1, 2, 0, 3)


def _conv_dk_fwd(x, g, spec, ks):
    return _conv_dk(x, g, spec, ks), (x, g)


def _conv_dk_bwd(spec, ks, res, cotangent):
    x, g = res
    return _conv_dx(g, cotangent, spec, x.shape[1:3]), _conv(x, cotangent, spec)


def _lax_conv(x, k, strides, padding, lhs_dilation=None, rhs_dilation=None):
    return jax.lax.conv_general_dilated(x, k, strides, padding, lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
                                        dimension_numbers=_DN)


_conv.defvjp(_conv_fwd, _conv_bwd)
_conv_dx.defvjp(_conv_dx_fwd, _conv_dx_bwd)
_conv_dk.defvjp(_conv_dk_fwd, _conv_dk_bwd)

_FORWARD: contextvars.ContextVar = contextvars.ContextVar("jaxnag_models_forward", default=False)


@contextlib.contextmanager
def forward_mode():
    """Within the block, :func:`conv` is ``lax.conv_general_dilated`` itself, which forward-mode
    differentiation (``jax.jvp``) needs; outside, its gradients are the fast convolutions of :func:`conv`."""
    token = _FORWARD.set(True)
    try:
        yield
    finally:
        _FORWARD.reset(token)


def conv(x, k, strides=(1, 1), padding=((0, 0), (0, 0))):
    """``lax.conv_general_dilated`` of NHWC images ``x`` and an HWIO kernel ``k`` (``strides``, explicit
    ``padding`` pairs or ``"SAME"``/``"VALID"``), with gradients of every order that stay fast inside
    ``switch`` branches (a mixed cell's ops) and loops (a population's ``lax.map``) on CPU. Reverse mode only,
    except within :func:`forward_mode`.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxnag.models import layers
      >>> x, k = jnp.ones((2, 8, 8, 3)), jnp.ones((3, 3, 3, 4))
      >>> layers.conv(x, k, (2, 2), ((1, 1), (1, 1))).shape
      (2, 4, 4, 4)
      >>> jax.grad(lambda k: layers.conv(x, k, (1, 1), "SAME").sum())(k).shape
      (3, 3, 3, 4)
    """
    strides = tuple(int(s) for s in strides)
    if isinstance(padding, str):
        padding = jax.lax.padtype_to_pads(x.shape[1:3], k.shape[:2], strides, padding)
    padding = tuple((int(lo), int(hi)) for lo, hi in padding)
    if _FORWARD.get():
        return _lax_conv(x, k, strides, padding)
    outs = [(n + lo + hi - kk) // s + 1 for n, kk, s, (lo, hi) in zip(x.shape[1:3], k.shape[:2], strides, padding,
                                                                       strict=True)]
    if min(np.prod(x.shape[1:3]), np.prod(outs)) < np.prod(k.shape[:2]):
        return _patches_conv(x, k, strides, padding, outs)
    return _conv(x, k, (strides, padding, (1, 1), (1, 1)))


def _patches_conv(x, k, strides, padding, outs):
    """A convolution over a map smaller than its kernel (a 3x3 kernel on the 2x2 maps of a deep stage) as one
    product of its patches with the kernel: XLA swaps such a convolution's operands (or its input gradient's),
    which leaves it in a layout its CPU backend runs slowly inside branches and loops."""
    xp = jnp.pad(x, ((0, 0), *padding, (0, 0)))
    (kh, kw), (oh, ow), (sh, sw) = k.shape[:2], outs, strides
    patches = jnp.concatenate([xp[:, i:i + (oh - 1) * sh + 1:sh, j:j + (ow - 1) * sw + 1:sw]
                               for i in range(kh) for j in range(kw)], axis=-1)
    return patches @ k.reshape(-1, k.shape[-1])


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, precision=None, **kwargs):
    """``lax.conv_general_dilated``'s signature for ``nnx.Conv(..., conv_general_dilated=...)``: :func:`conv`
    for the plain 2-d NHWC convolutions of the networks here, ``lax`` itself for anything else."""
    plain = (lhs.ndim == 4 and feature_group_count == 1 and precision is None
             and all(v is None for v in kwargs.values())
             and all(d in (None, 1) for d in (*(lhs_dilation or ()), *(rhs_dilation or ())))
             and _is_nhwc(dimension_numbers))
    if plain:
        return conv(lhs, rhs, window_strides, padding)
    return jax.lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                        dimension_numbers, feature_group_count, precision=precision, **kwargs)


def _is_nhwc(dn) -> bool:
    if dn is None:
        return False
    if isinstance(dn, tuple) and all(isinstance(d, str) for d in dn):
        return tuple(dn) == _DN
    return tuple(map(tuple, dn)) == ((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))


_TAP: contextvars.ContextVar = contextvars.ContextVar("jaxnag_models_tap", default=None)


@contextlib.contextmanager
def tapped(fn: Callable):
    """Within the block, the networks pass intermediate values through ``fn(kind, value, weight, layer)``
    and go on with what it returns: ``kind`` is ``"relu"`` (the input of a ReLU), ``"conv"`` (a
    convolution's output, before batch norm) or ``"linear"`` (the logits); ``layer`` is the
    ``nnx.Conv``/``nnx.Linear`` that produced the value (None for a ReLU); ``weight`` is 1, or a mixed
    cell op's one-hot mask (0 for an op the architecture does not use). Zero-cost proxies
    (:mod:`jaxnag.proxies`) read activations and their gradients this way; calls happen at trace
    time, in network order."""
    token = _TAP.set(fn)
    try:
        yield
    finally:
        _TAP.reset(token)


_QUIET: contextvars.ContextVar = contextvars.ContextVar("jaxnag_models_quiet_relu", default=False)


def tap(kind: str, x, weight=1.0, layer=None):
    """Pass ``x`` through the :func:`tapped` function, if any (``"relu"`` taps inside a :func:`switch_edge`
    branch are not passed: the edge tapped its input once, outside)."""
    fn = _TAP.get()
    if fn is None or (kind == "relu" and _QUIET.get()):
        return x
    return fn(kind, x, weight, layer)


def switch_edge(index, branches, h, *modules, relu_weight):
    """``nnx.switch(index, branches, h, *modules)``: one mixed-cell edge running only its chosen op. The
    ReLU at the input of the chosen op, if it has one, is tapped here, outside the branches (an observation
    of ``h`` with ``relu_weight``, 1 when the chosen op starts with a ReLU, else 0), so a :func:`tapped`
    function reads every architecture's ReLU codes without :func:`masked`'s every-op cost; ``"conv"`` and
    ``"linear"`` taps still run inside the branches."""
    tap("relu", h, relu_weight)
    token = _QUIET.set(True)
    try:
        return nnx.switch(index, branches, h, *modules, graph=False)
    finally:
        _QUIET.reset(token)


_MASKED: contextvars.ContextVar = contextvars.ContextVar("jaxnag_models_masked", default=False)


@contextlib.contextmanager
def masked():
    """Within the block, a mixed cell runs every op on every edge and picks by one-hot masks (instead of
    a ``switch`` that runs only the chosen op): slower, but a :func:`tapped` function then sees every
    op's values, weighted by its mask, outside any branch."""
    token = _MASKED.set(True)
    try:
        yield
    finally:
        _MASKED.reset(token)


def masked_mode() -> bool:
    """Whether the caller is inside :func:`masked`."""
    return _MASKED.get()


def merge(graphdef, *states):
    """``nnx.merge`` with fresh variables at the current trace level, so that batch norm can update
    its statistics inside ``jit``/``grad``/``scan`` bodies whose states came from outside."""
    return nnx.merge(graphdef, *(jax.tree.map(lambda a: a, s) for s in states))


def conv_layer(cin: int, cout: int, k: int, rngs, *, stride: int = 1, padding=None, init=INIT) -> nnx.Conv:
    """A bias-free ``k x k`` ``nnx.Conv`` (padding ``k // 2`` unless given) initialised as PyTorch's, whose
    gradients are :func:`conv`'s."""
    padding = ((k // 2, k // 2),) * 2 if padding is None else padding  # a tuple: graphdefs stay hashable
    return nnx.Conv(cin, cout, (k, k), strides=stride, padding=padding, use_bias=False, kernel_init=init, rngs=rngs,
                    conv_general_dilated=conv_general_dilated)


def count(module: nnx.Module) -> int:
    """Trainable parameters of an NNX module (batch norm's running statistics are not parameters); an abstract
    module (``nnx.eval_shape``) is counted without allocating it.

    Examples:
      >>> from flax import nnx
      >>> from jaxnag.models import layers
      >>> layers.count(nnx.BatchNorm(4, rngs=nnx.Rngs(0)))  # scale and bias; not the running mean and variance
      8
      >>> layers.count(nnx.eval_shape(lambda: nnx.Linear(100, 10, rngs=nnx.Rngs(0))))
      1010
    """
    return int(sum(np.size(p) for p in jax.tree.leaves(nnx.state(module, nnx.Param))))


def pooled_logits(module, features):
    """``module.classifier`` on the global average of ``features [batch, H, W, C]``, tapped as ``"linear"``."""
    return tap("linear", module.classifier(jnp.mean(features, axis=(1, 2))), 1.0, module.classifier)


def cell_ops(ops, space_name: str, label: str, op_names) -> tuple[int, ...]:
    """The concrete ops of one cell (6 ints in ``0..len(op_names)-1``, or an arch string of the space
    ``space_name``) as a tuple; :class:`~jaxnag.errors.InvalidArchitecture` otherwise (``label`` names the
    space in the message)."""
    from ..errors import InvalidArchitecture
    if isinstance(ops, str):
        from .. import spaces
        ops = spaces.get(space_name).from_string(ops)
    arr = np.asarray(ops)
    if arr.shape != (6,) or not np.issubdtype(arr.dtype, np.integer):
        raise InvalidArchitecture(f"a {label} cell is 6 integer ops, got {arr.tolist()!r}")
    if arr.min() < 0 or arr.max() >= len(op_names):
        raise InvalidArchitecture(f"{label} ops lie in 0..{len(op_names) - 1} ({', '.join(op_names)}), got "
                                  f"{arr.tolist()}")
    return tuple(int(o) for o in arr)


class MixedNetworkBase(nnx.Module):
    """What the mixed networks of :mod:`jaxnag.models` share: ``net(x, ops)`` with traced ``ops [6]``,
    ``feature_map(x, ops, each)`` and ``concrete(ops)``. A subclass sets ``self.size`` and defines
    ``_FEATURES`` and ``_LOGITS`` (functions of ``(net, x, apply_layer)``), ``_run(layer, h, ops)`` (one layer),
    ``_network(ops, **size)`` (the concrete network class), ``_source(path, ops)`` (where a concrete
    network's variable lives in the mixed one) and ``op_weight(path, ops)``."""

    _FEATURES: Callable  # (net, x, apply_layer) -> the last feature map
    _LOGITS: Callable    # (net, x, apply_layer) -> logits

    space_name = "?"

    def _apply(self, ops, each=None):
        if ops.shape != (6,):
            from ..errors import InvalidArchitecture
            raise InvalidArchitecture(f"a {self.space_name} cell is 6 ops, got shape {ops.shape}")
        each = each or (lambda run, h: run(h))
        return lambda layer, h: each(lambda v: self._run(layer, v, ops), h)

    def feature_map(self, x, ops, each=None):
        """The last feature map of the network of ``ops`` (before global pooling); ``each(run, h)``, when
        given, wraps every layer's ``run(h)`` (synflow normalises there)."""
        return type(self)._FEATURES(self, x, self._apply(ops, each))

    def __call__(self, x, ops):
        """Logits ``[batch, classes]`` of the network of ``ops [6]`` on images ``x [batch, H, W, C]``."""
        return type(self)._LOGITS(self, x, self._apply(ops))

    def concrete(self, ops):
        """The concrete network of ``ops`` sharing this network's weights and statistics."""
        target_net = nnx.eval_shape(lambda: self._network(ops, **self.size, rngs=nnx.Rngs(0)))
        graphdef, target = nnx.split(target_net)
        mine = dict(nnx.to_flat_state(nnx.state(self)))
        picked = [(path, mine[self._source(path, target_net.ops)]) for path, _ in nnx.to_flat_state(target)]
        return nnx.merge(graphdef, nnx.from_flat_state(picked))


def stacked(cls, key: jax.Array, n: int, **size):
    """``(graphdef, states)``: ``n`` independently initialised ``cls(**size, rngs=...)`` (a mixed network
    class) with their states stacked on a leading axis."""
    check_int("n", n, lo=1)
    graphdef = nnx.graphdef(nnx.eval_shape(lambda: cls(**size, rngs=nnx.Rngs(0))))
    states = jax.vmap(lambda k: nnx.state(cls(**size, rngs=nnx.Rngs(k))))(jax.random.split(key, n))
    return graphdef, states


def apply_population(graphdef, states, ops: jax.Array, x: jax.Array, *, train: bool = True,
                     mode: str = "auto") -> jax.Array:
    """Logits ``[n, batch, classes]`` of ``n`` mixed networks (``states`` stacked on a leading axis, as
    ``init_population`` of a model returns them) of ``ops [n, 6]`` on one batch ``x``, in one program:
    ``vmap``-ed (``mode="vmap"``) or a sequential ``lax.map`` (``mode="map"``, less memory). ``"auto"``
    picks ``map`` on CPU, where XLA runs the vmapped convolutions (one weight set per member) about 10x
    slower (docs/population.md), and ``vmap`` on accelerators (not measured here). Batch norm uses
    batch statistics when ``train``."""
    if mode not in ("auto", "vmap", "map"):
        raise ConfigError(f"mode must be 'auto', 'vmap' or 'map', got {mode!r}")
    if mode == "auto":
        mode = "map" if jax.default_backend() == "cpu" else "vmap"

    def one(state, cell, x):
        net = nnx.merge(graphdef, state)
        net.train() if train else net.eval()
        return net(x, cell)
    if mode == "vmap":
        return jax.vmap(one, in_axes=(0, 0, None))(states, ops, x)
    # a loop under an outer vmap too: a batched cell runs every op of every edge (as in jaxnag.proxies)
    @jax.custom_batching.sequential_vmap
    def members(states, ops, x):
        return jax.lax.map(lambda args: one(*args, x), (states, ops))
    return members(states, ops, x)
