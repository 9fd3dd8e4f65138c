"""The documentation site's promises: every tutorial script runs as it stands, and every module of the API
reference and every public name it exports has a docstring with a runnable example (doctests run them).
The site itself is built by `mkdocs build --strict` in .ci/run (the docs extra)."""

import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.py"))
API = sorted((ROOT / "docs" / "api").glob("*.md"))


def _modules():
    return [m for page in API for m in re.findall(r"^::: (\S+)", page.read_text(), re.M)]


SLOW = {"own_space", "many_runs", "bench_grid", "proxies_and_training", "diffusionnag_guided", "pareto",
        "predictors", "graph_spaces",  # 10-60 s each
        "ask_tell_budget", "pgnag_prior", "ednag_step_by_step"}  # 4-6 s each: the default run keeps first_run


@pytest.mark.parametrize("script", [pytest.param(p, marks=[pytest.mark.slow] if p.stem in SLOW else [])
                                    for p in TUTORIALS], ids=[p.stem for p in TUTORIALS])
def test_every_tutorial_runs_as_it_stands(script, data_dir):
    env = dict(os.environ, JAXNAG_DATA_DIR=str(data_dir), JAX_PLATFORMS="cpu")
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]


def test_every_tutorial_and_module_is_in_the_site():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {p.stem: p for p in (ROOT / "docs" / "tutorials").glob("*.md")}
    included = {m for p in pages.values() for m in re.findall(r'--8<-- "docs/tutorials/(\S+)\.py"', p.read_text())}
    assert included == {p.stem for p in TUTORIALS}  # every script has its page
    assert all(f"tutorials/{name}.md" in nav for name in pages)
    documented = set(_modules())
    for pkg in ("jaxnag.spaces", "jaxnag.tables", "jaxnag.protocol", "jaxnag.registry", "jaxnag.archive",
                "jaxnag.budget", "jaxnag.surrogate", "jaxnag.ednag", "jaxnag.pgnag", "jaxnag.proxies",
                "jaxnag.parallel", "jaxnag.bench", "jaxnag.errors", "jaxnag.train", "jaxnag.cache", "jaxnag.pareto",
                "jaxnag.predictors"):
        assert pkg in documented


def test_every_public_name_has_a_docstring_and_a_runnable_example():
    """Every module of the API reference, and every function and class it exports, has a docstring with a
    runnable example (the doctests run them)."""
    missing, no_example = [], []
    for name in _modules():
        mod = importlib.import_module(name)
        if ">>>" not in (mod.__doc__ or ""):
            no_example.append(name)
        for attr in getattr(mod, "__all__", ()):
            obj = getattr(mod, attr)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or not obj.__module__.startswith("jaxnag"):
                continue
            doc = inspect.getdoc(obj) or ""
            if not doc.strip():
                missing.append(f"{name}.{attr}")
            elif ">>>" not in doc:
                no_example.append(f"{name}.{attr}")
    assert not missing, f"public names without a docstring: {missing}"
    assert not no_example, f"modules and public names without a runnable example: {no_example}"


@pytest.mark.slow  # 10 s on 2 cores
def test_the_readme_example_runs(data_dir, tmp_path):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## A first example\s+```python\n(.*?)```", text, re.S)
    assert block, "the README lost its first example"
    script = tmp_path / "example.py"
    script.write_text(block.group(1))
    env = dict(os.environ, JAXNAG_DATA_DIR=str(data_dir), JAX_PLATFORMS="cpu")
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0 and "of the seeds found the optimum" in p.stdout, p.stderr[-2000:]
