"""Storage, split by data lifetime (DESIGN.md section 3).

- durable: ``db.Database`` (engine, sessions, migrations), ``models`` (tables), ``audit``
  (hash-chained trail);
- short-lived: ``ephemeral.EphemeralStore`` with ``redis_store.RedisStore`` and
  ``sql_store.SqlStore``, chosen by ``ephemeral.make_ephemeral_store(settings, database)``.
"""
