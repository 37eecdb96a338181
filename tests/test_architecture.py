"""The layers import one way (models ← physics ← studies; paper reads datasets): checked on the source."""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAYERS = ("models", "physics", "studies", "paper")


def imports(path: pathlib.Path) -> set[str]:
    """Every module named by an import statement of the file (absolute names; relative ones resolved)."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def sources(layer: str) -> list[pathlib.Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def local(module: str) -> str:
    """The module's name inside the package: statphys.physics.x → physics.x (relative imports resolve to that)."""
    return module[len("statphys."):] if module.startswith("statphys.") else module


def layer_of(module: str) -> str | None:
    top = local(module).split(".")[0]
    return top if top in LAYERS else None


@pytest.mark.parametrize("layer, allowed", [
    ("models", {"models"}),
    ("physics", {"physics", "models"}),
    ("paper", {"paper"}),
])
def test_layers_import_only_downwards(layer, allowed):
    wrong = {f"{p.relative_to(ROOT)}: {m}" for p in sources(layer) for m in imports(p)
             if layer_of(m) and layer_of(m) not in allowed}
    assert not wrong, sorted(wrong)


def test_physics_uses_only_the_models_protocol():
    """Dynamics never know which model they run: from models, physics imports models.base only."""
    wrong = {f"{p.relative_to(ROOT)}: {m}" for p in sources("physics") for m in imports(p)
             if local(m).startswith("models") and local(m) not in ("models", "models.base")
             and not local(m).startswith("models.base.")}
    assert not wrong, sorted(wrong)


def test_study_kinds_hold_no_figures():
    """A kind returns data; its figure is paper/plots/<kind>.py, and only the CLI calls both."""
    for path in sources("studies"):
        if path.name == "cli.py":
            continue
        wrong = {m for m in imports(path) if layer_of(m) == "paper"}
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"
    for path in sorted((ROOT / "studies" / "kinds").glob("*.py")):
        assert "def plot(" not in path.read_text(), f"{path.relative_to(ROOT)} still draws its figure"
    kinds = {p.stem for p in (ROOT / "studies" / "kinds").glob("*.py") if not p.stem.startswith("_")}
    plots = {p.stem for p in (ROOT / "paper" / "plots").glob("*.py") if not p.stem.startswith("_")}
    assert kinds <= plots, f"kinds without a figure: {sorted(kinds - plots)}"


def test_readme_layout_lists_every_module():
    """The README's Layout block names every module of models, physics, studies, studies/kinds, paper and
    paper/plots under its folder, and nothing that does not exist."""
    text = (ROOT / "README.md").read_text()
    block = text[text.index("## Layout"):]
    block = block[block.index("```\n") + 4:]
    block = block[:block.index("```")]
    listed, folder, parent = {}, None, None
    for line in block.splitlines():
        header = re.match(r"^( *)(\w+)/ ", line)
        if header:
            folder = header.group(2) if not header.group(1) else f"{parent}/{header.group(2)}"
            parent = parent if header.group(1) else folder
            line = line[header.end():]
        listed.setdefault(folder, set()).update(re.findall(r"(?<![\w/<])(\w+\.py)\b", line))
    for folder in ("models", "physics", "studies", "studies/kinds", "paper", "paper/plots"):
        present = {p.name for p in (ROOT / folder).glob("*.py") if p.name != "__init__.py"}
        names = listed.get(folder, set())
        assert names == present, (f"README Layout, {folder}/: missing {sorted(present - names)}, "
                                  f"not in the tree {sorted(names - present)}")


def test_compile_sites_attributes_a_lowering_to_its_call_site():
    """scripts/compile_sites.py: a jitted function met with new shapes is lowered once and compiled (or loaded)
    once, attributed to the line of this test that called it."""
    import runpy

    import jax
    import jax.numpy as jnp

    tool = runpy.run_path(str(ROOT / "scripts" / "compile_sites.py"))
    x = jnp.ones(7919)  # a shape no other test uses
    uninstall = tool["install"]()
    try:
        jax.jit(lambda y: jnp.sin(y) + 1.0)(x)
    finally:
        uninstall()
    sites = {where: site for where, site in tool["SITES"].items() if where.startswith("tests/test_architecture.py")}
    assert len(sites) == 1, tool["report"](10)
    (site,) = sites.values()
    assert site.modules == 1 and site.lower_s > 0 and site.compile_s > 0
    assert "lower + compile/load" in tool["report"](5)
