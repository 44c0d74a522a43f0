"""MQTT -> PostgreSQL ingest: the tuned consumer client, pure routing, the batch store
and the worker that ties them together."""
