"""Strings of the person login page, zh-CN first and en second.

``act_*`` are the capture hints a challenge carries (``guidance.plan``); ``js_*`` are the
messages the page's script shows, handed to it as JSON in the page (``script_text``).
"""
from __future__ import annotations

from ..i18n import translate

STRINGS = {
    "method": ("刷脸登录（个人）", "Face login (individuals)"),
    "method_desc": ("身份证号 + 姓名 + 人脸核验", "ID number, name and a face check"),
    "title": ("个人刷脸登录", "Log in with your face"),
    "name": ("姓名", "Full name"),
    "id_number": ("身份证号码", "ID number"),
    "privacy_title": ("个人信息与人脸处理说明", "Privacy notice: your face image"),
    "privacy_1": ("为确认是您本人，我们将通过摄像头录制几秒钟您的面部视频（请按提示转头或靠近），"
                  "并与公安人口库中您的证件照特征进行比对。",
                  "To confirm it is you, your camera records a few seconds of your face while "
                  "you follow the prompts (turn, come closer), and we compare it with the "
                  "features of your registered ID photo."),
    "privacy_2": ("视频仅在内存中处理，核验后立即删除，不会保存；证件号码在日志和审计中脱敏。",
                  "The recording is processed in memory and deleted right after the check; it "
                  "is never stored. Your ID number is masked in logs and audit records."),
    "privacy_3": ("您可以不同意并改用其他登录方式。",
                  "You may decline and use another way to log in."),
    "consent": ("我已阅读并同意上述说明，同意进行人脸信息处理。",
                "I have read the notice and consent to the processing of my face image."),
    "continue": ("下一步：人脸核验", "Next: face check"),
    "back": ("返回选择其他登录方式", "Back to other ways to log in"),
    "enterprise": ("法人/企业登录", "Log in as an organisation"),
    "camera_title": ("人脸核验", "Face check"),
    "camera_hint": ("请正对摄像头，保持光线充足，脸部完整出现在框内。点击开始后将录制几秒钟，"
                    "请按屏幕上的箭头和文字慢慢完成动作。",
                    "Face the camera in good light, with your whole face inside the frame. When you "
                    "start, a few seconds are recorded: follow the arrows and text on the screen "
                    "slowly."),
    "start_camera": ("开始核验", "Start the check"),
    "retry": ("重试", "Try again"),
    "act_hold": ("请正对摄像头，保持不动", "Look straight at the camera and hold still"),
    "act_turn_left": ("请慢慢向左转头（约 20 度），稍停，再转回来",
                      "Slowly turn your head to your left (about 20 degrees), pause, then back"),
    "act_turn_right": ("请慢慢向右转头（约 20 度），稍停，再转回来",
                       "Slowly turn your head to your right (about 20 degrees), pause, then back"),
    "act_turn_either": ("请慢慢把头转向一侧（约 20 度），稍停，再转回来",
                        "Slowly turn your head to one side (about 20 degrees), pause, then back"),
    "act_look_up": ("请慢慢抬头，再回到正面", "Slowly look up, then back"),
    "act_look_down": ("请慢慢低头，再回到正面", "Slowly look down, then back"),
    "act_nod": ("请慢慢点头", "Slowly nod"),
    "act_move_closer": ("请慢慢靠近摄像头", "Slowly move closer to the camera"),
    "js_sending": ("正在核验，请稍候…", "Checking, please wait…"),
    "js_done": ("核验通过，正在跳转…", "Verified, redirecting…"),
    "js_step_done": ("完成", "Done"),
    "js_recording": ("正在录制", "Recording"),
    "js_need_fields": ("请填写姓名和身份证号码。", "Enter your name and ID number."),
    "js_need_consent": ("请先阅读并同意人脸信息处理说明。",
                        "Please read the notice and give your consent first."),
    "js_login_failed": ("核验未通过。请确认姓名、身份证号码正确，并由本人在摄像头前进行核验。",
                        "Verification failed. Check your name and ID number, and make sure you "
                        "are the person in front of the camera."),
    "js_try_again": ("这次没有完成核验，请重试。", "The check could not be completed. Please try again."),
    "js_follow_prompts": ("没有看到要求的动作，请按提示慢慢完成动作后重试。",
                          "The requested movement was not seen. Follow the prompts slowly and "
                          "try again."),
    "js_capture_again": ("录制不完整，请保持页面在前台并重试。",
                         "The recording was incomplete. Keep this page open and try again."),
    "js_no_face": ("没有检测到人脸，请正对摄像头。", "No face was found. Look straight at the camera."),
    "js_multiple_faces": ("画面中有多张人脸，请确保只有您本人。",
                          "More than one face is in view. Make sure only you are visible."),
    "js_face_too_small": ("人脸太小，请靠近一些。", "Your face is too small. Move closer."),
    "js_too_dark": ("光线太暗，请到明亮处重试。", "It is too dark. Find more light."),
    "js_overexposed": ("光线太强，请避开强光。", "The light is too strong."),
    "js_blurred": ("画面模糊，请保持稳定。", "The picture is blurred. Hold the camera steady."),
    "js_bad_pose": ("请正对摄像头。", "Look straight at the camera."),
    "js_face_lost": ("人脸离开了画面，请保持脸部始终在框内。",
                     "Your face left the picture. Keep your whole face in view."),
    "js_too_many_requests": ("尝试次数过多，请稍后再试。", "Too many attempts. Please try again later."),
    "js_temporarily_unavailable": ("服务暂时不可用，请稍后再试。",
                                   "The service is temporarily unavailable. Please try again later."),
    "js_invalid_session": ("核验已过期，请重试。", "The check expired. Please try again."),
    "js_login_expired": ("登录已过期，请返回原网站重新登录。",
                         "This login has expired. Go back to the service and start again."),
    "js_camera": ("无法打开摄像头。请允许浏览器使用摄像头，或改用其他登录方式。",
                  "The camera could not be opened. Allow camera access, or choose another way "
                  "to log in."),
    "js_generic": ("出错了，请重试。", "Something went wrong. Please try again."),
    "noscript": ("此页面需要启用 JavaScript 才能使用摄像头。",
                 "This page needs JavaScript to use your camera."),
}


def pt(key: str) -> str:
    return translate(STRINGS, key)


def script_text() -> dict:
    """The script's messages in the request's language, keyed without the ``js_`` prefix."""
    return {key[3:]: pt(key) for key in STRINGS if key.startswith("js_")}
