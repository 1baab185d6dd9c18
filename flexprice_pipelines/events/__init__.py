"""Event ingestion: schema and validation, the event bus (SQLite outbox or Kafka), and the warehouse sink."""
