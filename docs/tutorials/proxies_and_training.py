"""Tutorial 6: generation on your own images with a zero-cost proxy, then training the result.

No benchmark table is needed: a zero-cost proxy (here synflow, data-free, and nwot, which reads one
batch of your images) scores an architecture from its untrained network in one pass, as a jittable
fitness; any generator searches on it; the best architecture is then trained with optax. Sizes here
are small for a CPU (8 channels, 1 cell per stage, 16x16 images); the benchmark network is 16 / 5 / 32.

Run: python docs/tutorials/proxies_and_training.py   (scikit-learn's digits: nothing to download)
"""
import jax
import numpy as np

from jaxnag import data, proxies, registry, spaces, train

x, y = data.digits(resolution=16)                   # images [n, 16, 16, 3], labels [n]
(x_train, y_train), (x_test, y_test) = data.split(x, y, 0.8)
space = spaces.get("nb201")
size = dict(channels=8, cells=1, classes=10)

# A proxy is a fitness: ops [..., 6] -> score [...]; a disconnected cell scores -inf (a failure).
fit = proxies.fitness(space, "nwot", proxies.batch(x_train[:32], y_train[:32], classes=10), **size)
print("nwot of two cells:", np.asarray(fit(np.array([[3, 3, 3, 3, 3, 3], [1, 0, 0, 1, 0, 0]]))).round(1))

gen = registry.get("ednag")
cfg = gen.config(space, population=6, steps=4)
res = proxies.generate(gen, jax.random.split(jax.random.key(0), 2), space, cfg, fit)  # seeds one after another
best = np.asarray(res.best_ops[int(np.argmax(res.best_fitness))])
print("best by nwot:", space.to_string(best), f"({int(res.queries[0])} architectures scored per run)")

run = train.train(best, (x_train, y_train), (x_test, y_test), epochs=2, batch_size=64, **size)
last = run.history[-1]
print(f"trained 2 epochs: train accuracy {last['train_accuracy']:.2f}, test accuracy {last['test_accuracy']:.2f}")
assert last["test_accuracy"] > 30  # percent; 10 classes: well above chance (10%) after two epochs
