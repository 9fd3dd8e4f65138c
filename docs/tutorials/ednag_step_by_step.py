"""Tutorial 2: EDNAG step by step, in your own lax.scan.

EDNAG keeps a population x [N, R*C] in a continuous encoding (one block of C scores per slot; an
architecture is the argmax of each block, space.from_one_hot). Each step t -> t-1 of the noise schedule
alphas (alphas[0] is 1, clean; the steps run from T-1 down to 0):
  1. log w_j = shaped fitness_j / temperature            (failed evaluations: -inf, weight 0)
  2. x0_i = sum_j softmax_j(log w_j - ||x_i - sqrt(a_t) x_j||^2 / (2 (1 - a_t))) x_j
                                                          (ednag.denoise.weighted_x0_log)
  3. x_{t-1} = DDIM(x_t, x0, a_t, a_{t-1}, noise), normalised   (ednag.denoise.ddim_step)
  4. polynomial mutation (ednag.mutation), then N survivors selected among parents and children
     (ednag.selection: elites, then a fitness-proportional draw that keeps diversity).
The library's ednag.init/ask/tell do exactly this; here the loop is ours, so we can watch it.

Run: JAXNAG_DATA_DIR=../shared/data python docs/tutorials/ednag_step_by_step.py [--plot FILE]
"""
import sys

import jax
import jax.numpy as jnp
import numpy as np

from jaxnag import ednag, schedules, tables

t = tables.load("nb201", "cifar100")
space = t.space
cfg = ednag.Config(population=16, steps=40)
alphas = schedules.get(cfg.schedule, cfg.steps)
print("schedule:", cfg.schedule, "alpha[0] =", float(alphas[0]), "(clean) ... alpha[T-1] =", float(alphas[-1]))


@jax.jit
def evolve(key):
    state = ednag.init(key, space, cfg)

    def one_round(state, k):
        ops, state = ednag.ask(k, state, space, cfg)   # the population (first round) or the children
        state = ednag.tell(state, t(ops), space, cfg)  # their fitness: weights, selection
        f = jnp.where(jnp.isfinite(state.fitness), state.fitness, jnp.nan)
        return state, (jnp.nanmean(f), state.best_fitness)
    return jax.lax.scan(one_round, state, jax.random.split(key, cfg.steps))


state, (mean, best) = evolve(jax.random.key(0))
mean, best = np.asarray(mean), np.asarray(best)
print(f"population mean accuracy: round 0 {mean[0]:.2f} -> round {cfg.steps - 1} {mean[-1]:.2f}")
print(f"best so far {best[-1]:.2f} (the optimum is {float(t.optimum):.2f}), {int(state.queries)} distinct queries")
assert mean[-1] > mean[0]  # the population converges toward good architectures

if "--plot" in sys.argv:
    from matplotlib import pyplot as plt
    plt.plot(mean, label="population mean")
    plt.plot(best, label="best so far")
    plt.xlabel("round")
    plt.ylabel("CIFAR-100 test accuracy")
    plt.legend()
    plt.savefig(sys.argv[sys.argv.index("--plot") + 1], dpi=120)
