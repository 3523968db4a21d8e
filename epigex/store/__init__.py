"""The feature store: DuckDB catalog plus Parquet feature tables under ``$EPIGEX_HOME``."""
