"""Airflow DAG of carbon254 job `pjm_pnode_ingestion` (see carbon254.ingest.jobs)."""

from carbon254_dags import make_dag

dag = make_dag("pjm_pnode_ingestion")
