"""The runbook's commands are real and tested: every line of a ``console`` block of
``docs/operations.md`` parses with the command's own parser (``schoolnet``'s, Airflow's), and its
command (e.g. ``schoolnet esa add``, ``airflow backfill create``) is one that
``tests/unit/operations/test_operations.py`` runs."""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import re
import shlex
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
RUNBOOK = ROOT / "docs" / "operations.md"
TESTS = Path(__file__).with_name("test_operations.py")
RUNNERS = {
    "schoolnet": "schoolnet",
    "airflow": "airflow",
    "airflow_in": "airflow",
    "schoolnet_in": "schoolnet",
}
"""The functions of test_operations.py that run a command, and the program each runs."""


def console_lines(markdown: str) -> list[str]:
    blocks = re.findall(r"^```console\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def checkout_lines(markdown: str | None = None) -> list[str]:
    """The lines of the ``sh`` blocks of the section "In a checkout": the one line that sets a
    checkout's shell up, and the command that starts its servers."""
    text = RUNBOOK.read_text(encoding="utf-8") if markdown is None else markdown
    section = text.split("\n## In a checkout\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


@cache
def parser(program: str) -> argparse.ArgumentParser:
    if program == "schoolnet":
        from schoolnet.cli.main import build_parser

        return build_parser()
    from airflow.cli import cli_parser

    return cli_parser.get_parser()


def command_path(program: str, words: list[str]) -> tuple[str, ...]:
    """The program and its subcommands named by ``words`` (``("airflow", "dags", "test")``)."""
    path = [program]
    current = parser(program)
    for word in words:
        choices = next(
            (
                action.choices
                for action in current._actions
                if isinstance(action, argparse._SubParsersAction)
            ),
            None,
        )
        if not choices or word not in choices:
            break
        path.append(word)
        current = choices[word]
    return tuple(path)


def exercised(source: str) -> set[tuple[str, ...]]:
    """The commands a test module runs through those functions, from the literal words of each
    call (``schoolnet("esa", "add", ...)``, ``airflow_in(env, "dags", "test", ...)``)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        program = RUNNERS.get(node.func.id)
        if program is None:
            continue
        args = node.args[1:] if node.func.id.endswith("_in") else node.args  # env first
        words = []
        for arg in args:
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                break
            words.append(arg.value)
        if words:
            found.add(command_path(program, words))
    return found


DOCUMENTED = console_lines(RUNBOOK.read_text(encoding="utf-8"))


def test_the_runbook_has_a_command_for_every_operators_task() -> None:
    paths = {command_path(line.split()[0], shlex.split(line)[1:]) for line in DOCUMENTED}
    assert paths >= {
        ("schoolnet", "esa", "add"),
        ("schoolnet", "esa", "retire"),
        ("schoolnet", "esa", "list"),
        ("schoolnet", "service-account", "rotate"),
        ("schoolnet", "service-account", "verify"),
        ("schoolnet", "service-account", "rollback"),
        ("airflow", "dags", "trigger"),
        ("airflow", "tasks", "clear"),
        ("airflow", "backfill", "create"),
        ("schoolnet", "quarantine", "accept"),
        ("schoolnet", "report", "status"),
        ("schoolnet", "runs", "show"),
    }


@pytest.mark.parametrize("line", DOCUMENTED)
def test_each_documented_command_parses_and_is_run_by_a_test(line: str) -> None:
    program, *words = shlex.split(line)
    assert program in ("schoolnet", "airflow"), f"not a schoolnet or airflow command: {line}"
    with contextlib.redirect_stderr(io.StringIO()) as err:
        try:
            parser(program).parse_args(words)
        except SystemExit:
            pytest.fail(f"{line}\n{err.getvalue()}")
    path = command_path(program, words)
    assert len(path) > 1, f"no subcommand in: {line}"
    assert path in exercised(TESTS.read_text(encoding="utf-8")), (
        f"`{' '.join(path)}` is in docs/operations.md but "
        "tests/unit/operations/test_operations.py does not run it"
    )


def test_an_untested_command_or_a_wrong_flag_is_caught() -> None:
    # A command no test runs, a command the tests do run, and a flag the parser does not know.
    tested = exercised(TESTS.read_text(encoding="utf-8"))
    assert ("schoolnet", "contract-docs") not in tested
    assert ("airflow", "backfill", "create") in tested
    assert console_lines("```console\nschoolnet esa list\n```\n") == ["schoolnet esa list"]
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(SystemExit):
        parser("schoolnet").parse_args(["runs", "show", "2018-01-04", "--no-such-flag"])
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(SystemExit):
        parser("airflow").parse_args(
            [
                *("backfill", "create", "--dag-id", "x", "--from-date", "2018-01-01"),
                *("--to-date", "2018-01-02", "--no-such-flag"),
            ]
        )


def test_the_checkout_section_gives_one_env_line_and_the_servers_command() -> None:
    lines = checkout_lines()
    assert lines == ['eval "$(.venv/bin/schoolnet env)"', ".venv/bin/schoolnet demo-servers"]
    tested = exercised(TESTS.read_text(encoding="utf-8"))
    for words in (["env"], ["demo-servers"]):
        parser("schoolnet").parse_args(words)
        assert ("schoolnet", *words) in tested
