"""The zero-cost proxies of one architecture, as pure functions of its network's state and a batch.

Each measure is ``f(graphdef, state, ops, x, y, key) -> float32 scalar``: ``graphdef, state`` a mixed
network of :mod:`jaxnag.models` (:class:`~jaxnag.models.nb201.MixedNetwork` or
:class:`~jaxnag.models.tnb101.MixedNetwork`, so ``ops [6]`` may be traced and one program serves a whole
population), ``x [B, H, W, C]`` images, ``y [B]`` integer labels, ``key`` for the proxies that draw
noise. Larger is better for every measure. Definitions follow NASLib's implementations
(``naslib/predictors/utils/pruners/measures``, from Abdelfattah et al., "Zero-Cost Proxies for
Lightweight NAS", ICLR 2021) and the proxies' papers; layers are the convolutions and the classifier
(their weights, not biases), batch norm uses batch statistics, the loss is cross-entropy:

- ``synflow`` (Tanaka et al., NeurIPS 2020): sum |theta * dR/dtheta| for R the summed output of the
  network with |weights|, no batch norm, on one all-ones input. Returned as its natural log, as NASLib
  stores it, computed in the log domain (the sum passes 1e50 on NB201, beyond float32).
- ``snip`` (Lee et al., ICLR 2019): sum |theta * dL/dtheta|.
- ``grad_norm``: the sum over layers of ||dL/dW||_2.
- ``grasp`` (Wang et al., ICLR 2020): -sum theta * (H dL/dtheta), a Hessian-gradient product.
- ``fisher`` (Theis et al. 2018; Turner et al., ICLR 2020): per layer output channel,
  0.5 * mean over the batch of (sum over positions of activation * dL/dactivation)^2, weighted by the
  layer's fan-in (NASLib spreads each channel's value over its weights) and summed.
- ``jacov`` (Mellor et al., "NAS without training", arXiv v1): -sum_i log(v_i + k) + 1 / (v_i + k) over
  the eigenvalues v of the correlation matrix of the input Jacobians of the summed logits, k = 1e-5.
- ``nwot`` (Mellor et al., ICML 2021): log|det K|, K = sum over ReLUs of c c^T + (1 - c)(1 - c)^T for
  the binary activation codes c of the batch.
- ``l2_norm``: the sum over layers of ||W||_2 (data-free).
- ``zen`` (Lin et al., ICCV 2021): log of the mean L1 change of the last feature map under a 0.01
  Gaussian perturbation of Gaussian inputs, plus sum over batch norms of log sqrt(mean running var),
  with Gaussian weights (data-free).

A network whose score is undefined (a cell with no path from input to output: zero Jacobian, zero
synflow) scores ``-inf``, which every generator treats as the worst value.

Examples:
  >>> import jax, jax.numpy as jnp
  >>> from flax import nnx
  >>> from jaxnag.models import nb201
  >>> from jaxnag.proxies import measures
  >>> graphdef, state = nnx.split(nb201.MixedNetwork(channels=4, cells=1, rngs=nnx.Rngs(0)))
  >>> x, y = jnp.ones((4, 8, 8, 3)), jnp.arange(4)
  >>> s = measures.MEASURES["l2_norm"](graphdef, state, jnp.array([3, 1, 3, 0, 2, 4]), x, y, jax.random.key(0))
  >>> bool(s > 0)
  True
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from ..models import layers

__all__ = ["MEASURES"]

_KERNELS = nnx.All(nnx.Param, nnx.PathContains("kernel"))


def _split(graphdef, state, train: bool = True):
    """``(graphdef, kernels, rest)`` of the network in train or eval mode: the layer weights apart."""
    net = layers.merge(graphdef, state)
    net.train() if train else net.eval()
    return nnx.split(net, _KERNELS, ...)


def _loss(graphdef, rest, ops, x, y):
    def loss(kernels):
        logits = layers.merge(graphdef, kernels, rest)(x, ops)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return loss


def _tree_sum(tree) -> jax.Array:
    return sum(jnp.sum(leaf) for leaf in jax.tree.leaves(tree))


def _finite(score) -> jax.Array:
    return jnp.where(jnp.isfinite(score), score, -jnp.inf).astype(jnp.float32)


def snip(graphdef, state, ops, x, y, key):
    g, kernels, rest = _split(graphdef, state)
    grads = jax.grad(_loss(g, rest, ops, x, y))(kernels)
    return _finite(_tree_sum(jax.tree.map(lambda w, d: jnp.abs(w * d), kernels, grads)))


def grad_norm(graphdef, state, ops, x, y, key):
    g, kernels, rest = _split(graphdef, state)
    grads = jax.grad(_loss(g, rest, ops, x, y))(kernels)
    return _finite(sum(jnp.sqrt(jnp.sum(d * d)) for d in jax.tree.leaves(grads)))


def grasp(graphdef, state, ops, x, y, key):
    g, kernels, rest = _split(graphdef, state)
    grad_fn = jax.grad(_loss(g, rest, ops, x, y))
    grads = jax.lax.stop_gradient(grad_fn(kernels))
    # H g as the gradient of <dL/dtheta, g> (reverse over reverse: the networks' convolutions have reverse
    # gradients only, fast inside the mixed cells' switches; H is symmetric, so this is the jvp of the gradient)
    hg = jax.grad(lambda k: _tree_sum(jax.tree.map(jnp.multiply, grad_fn(k), grads)))(kernels)
    return _finite(-_tree_sum(jax.tree.map(lambda w, h: w * h, kernels, hg)))


def fisher(graphdef, state, ops, x, y, key):
    g, kernels, rest = _split(graphdef, state)
    # a zero gate per (example, channel) on every conv/linear output: d loss / d gate is the sum over
    # positions of activation * d loss / d activation. One abstract pass finds the layers.
    found = []

    def record(kind, a, w, layer):
        if layer is not None:
            found.append((a.shape[0], a.shape[-1], layer.kernel[...].size // a.shape[-1]))
        return a
    with layers.tapped(record):
        jax.eval_shape(lambda k: layers.merge(g, k, rest)(x, ops), kernels)

    def loss(gates):
        it = iter(gates)

        def gate(kind, a, w, layer):
            if layer is None:
                return a
            s = next(it)
            return a * (1.0 + (s[:, None, None, :] if a.ndim == 4 else s))
        with layers.tapped(gate):
            logits = layers.merge(g, kernels, rest)(x, ops)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    del_k = jax.grad(loss)([jnp.zeros((b, c), x.dtype) for b, c, _ in found])
    # NASLib gives each output channel's value to each of its fan-in weights, then sums
    return _finite(sum(fan_in * jnp.sum(0.5 * jnp.mean(d * d, axis=0))
                       for (_, _, fan_in), d in zip(found, del_k, strict=True)))


def _codes_kernel(a, weight):
    """``weight * K`` for the binary codes ``c`` of ``a`` (``a > 0``, one row per example): ``K = c c^T +
    (1 - c)(1 - c)^T``, the number of units on which two examples agree, from one product ``G = c c^T``:
    ``K_ij = 2 G_ij - G_ii - G_jj + D``. Integer-valued and below 2^24 here, so exact in float32. Skipped
    (a ``cond``) where ``weight`` is 0: a ReLU the architecture does not have."""
    def kernel():
        c = (a > 0).reshape(a.shape[0], -1).astype(jnp.float32)
        gram = c @ c.T
        n = jnp.diagonal(gram)
        return weight * (2.0 * gram - n[:, None] - n[None, :] + jnp.float32(c.shape[1]))
    if isinstance(weight, (int, float)):
        return kernel()
    return jax.lax.cond(weight > 0, kernel, lambda: jnp.zeros((a.shape[0], a.shape[0]), jnp.float32))


def nwot(graphdef, state, ops, x, y, key):
    g, kernels, rest = _split(graphdef, state)
    taps = {}  # one entry per tapped value: edges out of one node share its codes, so one kernel per node

    def codes(kind, a, w, layer):
        if kind == "relu":
            _, total = taps.get(id(a), (a, 0.0))
            taps[id(a)] = (a, total + w)
        return a
    with layers.tapped(codes):
        layers.merge(g, kernels, rest)(x, ops)
    return _finite(jnp.linalg.slogdet(sum(_codes_kernel(a, w) for a, w in taps.values()))[1])


def jacov(graphdef, state, ops, x, y, key):
    g, kernels, rest = _split(graphdef, state)
    jac = jax.grad(lambda xx: jnp.sum(layers.merge(g, kernels, rest)(xx, ops)))(x).reshape(x.shape[0], -1)
    v = jnp.linalg.eigvalsh(jnp.corrcoef(jac))
    k = 1e-5
    return _finite(-jnp.sum(jnp.log(v + k) + 1.0 / (v + k)))


def l2_norm(graphdef, state, ops, x, y, key):
    net = layers.merge(graphdef, state)
    _, kernels, _ = _split(graphdef, state)
    return _finite(sum(net.op_weight(path, ops) * jnp.sqrt(jnp.sum(w[...] * w[...]))
                       for path, w in nnx.to_flat_state(kernels)))


def _synflow_prepare(graphdef, state, key):
    """``(graphdef, (|kernels|, rest with batch norm off))``: what synflow's network is for every cell."""
    g, kernels, rest = _split(graphdef, state, train=False)
    kernels = jax.tree.map(jnp.abs, kernels)
    net = nnx.merge(g, kernels, rest)
    for _, m in nnx.iter_modules(net):  # batch norm off: the identity in eval mode
        if isinstance(m, nnx.BatchNorm):
            if m.scale is not None:  # (a batch norm without scale and shift has none: DARTS's ops as NASLib's)
                m.scale[...], m.bias[...] = jnp.ones_like(m.scale[...]), jnp.zeros_like(m.bias[...])
            m.mean[...], m.var[...] = jnp.zeros_like(m.mean[...]), jnp.full_like(m.var[...], 1.0 - m.epsilon)
    g, kernels, rest = nnx.split(net, _KERNELS, ...)
    return g, (kernels, rest)


