"""Airflow DAG of carbon254 job `pjm_rt_ingestion` (see carbon254.ingest.jobs)."""

from carbon254_dags import make_dag

dag = make_dag("pjm_rt_ingestion")
