"""
### schoolnet_provision_sheets

Run by hand (no schedule): set up or repair ESA Google Sheets from the district sheet contract.
For each chosen ESA (param `esa_codes`; empty = every ESA in the registry), one mapped task in
the `google_sheets` pool writes the Thai header row of the `โรงเรียน` tab (frozen, protected with
a warning), its dropdowns and number formats, the `คำอธิบาย` instructions tab, and a row for
every registry school the sheet lacks.

It never overwrites what clerks typed and is safe to run again: a sheet that is already up to
date is only read. A task fails without retrying when a person must act: the sheet does not
exist or is not shared (create or share it and put its id in `esas.csv`; the CLI's `--create`
can make one), or its layout is not the template's (the log says what is wrong; nothing unsafe
was written). See "Provisioning an ESA's sheet" in docs/operations.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

from schoolnet.delivery.alerts import OperatorAlert
from schoolnet.orchestration import handoffs, provision_tasks
from schoolnet.orchestration.airflow_glue import GOOGLE_POOL, TIMEZONE
from schoolnet.orchestration.handoffs import RegistryEntry

handoffs.allow_in_xcom()


@dag(
    dag_id=provision_tasks.DAG_ID,
    schedule=None,
    start_date=pendulum.datetime(2018, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=provision_tasks.DAGRUN_TIMEOUT,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "on_failure_callback": OperatorAlert(),
    },
    params={
        "esa_codes": Param(
            [],
            type="array",
            items={"type": "string"},
            description="ESA codes to provision, one per line; empty = every ESA in the registry.",
        ),
        "reformat": Param(
            False,
            type="boolean",
            description="Send the dropdowns, number formats and header protection again even "
            "where the sheet says they are current.",
        ),
    },
    tags=["schoolnet"],
    doc_md=__doc__,
)
def schoolnet_provision_sheets() -> None:
    @task(execution_timeout=provision_tasks.TASK_TIMEOUTS["choose_esas"])
    def choose_esas() -> list[RegistryEntry]:
        return provision_tasks.load_selection()

    @task(
        pool=GOOGLE_POOL,
        map_index_template="{{ esa_label }}",
        execution_timeout=provision_tasks.TASK_TIMEOUTS["provision_sheet"],
    )
    def provision_sheet(entry: RegistryEntry) -> dict[str, Any]:
        return provision_tasks.provision_esa(entry)

    provision_sheet.expand(entry=choose_esas())


schoolnet_provision_sheets()
