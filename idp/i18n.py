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
    "consent_intro": ("请求访问您的以下信息：", "asks to access the following information:"),
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
    "demo_banner": ("演示模式：仅供体验，数据和执照均为演示用途，请勿用于真实业务。",
                    "Demo mode: for trying the service only; data and licences are for demonstration, not for real use."),
    "home_intro": ("为各政务服务平台提供统一登录：个人使用身份证号码并刷脸核验，法人使用电子营业执照签名；"
                   "服务平台通过标准 OpenID Connect 接入。",
                   "One login for every government service platform: citizens with their ID number and a "
                   "live face, organisations by signing with their electronic business licence; platforms "
                   "connect through standard OpenID Connect."),
    "home_demo": ("演示服务平台", "Demo service platform"),
    "home_demo_desc": ("以个人或法人身份体验一次完整登录", "Try a complete login as a citizen or an organisation"),
    "home_admin": ("管理控制台", "Admin console"),
    "home_admin_desc": ("管理接入应用、签名密钥、执照签发机构，查看审计日志",
                        "Relying parties, signing keys, licence authorities and the audit trail"),
    "home_discovery": ("OpenID Connect 发现文档", "OpenID Connect discovery document"),
    "home_discovery_desc": ("服务平台接入时读取的配置（JSON）", "What service platforms read to connect (JSON)"),
    "home_first_admin": ("首个管理员：在终端运行", "First administrator: run"),
    "home_first_admin_after": ("，用身份验证器应用添加输出的 TOTP 地址，再登录管理控制台。",
                               ", add the printed TOTP URI to an authenticator app, then log in to the console."),
    "issuer": ("服务标识（issuer）：", "Issuer:"),
    "error_detail": ("技术细节", "Technical detail"),
}

# The sentence an error page shows for each error code (the description, written for
# developers, follows as a technical detail).
ERRORS = {
    "invalid_request": ("请求无效或不完整，请返回重试。", "The request is invalid or incomplete; go back and try again."),
    "not_found": ("页面不存在，或链接已失效。", "There is no such page, or the link has expired."),
    "access_denied": ("无权访问：该请求属于另一个浏览器或会话。", "Access denied: this request belongs to another browser or session."),
    "csrf_failed": ("页面已过期，请刷新页面后重试。", "The page has expired; reload it and try again."),
    "login_failed": ("登录信息有误，请检查后重试。", "The login details are wrong; check them and try again."),
    "login_expired": ("登录已超时，请回到服务平台重新登录。", "The login has timed out; go back to the service and log in again."),
    "too_many_requests": ("尝试次数过多，请稍后再试。", "Too many attempts; wait a while and try again."),
    "server_error": ("服务器内部错误，请稍后再试。", "An internal error occurred; try again later."),
    "temporarily_unavailable": ("服务暂时不可用，请稍后再试。", "The service is temporarily unavailable; try again later."),
    "invalid_client": ("该服务平台未在本服务注册或已停用。", "This service platform is not registered here or is disabled."),
    "invalid_redirect_uri": ("服务平台的回调地址未登记，无法继续登录。", "The service platform's return address is not registered; the login cannot continue."),
    "invalid_session": ("会话无效或已结束，请重新登录。", "The session is invalid or has ended; log in again."),
    "invalid_challenge": ("二维码已失效，请回到登录页面刷新。", "The code has expired; go back to the login page and refresh it."),
    "invalid_token": ("凭证无效或已过期。", "The credential is invalid or has expired."),
    "not_supported": ("不支持该操作。", "This is not supported."),
    "conflict": ("该操作与当前状态冲突，请刷新后重试。", "This conflicts with the current state; reload and try again."),
    "consent_required": ("需要您的同意才能继续。", "Your consent is needed to continue."),
    "invalid_client_metadata": ("应用信息有误，请检查填写的内容。", "The relying party's details are invalid; check the form."),
    "invalid_certificate": ("证书不符合要求。", "The certificate is not acceptable."),
    "invalid_licence": ("营业执照未通过验证。", "The business licence was not accepted."),
    "configuration_error": ("服务配置有误，请联系管理员。", "The service is misconfigured; contact the administrator."),
}


def error_sentence(code: str) -> str:
    """The page sentence for an error code (a general one for codes without their own)."""
    return translate(ERRORS, code if code in ERRORS else "invalid_request")


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
    app.jinja_env.globals["error_sentence"] = error_sentence

    @app.before_request
    def _locale():
        g.locale = pick_locale()

    demo = bool(app.extensions["idp"].settings.demo)

    @app.context_processor
    def _inject():
        return {"locale": g.get("locale", "zh-CN"), "demo_mode": demo}
