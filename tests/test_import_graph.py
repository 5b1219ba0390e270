"""Eagle's modules import each other without cycles, lazy imports (inside functions) and
``TYPE_CHECKING`` imports included (issue 34): each module's place in the layering is plain."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import eagle

ROOT = Path(eagle.__file__).resolve().parent.parent


def modules() -> dict[str, Path]:
    out = {}
    for f in (ROOT / "eagle").rglob("*.py"):
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The Eagle modules ``name`` imports anywhere in its body: ``from a import b`` names a.b where
    that is a module, else a; a dotted name resolves to its nearest known module."""

    def nearest(dotted: str) -> str:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted

    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        found.update(t for t in map(nearest, (t for t in targets if t.split(".")[0] == "eagle")) if t and t != name)
    return found


def test_no_import_cycles() -> None:
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    assert len(graph) > 100 and sum(map(len, graph.values())) > 300  # the walk saw the package
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_version_has_its_own_module() -> None:
    from eagle.version import __version__

    assert eagle.__version__ == __version__
    assert "eagle" not in imports("eagle.version", ROOT / "eagle" / "version.py", modules())
