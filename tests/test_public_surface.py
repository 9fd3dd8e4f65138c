"""The public surface is the one the library itself uses: no jaxnag package reaches into another
package's private names (a ``_``-prefixed module, function or attribute of a module), so whatever a
method needs from another part of the library is public, documented API a user can call too."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "jaxnag"


def _module(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _package(path: Path) -> list[str]:
    """The package (folder) a file belongs to."""
    return list(path.relative_to(ROOT.parent).parent.parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve(path: Path, node: ast.ImportFrom) -> list[str]:
    base = _package(path)
    base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
    return base + (node.module.split(".") if node.module else [])


def violations() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        own = _package(path)
        tree = ast.parse(path.read_text())
        modules = {}  # local name -> the jaxnag module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                target = _resolve(path, node)
                outside = target[:len(own)] != own or len(target) < len(own)
                private_module = [p for p in target[len(own):] if _private(p)] if not outside else \
                    [p for p in target[1:] if _private(p)]
                for alias in node.names:
                    where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
                    if outside and (_private(alias.name) or private_module):
                        found.append(f"{where}: from {'.' * node.level}{node.module or ''} import {alias.name}")
                    modules[alias.asname or alias.name] = target + [alias.name]
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
                target = modules.get(node.value.id)
                if target is not None and target[:len(own)] != own:
                    found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}: {node.value.id}.{node.attr} "
                                 f"({'.'.join(target)})")
    return found


def test_no_package_uses_another_packages_private_names():
    assert violations() == []


def test_the_check_finds_a_private_import(tmp_path, monkeypatch):
    """The scan is not vacuous: a file importing a private name from another package is caught."""
    import sys
    fake = tmp_path / "jaxnag"
    (fake / "a").mkdir(parents=True)
    (fake / "a" / "__init__.py").write_text("")
    (fake / "a" / "m.py").write_text("from ..b import _hidden\nfrom .. import b\nx = b._other\n")
    (fake / "b.py").write_text("_hidden = 1\n_other = 2\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake)
    got = violations()
    assert any("import _hidden" in v for v in got) and any("b._other" in v for v in got), got
