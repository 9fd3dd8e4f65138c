"""Tutorial 8: DiffusionNAG. Train a score network, then generate guided by an accuracy predictor.

DiffusionNAG learns the distribution of valid cells with a graph-transformer score network under a
VE-SDE (trained with optax on every cell of the space), then samples with a predictor-corrector
sampler whose score is pushed by the gradient of a noise-aware accuracy predictor fitted on a few
target queries: s(x, t) + w * grad log p(y | x, t). Here the small network trains for 1,500 steps (the
documented checkpoints train 8,000: docs/diffusionnag.md), enough for valid samples.

Run: JAXNAG_DATA_DIR=../shared/data python docs/tutorials/diffusionnag_guided.py
"""
import jax
import numpy as np

from jaxnag import spaces, tables
from jaxnag.diffusionnag import generator, train

space = spaces.get("nb201")
t = tables.load("nb201", "cifar10")
tcfg = train.ScoreTrainConfig(net="small", iterations=1500, batch=128, log_every=500, ckpt_every=10**9)
model, info = train.train_score(jax.random.key(0), space, tcfg, verbose=False)  # no out: kept in memory
score = generator.ScoreModel.of(model, tcfg.make_sde())

cfg = generator.Config(predictor_queries=60, top=5, round_size=64, pc_steps=200, guidance_scale=5.0,
                       predictor=generator.PredictorConfig(iterations=300))
res = jax.jit(jax.vmap(lambda k: generator.generate(k, t, space, cfg, score)))(jax.random.split(jax.random.key(1), 2))
generator.check(res)  # refuses a run whose samples were all invalid (an undertrained network)
print(f"valid samples {np.asarray(res.extras['validity']).mean():.0%}, "
      f"distinct valid {np.asarray(res.extras['distinct']).tolist()}")
for i in range(2):
    print(f"seed {i}: best of the 5 guided candidates {float(res.extras['generated_best'][i]):.2f}, "
          f"best overall {float(res.best_fitness[i]):.2f} (optimum {float(t.optimum):.2f}), "
          f"{int(res.queries[i])} queries")
