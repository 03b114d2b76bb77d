"""The embedded local AWS reaches moto's internals from one package, so a moto upgrade means reading its modules only.

Read from the import statements, so a lazy import inside a function counts as much as one at the top; the
import graph (which sees only the top-level package ``moto``) keeps the product's walls in
test_import_contract.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pytest_ecsdeploy

PACKAGE = Path(pytest_ecsdeploy.__file__).parent
EMULATOR = PACKAGE / "emulator"
# moto's server entry points are public (moto_server runs them); the rest of moto is reached through the
# moto_state package, whose modules may import any of it.
MOTO_STATE = "emulator/moto_state/"
MOTO_ALLOWED = {"emulator/wsgi.py": "moto.moto_server.werkzeug_app"}


def imports(path: Path) -> list[str]:
    """Every module ``path`` imports, as an absolute dotted name (relative imports resolved)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            found += [target] if node.module else [f"{target}.{alias.name}" for alias in node.names]
    return found


def emulator_modules() -> list[Path]:
    return sorted(EMULATOR.rglob("*.py"))


@pytest.mark.parametrize("path", emulator_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_moto_state_reaches_into_moto(path: Path) -> None:
    where = path.relative_to(PACKAGE).as_posix()
    allowed = "moto" if where.startswith(MOTO_STATE) else MOTO_ALLOWED.get(where)
    moto = [name for name in imports(path) if name == "moto" or name.startswith("moto.")]
    assert [name for name in moto if allowed is None or not (name == allowed or name.startswith(f"{allowed}."))] == []


def test_imports_are_read_as_absolute_names() -> None:
    assert "pytest_ecsdeploy.errors" in imports(EMULATOR / "local_aws.py")  # from ..errors import ActionError
    assert "pytest_ecsdeploy.emulator.moto_state" in imports(EMULATOR / "runners" / "docker.py")  # from .. import
    assert "moto.ecr.models" in imports(EMULATOR / "moto_state" / "ecr.py")
    assert "pytest_ecsdeploy.emulator.moto_state.state" in imports(EMULATOR / "moto_state" / "ecr.py")  # from .state
