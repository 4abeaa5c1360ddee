"""Page strings in zh-CN (first) and en.  Kept in one table so pages cannot drift apart."""
from __future__ import annotations

from flask import g, request

LOCALES = ("zh-CN", "en")
STRINGS = {
    "title": ("统一身份认证", "Unified identity authentication"),
    "choose_method": ("请选择登录方式", "Choose how to log in"),
    "signing_in_to": ("您正在登录", "You are logging in to"),
    "cancel": ("取消", "Cancel"),
    "consent_title": ("授权确认", "Authorise access"),
    "consent_intro": ("以下服务请求访问您的信息：", "This service asks to access your information:"),
    "allow": ("同意", "Allow"),
    "deny": ("拒绝", "Deny"),
    "error_title": ("出错了", "Something went wrong"),
    "logout_title": ("退出登录", "Log out"),
    "logout_confirm": ("确定要退出统一身份认证吗？", "Do you want to log out of the identity service?"),
    "logout_yes": ("退出", "Log out"),
    "logged_out": ("您已安全退出。", "You have been logged out."),
    "scope_openid": ("您的登录标识", "Your login identifier"),
    "scope_offline_access": ("在您离线时保持访问", "Access while you are offline"),
    "claim_name": ("姓名", "Name"),
    "claim_org_name": ("单位名称", "Organisation name"),
    "claim_birthdate": ("出生日期", "Date of birth"),
    "claim_gender": ("性别", "Gender"),
    "claim_id_number": ("身份证号码", "ID number"),
    "claim_id_number_masked": ("身份证号码（部分隐藏）", "ID number (partly hidden)"),
    "claim_uscc": ("统一社会信用代码", "Unified social credit code"),
    "claim_legal_representative": ("法定代表人", "Legal representative"),
    "claim_operator": ("经办人姓名", "Name of the agent who signed"),
    "claim_entity_type": ("主体类型（个人或单位）", "Whether you are a person or an organisation"),
    "language": ("English", "中文"),
}


def pick_locale(preferred: list[str] | None = None) -> str:
    for tag in (preferred or []):
        if tag.lower().startswith("en"):
            return "en"
        if tag.lower().startswith("zh"):
            return "zh-CN"
    asked = request.args.get("lang")
    if asked in LOCALES:
        return asked
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    return "en" if best == "en" else "zh-CN"


def translate(table: dict, key: str) -> str:
    """``key`` from a (zh-CN, en) table in the request's locale; unknown keys show as is."""
    pair = table.get(key)
    if pair is None:
        return key
    return pair[1] if g.get("locale") == "en" else pair[0]


def t(key: str) -> str:
    return translate(STRINGS, key)


def init_app(app) -> None:
    app.jinja_env.globals["t"] = t

    @app.before_request
    def _locale():
        g.locale = pick_locale()

    @app.context_processor
    def _inject():
        return {"locale": g.get("locale", "zh-CN")}
