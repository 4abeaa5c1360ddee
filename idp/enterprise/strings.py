"""What the licence login page says, in zh-CN (first) and en: page text and one sentence
per reason the status poll can report (``challenge_expired``, ``too_many_invalid_responses``)
and per rejection reason a holder can meet (``LicenceError.reason``, README "Rejection
reasons"; the holder app hears those, the browser's poll does not, so that a forged answer
cannot end someone else's login).

Reasons are grouped by what the user can do about them; each sentence says what happened
and what to do next.
"""
from __future__ import annotations

from ..i18n import translate

STRINGS = {
    "scan": ("请使用电子营业执照应用扫码", "Scan with your electronic business licence app"),
    "same_device": ("在本设备上使用执照应用？打开此链接：", "Licence app on this device? Open this link:"),
    "pending": ("等待签名…", "Waiting for your signature…"),
    "countdown": ("二维码 {s} 秒后过期", "The code expires in {s} s"),
    "new_code": ("刷新二维码", "New code"),
    "other_method": ("选择其他登录方式", "Choose another way to log in"),
    "holder_title": ("使用电子营业执照签名", "Sign with your licence"),
    "holder_intro": ("请使用电子营业执照应用打开此链接。挑战文档：",
                     "Open this link with your electronic business licence app. Challenge document:"),
}

SENTENCES = {
    "expired": ("二维码已过期。请点击“刷新二维码”后重新扫码。",
                "The code has expired. Choose “New code” and scan again."),
    "used_up": ("本二维码收到多次未通过验证的签名，已作废。请查看执照应用显示的原因，然后刷新二维码重试。",
                "This code received several signatures that were not accepted and can no longer be used. "
                "See the reason your licence app shows, then get a new code and try again."),
    "revoked": ("该电子营业执照证书已被吊销，不能再用于登录。请向发证机构申领新的执照证书。",
                "This business licence certificate has been revoked and can no longer be used. Ask the "
                "licence authority for a new one."),
    "expired_cert": ("执照证书已过期。请在执照应用中更新证书后重试。",
                     "The licence certificate has expired. Renew it in your licence app and try again."),
    "not_yet_valid": ("执照证书尚未生效。请检查手机日期时间，或在生效后重试。",
                      "The licence certificate is not valid yet. Check your phone's date and time, or try again once it is valid."),
    "untrusted": ("该执照不是由本服务信任的签发机构签发的。请使用正式的电子营业执照。",
                  "This licence was not issued by an authority this service trusts. Use an official electronic business licence."),
    "revocation_unknown": ("暂时无法核实执照是否被吊销，为安全起见本次登录未通过。请稍后刷新二维码重试。",
                           "The licence's revocation status cannot be checked right now, so the login was refused "
                           "to be safe. Try again with a new code in a few minutes."),
    "certificate": ("执照证书的内容不符合要求（单位信息或用途有误）。请联系发证机构。",
                    "The licence certificate is not in the required form (organisation details or usage). "
                    "Contact the licence authority."),
    "signature": ("签名无法验证。请刷新二维码后在执照应用中重新签名。",
                  "The signature does not verify. Get a new code and sign again in your licence app."),
    "wrong_challenge": ("签名的不是本页面当前的二维码。请刷新二维码后重新扫码。",
                        "What was signed is not this page's current code. Get a new code and scan again."),
    "clock": ("签名时间不正确。请检查手机的日期时间后重新扫码。",
              "The signing time is wrong. Check your phone's date and time and scan again."),
    "app": ("执照应用发送的数据无法识别。请更新执照应用后重试。",
            "The licence app sent data that cannot be read. Update the app and try again."),
    "other": ("执照验证未通过。请刷新二维码重试；如仍失败请联系发证机构。",
              "The licence was not accepted. Try again with a new code; if it still fails, contact the licence authority."),
}

GROUPS = {
    "challenge_expired": "expired",
    "too_many_invalid_responses": "used_up",
    "revoked": "revoked",
    "cert_expired": "expired_cert",
    "cert_not_yet_valid": "not_yet_valid",
    "unknown_anchor": "untrusted", "broken_chain": "untrusted",
    "crl_unavailable": "revocation_unknown", "crl_stale": "revocation_unknown",
    "ocsp_unavailable": "revocation_unknown", "ocsp_invalid": "revocation_unknown",
    "ocsp_stale": "revocation_unknown", "ocsp_unknown": "revocation_unknown",
    "uscc_missing": "certificate", "uscc_invalid": "certificate", "org_name_missing": "certificate",
    "holder_info_missing": "certificate", "holder_info_invalid": "certificate",
    "key_usage": "certificate", "leaf_is_ca": "certificate", "not_ca": "certificate",
    "path_length_exceeded": "certificate", "unknown_critical_extension": "certificate",
    "bad_signature": "signature", "alg_key_mismatch": "signature",
    "challenge_mismatch": "wrong_challenge", "nonce_mismatch": "wrong_challenge",
    "aud_mismatch": "wrong_challenge",
    "iat_missing": "clock", "iat_invalid": "clock", "iat_stale": "clock", "iat_future": "clock",
    "jws_too_large": "app", "jws_malformed": "app", "alg_not_allowed": "app",
    "crit_unsupported": "app", "x5c_missing": "app", "x5c_malformed": "app",
    "chain_too_long": "app", "unsupported_key": "app", "unsupported_signature_algorithm": "app",
    "payload_malformed": "app",
}


def et(key: str) -> str:
    return translate(STRINGS, key)


def reason_sentences() -> dict[str, str]:
    """Every reason code -> its sentence in the request's locale (``""`` -> the general one)."""
    out = {reason: translate(SENTENCES, group) for reason, group in GROUPS.items()}
    out[""] = translate(SENTENCES, "other")
    return out
