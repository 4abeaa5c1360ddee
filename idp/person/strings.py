"""Strings of the person login page, zh-CN first and en second (the script has its own
copies of the few messages it shows while capturing)."""
from __future__ import annotations

from ..i18n import translate

STRINGS = {
    "method": ("刷脸登录（个人）", "Face login (individuals)"),
    "method_desc": ("身份证号 + 姓名 + 人脸核验", "ID number, name and a face check"),
    "title": ("个人刷脸登录", "Log in with your face"),
    "name": ("姓名", "Full name"),
    "id_number": ("身份证号码", "ID number"),
    "privacy_title": ("个人信息与人脸处理说明", "Privacy notice: your face image"),
    "privacy_1": ("为确认是您本人，我们将通过摄像头采集几张您的面部图像，并与公安人口库中您的"
                  "证件照特征进行比对。",
                  "To confirm it is you, we take a few pictures of your face with your camera "
                  "and compare them with the features of your registered ID photo."),
    "privacy_2": ("图像仅在内存中处理，核验后立即删除，不会保存；证件号码在日志和审计中脱敏。",
                  "The images are processed in memory and deleted right after the check; they "
                  "are never stored. Your ID number is masked in logs and audit records."),
    "privacy_3": ("您可以不同意并改用其他登录方式。",
                  "You may decline and use another way to log in."),
    "consent": ("我已阅读并同意上述说明，同意进行人脸信息处理。",
                "I have read the notice and consent to the processing of my face image."),
    "continue": ("下一步：人脸核验", "Next: face check"),
    "back": ("返回选择其他登录方式", "Back to other ways to log in"),
    "enterprise": ("法人/企业登录", "Log in as an organisation"),
    "camera_title": ("人脸核验", "Face check"),
    "camera_hint": ("请正对摄像头，保持光线充足，脸部完整出现在框内。",
                    "Face the camera in good light, with your whole face inside the frame."),
    "start_camera": ("开始核验", "Start the check"),
    "retry": ("重试", "Try again"),
    "noscript": ("此页面需要启用 JavaScript 才能使用摄像头。",
                 "This page needs JavaScript to use your camera."),
}


def pt(key: str) -> str:
    return translate(STRINGS, key)