def _synflow_run(g, prepared, ops, x, y, key):
    kernels, rest = prepared
    ones = jnp.ones((1,) + x.shape[1:], jnp.float32)

    def summed(kernels):
        """R / prod(c): every layer's output divided by its maximum c (a constant to differentiation);
        the network is positive and linear in each layer, so the derivative scales by the same prod(c)."""
        logs = []

        def normalized(run, h):
            h = run(h)
            c = jax.lax.stop_gradient(jnp.max(h))
            c = jnp.where(c > 0, c, 1.0)
            logs.append(jnp.log(c))
            return h / c
        net = layers.merge(g, kernels, rest)
        feats = jnp.mean(net.feature_map(ones, ops, each=normalized), axis=(1, 2))
        return jnp.sum(feats @ net.classifier.kernel[...]), sum(logs)  # the bias: no weight, no gradient
    with layers.forward_mode():
        (_, log_c), (flow, _) = jax.jvp(summed, (kernels,), (kernels,))
    return _finite(log_c + jnp.log(flow))


def synflow(graphdef, state, ops, x, y, key):
    return _synflow_run(*_synflow_prepare(graphdef, state, key), ops, x, y, key)


def _zen_prepare(graphdef, state, key):
    """``(graphdef, (Gaussian kernels, rest))``: zen's network, the same for every cell."""
    g, kernels, rest = _split(graphdef, state)
    leaves, treedef = jax.tree.flatten(kernels)
    k_w = jax.random.split(key, 3)[0]
    leaves = [jax.random.normal(k, w.shape, w.dtype) for k, w in zip(jax.random.split(k_w, len(leaves)), leaves)]
    return g, (jax.tree.unflatten(treedef, leaves), rest)


