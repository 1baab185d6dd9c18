-- Runs once, when the postgres volume is first initialised: Dagster's instance storage database.
CREATE DATABASE dagster OWNER flexprice;
