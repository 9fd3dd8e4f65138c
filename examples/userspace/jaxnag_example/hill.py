"""A first-improvement hill climber as a jaxnag generator: four pure functions over its own state."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxnag import protocol


class Config(NamedTuple):
    rounds: int = 40       # --rounds
    neighbours: int = 4    # --neighbours: proposals per round


def init(key, space, config):
    return space.random(key), jnp.float32(-jnp.inf), jnp.int32(0), jnp.zeros((config.neighbours, space.num_slots),
                                                                             jnp.int32)


def ask(key, state, space, config):
    current, best, rounds, _ = state
    nbrs, ok = space.neighbours(current)
    w = ok.astype(jnp.float32)
    picks = nbrs[jax.random.choice(key, nbrs.shape[0], (config.neighbours,), p=w / w.sum())]
    return picks, (current, best, rounds, picks)


def tell(state, values, space, config):
    current, best, rounds, picks = state
    values = jnp.where(jnp.isnan(values), -jnp.inf, values)
    i = jnp.argmax(values)
    better = values[i] > best
    return jnp.where(better, picks[i], current), jnp.where(better, values[i], best), rounds + 1, picks


def done(state, config):
    return state[2] >= config.rounds


def hill():
    return protocol.generator("hill", Config, init, ask, tell, done, description="first-improvement hill climber "
                              "(the example package's own generator)", small=dict(rounds=5))
