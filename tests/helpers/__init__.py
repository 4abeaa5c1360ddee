"""Test helpers shared by every suite (real PostgreSQL and Redis, skipped when absent)."""
