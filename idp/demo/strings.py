"""Strings of the demo pages in zh-CN (first) and en, as the template global ``dt``."""
from __future__ import annotations

from ..i18n import translate

STRINGS = {
    "platform": ("演示服务平台", "Demo service platform"),
    "platform_intro": ("一个通过本统一身份认证服务（OpenID Connect 授权码 + PKCE）登录的示例业务系统，页面展示它收到的身份信息。",
                       "A relying party that logs in through this identity server with OpenID Connect "
                       "(code flow, PKCE) and shows what it receives."),
    "logged_in": ("您已登录：", "You are logged in: "),
    "logged_out": ("您已退出登录，本平台和统一身份认证的会话均已结束。",
                   "You have logged out: this platform's session and the identity server's session have ended."),
    "id_token_claims": ("ID 令牌中的声明", "ID token claims"),
    "userinfo": ("用户信息接口（UserInfo）返回", "UserInfo response"),
    "log_out": ("退出登录", "Log out"),
    "login_face": ("个人登录（刷脸）", "Log in as a citizen (face)"),
    "login_face_desc": ("身份证号码 + 姓名 + 活体检测与人脸比对", "ID number + name + liveness and face match"),
    "login_active": ("个人登录（刷脸 + 动作）", "Log in as a citizen (face + head movements)"),
    "login_active_desc": ("在刷脸基础上按提示转头或抬头，安全等级更高", "As above, following head movements: a higher assurance level"),
    "login_elicense": ("法人登录（电子营业执照）", "Log in as an organisation (business licence)"),
    "login_elicense_desc": ("使用电子营业执照扫码签名（演示执照用命令行签发，见 README）",
                            "Sign with an electronic business licence (issue a demo licence on the command line, see the README)"),
    "try_own_face": ("用您自己的人脸体验", "Try it with your own face"),
    "enrolled": ("已登记：", "Enrolled: "),
    "enrol_link": ("使用演示身份证号登记您的人脸", "Enrol your face under a demo ID number"),
    "enrol_title": ("登记人脸（演示）", "Enrol your face (demo)"),
    "enrol_id": ("您的演示身份证号码：", "Your demo ID number: "),
    "full_name": ("姓名", "Full name"),
    "enrol_privacy": ("将拍摄一张您的面部照片并提取人脸特征，特征保存在演示人口库中，照片本身立即删除。之后请使用上面的号码和此姓名登录。",
                      "One photo of your face is taken and turned into a face template, which is stored in "
                      "the demo registry; the photo itself is discarded at once. Use the ID number above and "
                      "this name to log in."),
    "enrol_consent": ("我同意为本演示处理我的人脸信息。", "I consent to the processing of my face image for this demo."),
    "enrol_done": ("登记成功，现在可以在演示平台登录。", "Enrolled. You can now log in on the demo platform."),
    "go_to_platform": ("前往演示平台", "Go to the demo platform"),
    "open_camera": ("打开摄像头", "Open the camera"),
    "take_photo": ("拍照并登记", "Take the photo and enrol"),
    "back": ("返回", "Back"),
    "camera_failed": ("无法打开摄像头。", "The camera could not be opened."),
    "need_name_consent": ("请填写姓名并同意人脸信息处理。", "Enter your name and give your consent."),
    "enrol_failed": ("登记失败，请重试。", "Enrolment failed; please try again."),
    "bad_photo": ("照片中没有可用的人脸，请正对摄像头、保持光线充足后重拍。",
                  "No usable face in the photo: face the camera in good light and take it again."),
    "sending": ("正在登记…", "Enrolling…"),
}


def dt(key: str) -> str:
    return translate(STRINGS, key)
