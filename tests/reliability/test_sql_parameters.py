"""SQL is sent with bound parameters only: no f-string, ``%`` or ``.format`` builds a statement
from values in ``plugins/``, and the report's queries in ``sql/`` use ``:name`` parameters."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from schoolnet.core.paths import project_root

ROOT = project_root()
# Calls whose first argument is SQL text.
SQL_CALLS = {"text", "execute", "exec_driver_sql", "executescript", "executemany"}
# Statements built from an identifier the code itself chose (never from a value): file and
# enclosing function, with the reason it is safe.
ALLOWED: dict[tuple[str, str], str] = {
    (
        "plugins/schoolnet/warehouse/migrations/versions/v0002_registry_history.py",
        "upgrade",
    ): "table and column names from a literal tuple in the migration; no value is formatted",
}


def built_string(node: ast.expr) -> bool:
    """Whether ``node`` builds a string at run time: f-string, ``%`` formatting, ``.format``,
    or ``+`` concatenation involving one of those or a literal."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return isinstance(node.left, ast.Constant | ast.JoinedStr) and isinstance(
            getattr(node.left, "value", ""), str
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return any(
            built_string(side) or (isinstance(side, ast.Constant) and isinstance(side.value, str))
            for side in (node.left, node.right)
        ) and not all(isinstance(side, ast.Constant) for side in (node.left, node.right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "format" and isinstance(node.func.value, ast.Constant)
    return False


def formatted_sql(path: Path) -> list[tuple[str, int, str]]:
    """(function, line, call) for each SQL call in ``path`` given a string built at run time,
    directly or through a local name assigned one in the same function."""
    found: list[tuple[str, int, str]] = []

    def visit(scope: ast.AST, name: str) -> None:
        nodes = list(ast.iter_child_nodes(scope))
        own: list[ast.AST] = []  # this scope's nodes, nested functions left to their own visit
        while nodes:
            node = nodes.pop()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(node, node.name)
            else:
                own.append(node)
                nodes.extend(ast.iter_child_nodes(node))
        built = {
            target.id
            for node in own
            if isinstance(node, ast.Assign) and built_string(node.value)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in own:
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called in SQL_CALLS and (
                built_string(first) or (isinstance(first, ast.Name) and first.id in built)
            ):
                found.append((name, node.lineno, called))

    visit(ast.parse(path.read_text(encoding="utf-8")), "<module>")
    return sorted(set(found), key=lambda item: item[1])


def test_no_sql_statement_is_built_from_formatted_strings() -> None:
    offenders = []
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        for function, line, called in formatted_sql(path):
            if (relative, function) not in ALLOWED:
                offenders.append(f"{relative}:{line} {function}() builds the SQL of {called}()")
    assert offenders == []


def test_the_scan_catches_each_way_of_formatting(tmp_path: Path) -> None:
    """The control: each pattern the scan is meant to catch is caught."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def a(conn, x):\n    conn.execute(text(f'SELECT * FROM t WHERE a = {x}'))\n"
        "def b(conn, x):\n    conn.exec_driver_sql('DELETE FROM t WHERE a = %s' % x)\n"
        "def c(conn, x):\n    q = 'SELECT {}'.format(x)\n    conn.execute(q)\n"
        "def d(conn, x):\n    conn.execute(text('SELECT ' + x))\n"
        "def ok(conn, x):\n    conn.execute(text('SELECT :x'), {'x': x})\n",
        encoding="utf-8",
    )
    assert [(function, called) for function, _, called in formatted_sql(sample)] == [
        ("a", "text"),
        ("b", "exec_driver_sql"),
        ("c", "execute"),
        ("d", "text"),
    ]


def test_report_queries_use_bound_parameters_only() -> None:
    files = sorted((ROOT / "sql").glob("*.sql"))
    assert files
    for path in files:
        sql = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))
        assert not re.search(r"\{[^}]*\}|%\(|%s", sql), f"{path.name} has a Python placeholder"
