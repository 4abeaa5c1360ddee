"""The unified identity authentication server (OpenID Connect provider)."""
