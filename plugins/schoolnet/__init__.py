"""schoolnet: the daily pipeline of OBEC school internet connectivity.

All logic lives in this package; the DAG files in ``dags/`` only wire its functions together.
"""

__version__ = "0.1.0"