def _zen_run(g, prepared, ops, x, y, key):
    _, k_x, k_mix = jax.random.split(key, 3)
    net = layers.merge(g, *prepared)
    x1 = jax.random.normal(k_x, x.shape, jnp.float32)
    mixed = x1 + 0.01 * jax.random.normal(k_mix, x.shape, jnp.float32)
    f1, f2 = net.feature_map(x1, ops), net.feature_map(mixed, ops)  # unused ops' batch norms keep var 1
    change = jnp.mean(jnp.sum(jnp.abs(f1 - f2), axis=(1, 2, 3)))
    bn = 0.0
    for path, m in nnx.iter_modules(net):
        if isinstance(m, nnx.BatchNorm):
            bn = bn + net.op_weight(path, ops) * jnp.log(jnp.sqrt(jnp.mean(m.var[...])))
    return _finite(jnp.log(change) + bn)


def zen(graphdef, state, ops, x, y, key):
    return _zen_run(*_zen_prepare(graphdef, state, key), ops, x, y, key)


# measures whose network is the same for every cell: prepared once per population (jaxnag.proxies)
synflow.prepare, synflow.run = _synflow_prepare, _synflow_run
zen.prepare, zen.run = _zen_prepare, _zen_run


MEASURES = dict(synflow=synflow, nwot=nwot, jacov=jacov, snip=snip, grad_norm=grad_norm, fisher=fisher,
                grasp=grasp, l2_norm=l2_norm, zen=zen)


def _network(graphdef, names, state, x, y, key):
    """The proxies ``names`` of one concrete network (``jaxnag.proxies.network``): ``{name: float32}``."""
    return {name: MEASURES[name](graphdef, state, jnp.zeros((), jnp.int32), x, y, key) for name in names}


# compiled once per network structure (the graphdef), tuple of proxy names and batch shape
network_program = jax.jit(_network, static_argnums=(0, 1))
