"""Production serving: gunicorn with the app built once per worker by ``create_app``."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication


class IdpApplication(BaseApplication):
    def __init__(self, config_path, options: dict):
        self.config_path = config_path
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        from . import create_app
        return create_app(self.config_path)


def run_gunicorn(config_path, *, host: str, port: int, workers: int, threads: int) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "graceful_timeout": 20,
        "timeout": 60,
        "keepalive": 5,
        "accesslog": None,
        "preload_app": False,
    }
    IdpApplication(config_path, options).run()
