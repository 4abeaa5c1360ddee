"""The ``idp`` command run in-process with click's CliRunner, on a throw-away instance."""
from __future__ import annotations

from click.testing import CliRunner


def cli_env(tmp_path) -> dict:
    return {"IDP_INSTANCE_DIR": str(tmp_path / "instance"), "IDP_KEYS_DIR": str(tmp_path / "keys"),
            "IDP_SECRET_KEY": "s" * 48, "IDP_MODELS_DIR": str(tmp_path / "models")}


def cli_runner(env: dict):
    """``run(*args, code=0, input=None)``: invoke ``idp``, asserting the exit code unless
    ``code`` is None; the instance is initialised first."""
    from idp.cli import main
    runner = CliRunner()

    def run(*args, code=0, input=None):
        result = runner.invoke(main, list(args), env=env, input=input, catch_exceptions=False)
        if code is not None:
            assert result.exit_code == code, result.output
        return result

    run("init")
    return run


def app_for(env: dict):
    from idp import create_app
    return create_app(instance_dir=env["IDP_INSTANCE_DIR"], keys_dir=env["IDP_KEYS_DIR"],
                      secret_key=env["IDP_SECRET_KEY"])
