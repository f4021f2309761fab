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
from gateway.auth import verifier_for
from gateway.cli import _parser
from gateway.settings import Settings

ROOT: Final = Path(__file__).resolve().parent.parent
README: Final = (ROOT / "README.md").read_text()
SETTINGS_SOURCE: Final = (ROOT / "gateway" / "settings.py").read_text()
VARIABLE: Final = re.compile(r"\b(?:CALLPULSE_[A-Z0-9_]+|DATABASE_URL)\b")
# Variables of the official postgres image, not of the gateway.
POSTGRES_IMAGE_VARIABLES: Final = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}
# Compose's `${NAME}`, `${NAME:?message}`, `${NAME:-default}` (and the forms without the colon).
INTERPOLATION: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[?-])([^}]*))?\}")
# What an operator's `.env` beside compose.yaml holds: the secrets compose.yaml asks for.
DOT_ENV: Final = {"POSTGRES_PASSWORD": "0wner-pw-4f9c2a", "CALLPULSE_APP_DB_PASSWORD": "g4teway-pw-81d0e3",
                  "CALLPULSE_JWT_SECRET": "9b1d3f5a7c9e0b2d4f6a8c0e2b4d6f8a0c2e4b6d"}
SECRET_NAME: Final = re.compile(r"PASSWORD|SECRET")


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


class ComposeStops(Exception):
    """`docker compose` refuses to start: a `${NAME:?message}` variable is unset."""


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """`value` with compose's variable interpolation applied to every string in it, as `docker compose` does."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        given = env.get(name)
        if given is not None and (given or not (operator or "").startswith(":")):
            return given
        if operator and operator.endswith("?"):
            raise ComposeStops(f"{name}: {argument}")
        return argument if operator else ""

    return INTERPOLATION.sub(substitute, value)


def raw_compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def compose(env: dict[str, str] = DOT_ENV) -> dict[str, Any]:
    """compose.yaml as `docker compose` sees it with `env` (by default the operator's `.env`)."""
    loaded: dict[str, Any] = interpolate(raw_compose(), env)
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
    # Settings accept what compose passes, and so does the token verifier (a long enough HS256 secret).
    verifier_for(Settings.from_env({k: str(v) for k, v in env.items()}))


def test_compose_ships_no_secret_and_refuses_to_start_without_each_one() -> None:
    services = raw_compose()["services"]
    # given every password and secret compose passes, the database URL's password among them
    raw: dict[str, str] = {f"{service}.{name}": str(value) for service in ("db", "gateway")
                           for name, value in services[service]["environment"].items() if SECRET_NAME.search(name)}
    # (not urlsplit: the `?` of `${NAME:?…}` would start the URL's query)
    url_password = re.fullmatch(r"postgresql://[^:/]+:(.*)@[^@]+", services["gateway"]["environment"]["DATABASE_URL"])
    raw["gateway.DATABASE_URL password"] = url_password.group(1) if url_password else ""
    assert len(raw) == 4, raw
    for where, value in raw.items():
        # then each one is the operator's, required: no default to fall back on
        match = INTERPOLATION.fullmatch(value)
        assert match, f"{where} must be ${{NAME:?message}}, not {value!r}"
        assert match.group(2) == ":?", f"{where} must be ${{NAME:?message}}, not {value!r}"
    for name in DOT_ENV:
        # and compose stops, naming what to set, when any one is missing
        with pytest.raises(ComposeStops, match=name):
            compose({k: v for k, v in DOT_ENV.items() if k != name})
    with pytest.raises(ComposeStops, match="at least 32 bytes"):
        compose({**DOT_ENV, "CALLPULSE_JWT_SECRET": ""})


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
