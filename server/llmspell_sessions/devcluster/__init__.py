"""A development cluster on one machine: PostgreSQL, the object store when present, and two frontends."""
