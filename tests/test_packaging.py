"""The package's metadata agrees with the requirement files, so that they never drift apart."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_ONLY = {"moto", "awscli", "mypy", "pytest", "pytest-timeout", "hypothesis", "websockets", "ruff", "requests"}


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirements(name: str) -> list[str]:
    """The requirement lines of a file, comments and blank lines dropped, includes (-r) kept as written."""
    lines = []
    for raw in (ROOT / name).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(re.sub(r"\s+", "", line))
    return lines


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_project_dependencies_are_requirements_txt() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    declared = [re.sub(r"\s+", "", d) for d in project["dependencies"]]
    assert sorted(declared, key=str.lower) == sorted(_requirements("requirements.txt"), key=str.lower)


def test_every_requirement_is_pinned_and_runtime_has_no_development_tool() -> None:
    runtime = _requirements("requirements.txt")
    dev = _requirements("requirements-dev.txt")
    assert dev[0] == "-rrequirements.txt", "requirements-dev.txt starts from the runtime pins"
    for requirement in runtime + dev[1:]:
        assert "==" in requirement, f"{requirement} is not pinned"
    assert not {_name(r) for r in runtime} & DEV_ONLY
    assert {_name(r) for r in dev[1:]} >= DEV_ONLY, "the tools the tests and benchmarks use are in requirements-dev.txt"
    assert not {_name(r) for r in runtime} & {_name(r) for r in dev[1:]}, "each package is pinned in one file"


def test_build_system_is_pinned_and_the_console_script_is_python_m_bot() -> None:
    data = _pyproject()
    build = data["build-system"]
    assert isinstance(build, dict)
    assert all("==" in r for r in build["requires"])
    project = data["project"]
    assert isinstance(project, dict)
    assert project["scripts"] == {"dogcat-cleanup": "bot.__main__:entry"}

    import bot.__main__

    assert callable(bot.__main__.entry)


def test_procfile_web_is_gunicorn_from_the_runtime_requirements() -> None:
    procfile = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines() if line)
    assert procfile["web"].split()[0] == "gunicorn"
    assert "gunicorn" in {_name(r) for r in _requirements("requirements.txt")}
    assert procfile["worker"].strip() == "python -m bot"
