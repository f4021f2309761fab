"""The Dockerfile and compose.yaml agree with the code and the README (Docker itself does not run here).

Their commands must parse with the real CLI, their variables must be ones the gateway reads and the README
documents, their probes must hit real routes, and their ports must match.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import pytest
import yaml

from gateway.app import create_app
from gateway.cli import _parser
from gateway.settings import Settings

ROOT: Final = Path(__file__).resolve().parent.parent
README: Final = (ROOT / "README.md").read_text()
SETTINGS_SOURCE: Final = (ROOT / "gateway" / "settings.py").read_text()
VARIABLE: Final = re.compile(r"\b(?:CALLPULSE_[A-Z0-9_]+|DATABASE_URL)\b")
# Variables of the official postgres image, not of the gateway.
POSTGRES_IMAGE_VARIABLES: Final = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    pairs = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, arguments in dockerfile_instructions():
        if instruction == "ENV":
            for pair in shlex.split(arguments):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def documented_variables() -> set[str]:
    """Variables named in the README's configuration table (rows starting with a backticked name)."""
    section = README[README.index("## Configuration"):]
    section = section[:section.index("\n## ", 1)]
    return {name for row in section.splitlines() if row.startswith("| `") for name in VARIABLE.findall(row)}


def routes() -> set[str]:
    settings = Settings.from_env({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
                                  "CALLPULSE_JWT_SECRET": "x" * 48})
    return {getattr(route, "path", "") for route in create_app(settings).routes}


def probe_path(command: list[str] | str) -> str:
    text = command if isinstance(command, str) else " ".join(command)
    match = re.search(r"https?://[^'\" ]+", text)
    assert match, f"no URL in the probe {command!r}"
    return urlsplit(match.group(0)).path


def test_every_variable_the_gateway_reads_is_documented_in_the_readme() -> None:
    read = set(VARIABLE.findall(SETTINGS_SOURCE)) - {"CALLPULSE_TEST_DATABASE_URL"}
    missing = sorted(read - documented_variables())
    assert not missing, f"variables read in gateway/settings.py but not in the README's table: {missing}"


def test_the_dockerfile_command_is_a_real_cli_command() -> None:
    commands = [arguments for instruction, arguments in dockerfile_instructions() if instruction == "CMD"]
    assert len(commands) == 1
    argv = json.loads(commands[0])
    assert argv[0] == "callpulse"
    args = _parser().parse_args(argv[1:])
    assert args.command == "serve"


def test_the_dockerfile_listens_where_it_exposes_and_probes_a_real_route() -> None:
    env = dockerfile_env()
    assert env["CALLPULSE_HOST"] == "0.0.0.0"  # noqa: S104 - inside a container, on purpose
    exposed = [arguments for instruction, arguments in dockerfile_instructions() if instruction == "EXPOSE"]
    assert exposed == [env["CALLPULSE_PORT"]]
    healthcheck = next(arguments for instruction, arguments in dockerfile_instructions()
                       if instruction == "HEALTHCHECK")
    assert probe_path(healthcheck) in routes()
    assert f":{env['CALLPULSE_PORT']}/" in healthcheck


def test_the_dockerfile_variables_are_documented_and_its_copies_exist() -> None:
    assert set(dockerfile_env()) - {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR"} \
        <= documented_variables()
    for instruction, arguments in dockerfile_instructions():
        if instruction == "COPY":
            *sources, _ = arguments.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"


def test_compose_runs_the_gateway_against_its_postgres_with_documented_variables() -> None:
    services = compose()["services"]
    gateway, db = services["gateway"], services["db"]
    assert db["image"].startswith("postgres:15")
    assert gateway["depends_on"]["db"]["condition"] == "service_healthy"
    env = gateway["environment"]
    unknown = sorted(set(env) - documented_variables())
    assert not unknown, f"compose sets variables the README does not document: {unknown}"
    database = urlsplit(env["DATABASE_URL"])
    assert database.hostname == "db"
    assert database.username == db["environment"]["POSTGRES_USER"]
    assert database.password == db["environment"]["POSTGRES_PASSWORD"]
    assert database.path == "/" + db["environment"]["POSTGRES_DB"]
    assert set(db["environment"]) <= POSTGRES_IMAGE_VARIABLES
    # Settings accept what compose passes.
    Settings.from_env({k: str(v) for k, v in env.items()})


def test_compose_command_parses_and_its_port_and_probe_match() -> None:
    gateway = compose()["services"]["gateway"]
    argv = gateway["command"]
    assert argv[0] == "callpulse"
    args = _parser().parse_args(argv[1:])
    assert args.command == "serve"
    port = argv[argv.index("--port") + 1]
    assert gateway["ports"] == [f"{port}:{port}"]
    assert probe_path(gateway["healthcheck"]["test"]) in routes()
    assert f":{port}/" in " ".join(gateway["healthcheck"]["test"])


@pytest.mark.parametrize("name", ["Dockerfile", "compose.yaml", "LICENSE"])
def test_the_readme_points_to_the_deployment_files(name: str) -> None:
    assert (ROOT / name).is_file()
    assert f"({name})" in README
