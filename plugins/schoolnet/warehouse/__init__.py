"""The warehouse: registries, pulls, findings, the daily snapshot of every school, deliveries."""

from schoolnet.warehouse.engine import (
    WarehouseNotWritable,
    create_warehouse_engine,
    ensure_schema,
    ensure_writable,
)
from schoolnet.warehouse.merge import EsaDay, merge_day

__all__ = [
    "EsaDay",
    "WarehouseNotWritable",
    "create_warehouse_engine",
    "ensure_schema",
    "ensure_writable",
    "merge_day",
]
