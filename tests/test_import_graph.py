"""The import graph of src/balora: no circle, and no module importing from a layer above its own.

Read from the source with ``ast`` (imports inside functions count: they run too, only later).
A module's layer is that of the longest entry below naming it or a package holding it, so a new
module under an existing package falls into the package's layer; a new top-level module must be
placed here (the test names it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src"

# Bottom to top. A module may import from its own layer and the layers below.
LAYERS = (
    # foundation: settings, errors, files, flags, the quantization options, what memory and metrics are
    ("balora.errors", "balora.processes", "balora.config", "balora.flags", "balora.console", "balora.metrics",
     "balora.packaged_models", "balora.quantization", "balora.results", "balora.experiment_lock",
     "balora.generation", "balora.memory.accounting", "balora.memory.finder", "balora.metric_registry",
     "balora.jsonl", "balora.signals", "balora.hub", "balora.record_sections"),
    # models and data: loading, parameter counting, rank allocation, datasets
    ("balora.modeling", "balora.counting", "balora.allocation", "balora.spectral_allocation", "balora.data"),
    # the training loop's pieces (methods hand it callbacks, and reuse some of its own)
    ("balora.training",),
    # what is trained and how it is scored
    ("balora.methods", "balora.tasks"),
    # one way to prepare a method's model; the typed record of a run and its model card
    ("balora.preparation", "balora.record", "balora.model_card"),
    # one experiment
    ("balora.run_inputs", "balora.train", "balora.deferred_test"),
    # what runs many experiments, reads them back, measures or counts configurations
    # (and what evaluates or shares a finished one)
    ("balora.study", "balora.analysis", "balora.memory", "balora.count", "balora.harness", "balora.push"),
    # the functions behind the command line, then the command line
    ("balora.commands",),
    ("balora.cli", "balora.__main__"),
)


def module_name(path: Path, source: Path = SOURCE) -> str:
    parts = path.relative_to(source).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(source: Path = SOURCE) -> dict[str, set[str]]:
    """Module -> the balora modules it imports."""
    files = {module_name(path, source): path for path in sorted((source / "balora").rglob("*.py"))}
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import sub` imports the module pkg.sub where there is one
                imported.update(f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names)
        graph[name] = {m for m in imported if m in files and m != name}
    return graph


def layer_of(module: str, layers=LAYERS) -> int | None:
    best = None
    for index, entries in enumerate(layers):
        for entry in entries:
            if (module == entry or module.startswith(entry + ".")) and (best is None or len(entry) > len(best[1])):
                best = (index, entry)
    return None if best is None else best[0]


def upward_imports(graph: dict[str, set[str]], layers=LAYERS) -> list[str]:
    return sorted(f"{module} (layer {layer_of(module, layers)}) imports {target} (layer {layer_of(target, layers)})"
                  for module, targets in graph.items() for target in targets
                  if layer_of(target, layers) > layer_of(module, layers))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


GRAPH = import_graph()


def test_every_module_has_a_layer():
    unplaced = [m for m in GRAPH if m != "balora" and layer_of(m) is None]
    assert not unplaced, f"place these in LAYERS: {unplaced}"


def test_no_module_imports_from_a_layer_above_its_own():
    assert upward_imports({m: t for m, t in GRAPH.items() if m != "balora"}) == []


def test_there_is_no_import_circle():
    assert cycles(GRAPH) == []


def test_the_checks_see_a_circle_and_an_upward_import():
    # the circle this test was written against: cli -> commands -> memory.command -> cli
    graph = {"balora.cli": {"balora.commands"}, "balora.commands": {"balora.memory.command"},
             "balora.memory.command": {"balora.cli", "balora.errors"}, "balora.errors": set()}
    assert cycles(graph) == [["balora.cli", "balora.commands", "balora.memory.command"]]
    assert upward_imports(graph) == ["balora.memory.command (layer 6) imports balora.cli (layer 8)"]


def test_a_new_module_falls_into_its_package_layer():
    assert layer_of("balora.study.scheduler") == layer_of("balora.study")
    assert layer_of("balora.memory.accounting") < layer_of("balora.memory.command")
    assert layer_of("balora.newthing") is None


@pytest.mark.parametrize("text, expected", [("from . import base", "balora.methods.base"),
                                            ("from .lora import config", "balora.methods.lora.config"),
                                            ("import balora.errors", "balora.errors")])
def test_relative_and_plain_imports_are_read(tmp_path, text, expected):
    for name in ("balora/__init__.py", "balora/errors.py", "balora/methods/__init__.py", "balora/methods/base.py",
                 "balora/methods/lora/__init__.py", "balora/methods/lora/config.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "balora/methods/new.py").write_text(text + "\n")
    assert import_graph(tmp_path)["balora.methods.new"] == {expected}
