"""The package's layers import downward only, and never reach another package's private names.

The layer order is written here and in docs/architecture.md, nowhere else. A module may
import from its own package and from any package in a lower layer; packages on one line
are peers and do not import each other. A name starting with ``_`` (a private module or
a private function) may only be imported from within its own package.

One exception, pandas' ``DataFrame.plot`` pattern: a result's convenience ``.plot()``
method may import the public figures of `gaussmix.plotting` inside the function (never at
module level), so ``result.plot()`` and ``gaussmix.plot.<figure>(result)`` are one figure
drawn in one place.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gaussmix

PACKAGE_ROOT = Path(gaussmix.__file__).parent

#: Top to bottom. Each entry is a set of peer packages (dotted, relative to gaussmix).
LAYERS: list[set[str]] = [
    {"cli"},
    {"report"},
    {"plotting"},
    {"classification", "toolkit"},
    {"selection"},
    {"estimators"},
    {"checks"},
    {"engine.bayesian", "engine.missing"},
    {"engine.core"},
    {"engine.covariance"},
    {"engine.data", "engine.kernels"},
    {"io", "datasets", "version"},
]

#: Packages any layer may import inside a function (see the module docstring).
LAZY_UPWARD = {"plotting"}

#: Modules of the top package itself (``gaussmix/__init__.py``, ``__main__``) sit above all.
TOP_MODULES = {"gaussmix", "gaussmix.__main__", "gaussmix.engine"}


def _layer_of(module: str) -> tuple[int, str] | None:
    """``(layer index, package)`` of a dotted module name inside gaussmix."""
    relative = module.removeprefix("gaussmix.")
    for index, packages in enumerate(LAYERS):
        for package in packages:
            if relative == package or relative.startswith(package + "."):
                return index, package
    return None


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append((".".join(parts), path))
    return found


def _imports(module: str, path: Path) -> list[tuple[str, list[str], int, bool]]:
    """``(absolute module, imported names, line, inside a function)`` for every gaussmix
    import in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    in_function = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(function)
    }
    found = []
    for node in ast.walk(tree):
        lazy = id(node) in in_function
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [alias.name for alias in node.names]
            if node.module is None:  # ``from . import x``: x may be a module
                for name in names:
                    found.append((f"{target}.{name}", [], node.lineno, lazy))
                continue
            found.append((target, names, node.lineno, lazy))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, [], node.lineno, lazy) for alias in node.names)
    return [entry for entry in found if entry[0].split(".")[0] == "gaussmix"]


def _violations() -> list[str]:
    problems = []
    for module, path in _modules():
        if module in TOP_MODULES:
            continue
        own = _layer_of(module)
        if own is None:
            problems.append(f"{module}: in no layer; add its package to LAYERS")
            continue
        for target, names, line, lazy in _imports(module, path):
            theirs = _layer_of(target)
            if theirs is None:
                if target not in TOP_MODULES:
                    problems.append(f"{module}:{line} imports {target}, which is in no layer")
                else:
                    problems.append(f"{module}:{line} imports the top package {target}")
                continue
            if theirs[1] == own[1]:
                continue
            if theirs[0] <= own[0] and not (lazy and theirs[1] in LAZY_UPWARD):
                problems.append(
                    f"{module}:{line} imports {target} (layer of {theirs[1]}, not below {own[1]})"
                )
            inner = target.removeprefix("gaussmix." + theirs[1]).split(".")
            private = [part for part in inner if _is_private(part)]
            private += [name for name in names if _is_private(name)]
            if private:
                problems.append(
                    f"{module}:{line} imports private {', '.join(private)} from {target}"
                )
    return problems


def test_every_module_imports_downward_only_and_no_private_names_across_packages():
    problems = _violations()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("gaussmix.cli.commands", "cli"),
        ("gaussmix.engine.core.estep", "engine.core"),
        ("gaussmix.engine.covariance.models.registry", "engine.covariance"),
        ("gaussmix.io", "io"),
    ],
)
def test_layer_lookup(module, expected):
    assert _layer_of(module)[1] == expected


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """A module of the engine that imports an estimator is reported (the check can fail)."""
    fake_root = tmp_path / "gaussmix"
    (fake_root / "engine" / "core").mkdir(parents=True)
    (fake_root / "estimators").mkdir()
    (fake_root / "engine" / "core" / "bad.py").write_text(
        "from ...estimators._base import _helper\n", encoding="utf-8"
    )
    (fake_root / "estimators" / "_base.py").write_text("", encoding="utf-8")
    monkeypatch.setattr(__import__(__name__), "PACKAGE_ROOT", fake_root)
    problems = _violations()
    assert any("not below engine.core" in problem for problem in problems)
    assert any("private _base, _helper" in problem for problem in problems)


def test_only_function_level_imports_of_the_figures_may_point_up(tmp_path, monkeypatch):
    fake_root = tmp_path / "gaussmix"
    (fake_root / "selection").mkdir(parents=True)
    (fake_root / "plotting").mkdir()
    (fake_root / "plotting" / "figures.py").write_text("", encoding="utf-8")
    (fake_root / "selection" / "result.py").write_text(
        "from ..plotting.figures import top\n\n\ndef plot():\n"
        "    from ..plotting.figures import criterion\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(__import__(__name__), "PACKAGE_ROOT", fake_root)
    problems = _violations()
    assert any("result:1 imports gaussmix.plotting.figures" in problem for problem in problems)
    assert not any("result:5" in problem for problem in problems)
