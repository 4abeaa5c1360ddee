"""The login interaction: method registry, chooser, consent, and ``complete_login``."""
from .complete import complete_login, current_transaction
from .methods import LoginMethod, register_method

__all__ = ["LoginMethod", "complete_login", "current_transaction", "register_method"]
