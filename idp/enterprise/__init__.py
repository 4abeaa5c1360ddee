"""Legal-person login: the QR challenge flow around the licence verifier (DESIGN section 9)."""
from __future__ import annotations


def init_app(app) -> None:
    from ..interaction import ACR_ELICENSE
    from ..login import LoginMethod, register_method
    from .challenges import Challenges
    from .trust import VerifierCache
    from .views import bp

    from .strings import et

    app.jinja_env.globals["et"] = et
    state = app.extensions["idp"]
    state.services["challenges"] = Challenges(state.store, state.settings.challenge_ttl)
    state.services["licence_verifier"] = VerifierCache(state.settings.keys_dir, state.db)
    register_method(app, LoginMethod(
        name="enterprise", labels={"zh-CN": "法人登录（电子营业执照）",
                                   "en": "Organisation (electronic business licence)"},
        acr_values=(ACR_ELICENSE,),
        descriptions={"zh-CN": "使用电子营业执照应用扫码签名", "en": "Scan and sign with your licence app"}),
        bp)
