"""One OP node for the production tests: ``idp.serving``'s gunicorn, plus the test login.

    python -m tests.production.node PORT [WORKERS] [THREADS] [WORKER_CLASS]

Settings come from ``IDP_*`` environment variables, as for ``idp serve``.  The only
difference from the product is the test-only login method (tests/oidc/testlogin.py),
installed into each worker's app; the product never registers it.
"""
from __future__ import annotations

import sys

from idp import serving


class TestNodeApplication(serving.IdpApplication):
    def load(self):
        from tests.oidc.testlogin import install_test_login
        app = super().load()
        install_test_login(app)
        return app


def main(argv: list[str]) -> None:
    port = int(argv[0])
    workers = int(argv[1]) if len(argv) > 1 else 1
    threads = int(argv[2]) if len(argv) > 2 else 4
    worker_class = argv[3] if len(argv) > 3 else None
    serving.run_gunicorn(None, host="127.0.0.1", port=port, workers=workers, threads=threads,
                         worker_class=worker_class, application=TestNodeApplication,
                         graceful_timeout=5)


if __name__ == "__main__":
    main(sys.argv[1:])
