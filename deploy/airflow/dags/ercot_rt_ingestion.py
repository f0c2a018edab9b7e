"""Airflow DAG of carbon254 job `ercot_rt_ingestion` (see carbon254.ingest.jobs)."""

from carbon254_dags import make_dag

dag = make_dag("ercot_rt_ingestion")
