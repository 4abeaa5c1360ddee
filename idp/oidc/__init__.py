"""OpenID Connect protocol: Authlib grants and endpoints, tokens, sessions, logout."""
