"""Console strings in zh-CN (first) and en, as the template global ``at`` (admin text).

The locale is the one ``idp.i18n`` picks per request (``?lang=``, then Accept-Language).
"""
from __future__ import annotations

from ..i18n import translate

STRINGS = {
    "console": ("管理控制台", "Admin console"),
    "login": ("登录", "Log in"), "logout": ("退出", "Log out"),
    "username": ("用户名", "User name"), "password": ("密码", "Password"),
    "totp": ("动态验证码（或恢复码）", "Authenticator code (or a recovery code)"),
    "login_failed": ("用户名、密码或验证码错误。", "The user name, password or code is wrong."),
    "signed_in_as": ("当前用户", "Signed in as"), "role": ("角色", "Role"),
    "dashboard": ("概览", "Dashboard"), "clients": ("接入应用", "Relying parties"),
    "keys": ("签名密钥", "Signing keys"), "authorities": ("执照签发机构", "Licence authorities"),
    "registry": ("人口库", "Registry"), "audit": ("审计日志", "Audit trail"),
    "logins_per_hour": ("每小时登录次数（按方式和结果）", "Logins per hour by method and outcome"),
    "liveness_rate": ("每小时活体检测通过率", "Liveness pass rate per hour"),
    "last_24h": ("最近 24 小时（UTC）", "Last 24 hours (UTC)"),
    "logins_24h": ("24 小时登录次数", "Logins in 24 hours"),
    "liveness_24h": ("24 小时活体通过率", "Liveness pass rate, 24 hours"),
    "no_data": ("暂无数据", "No data yet"), "pass_rate": ("通过率", "pass rate"),
    "total": ("合计", "Total"), "enabled": ("已启用", "Enabled"), "disabled": ("已停用", "Disabled"),
    "new_client": ("新建应用", "New relying party"), "edit": ("编辑", "Edit"),
    "save": ("保存", "Save"), "create": ("创建", "Create"), "delete": ("删除", "Delete"),
    "enable": ("启用", "Enable"), "disable": ("停用", "Disable"),
    "rotate_secret": ("重置密钥", "Rotate secret"),
    "confirm_delete": ("确认删除（不可恢复）", "Confirm deletion (cannot be undone)"),
    "client_id": ("应用标识", "Client ID"), "client_secret": ("应用密钥", "Client secret"),
    "secret_once": ("密钥只显示这一次，请立即妥善保存。",
                    "The secret is shown only now: store it safely."),
    "client_name": ("显示名称", "Display name"), "logo_uri": ("图标地址", "Logo URL"),
    "redirect_uris": ("回调地址（每行一个）", "Redirect URIs (one per line)"),
    "post_logout_redirect_uris": ("退出后回调地址（每行一个）",
                                  "Post-logout redirect URIs (one per line)"),
    "backchannel_logout_uri": ("后端退出通知地址", "Back-channel logout URI"),
    "auth_method": ("客户端认证方式", "Client authentication"),
    "grant_types": ("授权类型", "Grant types"), "scope": ("权限范围", "Scopes"),
    "subject_type": ("用户标识类型", "Subject type"),
    "sector_identifier": ("扇区标识（主机名）", "Sector identifier (host name)"),
    "allow_id_number": ("允许获取完整身份证号码", "May receive the full ID number"),
    "jwks_uri": ("公钥集地址", "JWKS URI"), "jwks": ("公钥集（JSON）", "JWKS (JSON)"),
    "id_token_alg": ("ID 令牌签名算法", "ID token algorithm"),
    "ttls": ("令牌有效期（秒，留空为默认）", "Token lifetimes (seconds, empty for default)"),
    "access_token_ttl": ("访问令牌", "Access token"), "id_token_ttl": ("ID 令牌", "ID token"),
    "refresh_token_ttl": ("刷新令牌", "Refresh token"),
    "admin_client": ("管理接口客户端（可调用管理 API）", "Admin client (may call the admin API)"),
    "status": ("状态", "Status"), "actions": ("操作", "Actions"),
    "initial_token": ("动态注册初始令牌", "Initial access token for dynamic registration"),
    "issue": ("签发", "Issue"), "ttl_seconds": ("有效期（秒）", "Lifetime (seconds)"),
    "token_once": ("令牌只显示这一次，可注册一个应用。",
                   "Shown only now; it registers one client."),
    "rotate_keys": ("轮换签名密钥", "Rotate signing keys"), "retire": ("立即撤下", "Retire now"),
    "kid": ("密钥标识", "Key ID"), "alg": ("算法", "Algorithm"), "created": ("创建时间", "Created"),
    "activated": ("启用时间", "Activates"), "remove_after": ("撤下时间", "Unpublished after"),
    "upload_ca": ("上传 CA 证书（PEM）", "Upload a CA certificate (PEM)"),
    "name": ("名称", "Name"), "crl_source": ("CRL 来源（URL 或绝对路径）",
                                               "CRL source (URL or absolute path)"),
    "ocsp_source": ("OCSP 响应服务（URL，或 aia 表示使用证书中的地址）",
                    "OCSP responder (URL, or aia for the one named in each certificate)"),
    "edit_sources": ("修改 CRL / OCSP 来源", "Edit CRL / OCSP sources"),
    "empty_clears": ("留空即清除该来源。", "Leave a field empty to clear that source."),
    "anchor": ("信任锚", "Trust anchor"), "intermediate": ("中间 CA", "Intermediate"),
    "subject": ("主体", "Subject"), "not_after": ("有效期至", "Valid until"),
    "persons": ("人员总数", "Persons"), "with_template": ("含人脸模板", "With face template"),
    "by_source": ("按来源", "By source"), "last_updated": ("最近更新", "Last updated"),
    "adapter": ("适配器", "Adapter"), "imports": ("最近导入", "Recent imports"),
    "since": ("开始时间（UTC）", "From (UTC)"), "until": ("结束时间（UTC）", "Until (UTC)"),
    "outcome": ("结果", "Outcome"), "any": ("全部", "Any"),
    "masked_subject": ("用户标识（脱敏）", "Subject (masked)"), "search": ("查询", "Search"),
    "time": ("时间", "Time"), "event": ("事件", "Event"), "method": ("方式", "Method"),
    "reason": ("原因", "Reason"), "next_page": ("下一页", "Next page"),
    "first_page": ("第一页", "First page"), "no_events": ("没有符合条件的记录。", "No matching events."),
    "last_checkpoint": ("最近签名检查点：第 {seq} 号，覆盖至事件 {event}，{age}前",
                        "Last signed checkpoint: seq {seq}, up to event {event}, {age} ago"),
    "no_checkpoint": ("尚无签名检查点：删除最新的记录将无法被发现。",
                      "No signed checkpoint yet: deleting the newest events would go unnoticed."),
    "age_s": ("{n} 秒", "{n} s"), "age_min": ("{n} 分钟", "{n} min"), "age_h": ("{n} 小时", "{n} h"),
    "not_allowed": ("您的角色无权执行此操作。", "Your role may not do this."),
    "saved": ("已保存。", "Saved."), "back": ("返回", "Back"),
}


def at(key: str) -> str:
    return translate(STRINGS, key)


def init_app(app) -> None:
    app.jinja_env.globals["at"] = at
