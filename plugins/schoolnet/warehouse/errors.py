"""The warehouse's refusals that more than one of its modules raises.

``SchemaMismatch`` is raised by the migrations and named by the engine's ``ensure_schema``; it
lives apart from both so that neither imports the other for it.
"""

from __future__ import annotations


class SchemaMismatch(RuntimeError):
    """The warehouse was made by another version of schoolnet."""
