"""The house: a declared public API, no import cycles, one place for every default."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import geo
from geo import settings

GEO = settings.REPO_ROOT / "geo"


def _public_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(geo.__path__, "geo."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", ["geo", *_public_modules()])
def test_every_public_module_declares_its_api(name):
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), list), f"{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"
    assert len(set(module.__all__)) == len(module.__all__), f"{name}.__all__ repeats a name"


def _top_level_imports(path: Path) -> set[str]:
    """The geo modules a file imports at module level (not inside functions)."""
    tree = ast.parse(path.read_text("utf-8"))
    package = ".".join(path.relative_to(settings.REPO_ROOT).with_suffix("").parts)
    if path.name == "__init__.py":
        package = package.rsplit(".", 1)[0] + ".__init__"
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                parent = package.rsplit(".", node.level)[0]
                base = f"{parent}.{base}" if base else parent
            if base == "geo" or base.startswith("geo."):
                for alias in node.names:
                    out.add(f"{base}.{alias.name}" if base == "geo" else base)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("geo")}
    return out


def _module_of(path: Path) -> str:
    parts = path.relative_to(settings.REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycles_between_modules():
    files = {_module_of(p): p for p in GEO.rglob("*.py")}
    graph = {
        name: {i for i in _top_level_imports(path) if i in files and i != name}
        for name, path in files.items()
    }
    # a package's __init__ may re-export its submodules; a submodule must not import its package
    for name, deps in graph.items():
        for dep in deps:
            if name.startswith(f"{dep}.") and not name.endswith(".__main__"):
                pytest.fail(f"{name} imports its own package {dep} (import the submodule)")
    graph = {n: {d for d in deps if not d.startswith(f"{n}.")} for n, deps in graph.items()}
    seen: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for dep in sorted(graph[node]):
            if seen.get(dep) == 1:
                cycle = [*stack[stack.index(dep) :], dep] if dep in stack else [node, dep]
                pytest.fail(f"import cycle: {' → '.join(cycle)}")
            if dep not in seen:
                visit(dep, [*stack, dep])
        seen[node] = 2

    for name in sorted(graph):
        if name not in seen:
            visit(name, [name])


def test_front_ends_import_nothing_private():
    for path in (settings.REPO_ROOT / "app.py",):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                names = [a.name for a in node.names]
                private = [p for p in [*parts[1:], *names] if p.startswith("_")]
                assert not (parts[0] == "geo" and private), f"{path.name}: {node.module} {names}"


def test_no_module_is_too_long():
    long = {
        str(p.relative_to(settings.REPO_ROOT)): n
        for p in GEO.rglob("*.py")
        if (n := len(p.read_text("utf-8").splitlines())) > 800  # ~700, formatted
    }
    assert not long, f"modules to split along their seams: {long}"


#: Parameters whose default lives in geo/parameters.py only.
_PARAMETER_NAMES = (
    "buffer_meters|max_snap_meters|walk_speed_kmh|walk_minutes|ems_km|ems_minutes|"
    "dispatch_delay_minutes|congestion_factor|review_threshold|time_limit_s|spacing_m|"
    "candidate_spacing_m|corridor_spacing_m|n_sites|ems_sites|drive_access_speed_kmh|"
    "area_cell_meters"
)
_LITERAL_DEFAULT = re.compile(rf"\b({_PARAMETER_NAMES})\s*(:\s*[^=\n]+)?=\s*-?[0-9][0-9_.]*\s*[,)]")


def test_no_literal_default_outside_the_parameters_module():
    found = []
    for path in [*GEO.rglob("*.py"), settings.REPO_ROOT / "app.py"]:
        if path.name == "parameters.py":
            continue
        for lineno, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if _LITERAL_DEFAULT.search(line) and not line.lstrip().startswith(("#", ">>>")):
                found.append(f"{path.relative_to(settings.REPO_ROOT)}:{lineno}: {line.strip()}")
    assert not found, "defaults written again outside geo/parameters.py:\n" + "\n".join(found)


def test_the_literal_check_can_fail():
    assert _LITERAL_DEFAULT.search("    buffer_meters: float = 100.0,")
    assert _LITERAL_DEFAULT.search("suggest(std, n_sites=5)")
    assert not _LITERAL_DEFAULT.search("    buffer_meters: float = DEFAULTS.buffer_meters,")


def test_public_functions_have_no_any_in_their_signatures():
    offenders = []
    for name in ["geo", *_public_modules()]:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if getattr(obj, "__module__", "").split(".")[0] != "geo":
                continue
            funcs = [(attr, obj)] if inspect.isfunction(obj) else []
            if inspect.isclass(obj):
                funcs = []
                for k, v in vars(obj).items():
                    if k.startswith("_") and k != "__init__":
                        continue
                    if isinstance(v, classmethod | staticmethod):
                        v = v.__func__
                    elif isinstance(v, property):
                        v = v.fget
                    if inspect.isfunction(v):
                        funcs.append((f"{attr}.{k}", v))
            for qual, func in funcs:
                ann = getattr(func, "__annotations__", {})
                if any(re.search(r"\bAny\b", str(v)) for v in ann.values()):
                    offenders.append(f"{module.__name__}.{qual}")
    assert not offenders, f"Any in public signatures: {sorted(set(offenders))}"
