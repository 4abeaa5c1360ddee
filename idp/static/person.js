/* Person face login: form -> challenge -> camera -> frames -> redirect (DESIGN section 6).
 *
 * No inline scripts (CSP script-src 'self').  Frames are taken from the video element with
 * canvas.drawImage, so they are the camera's own, NOT mirrored (the preview is mirrored by
 * CSS only): the server's "turn_left" is the user's own left.  They are JPEG blobs kept in
 * memory and sent once; nothing is stored in the browser.
 * document.body.dataset.personState tracks the step (form, camera, capturing, sending,
 * failed, done) for people who automate or test the page.
 */
(function () {
  "use strict";

  var MAX_SIDE = 640;          // frames are scaled down to this longest side
  var SETTLE_MS = 1200;        // camera warm-up before the first frame
  var PASSIVE_FRAMES = 3;
  var PASSIVE_GAP_MS = 300;
  var ACTION_MS = 1800;        // time given for each action
  var ACTION_SHOTS = [900, 1300, 1700];  // when, inside that time, frames are taken

  var TEXT = {
    "zh-CN": {
      turn_left: "请向左转头", turn_right: "请向右转头", look_up: "请慢慢抬头",
      look_down: "请慢慢低头", move_closer: "请靠近摄像头", hold: "请正对摄像头，保持不动",
      sending: "正在核验，请稍候…", done: "核验通过，正在跳转…",
      need_fields: "请填写姓名和身份证号码。", need_consent: "请先阅读并同意人脸信息处理说明。",
      login_failed: "核验未通过。请确认姓名、身份证号码正确，并由本人进行核验。",
      challenge_failed: "没有看到要求的动作，请按提示完成动作后重试。",
      no_face: "没有检测到人脸，请正对摄像头。", multiple_faces: "画面中有多张人脸，请确保只有您本人。",
      face_too_small: "人脸太小，请靠近一些。", too_dark: "光线太暗，请到明亮处重试。",
      overexposed: "光线太强，请避开强光。", blurred: "画面模糊，请保持稳定。",
      bad_pose: "请正对摄像头。", bad_image: "图像无法识别，请重试。",
      too_many_requests: "尝试次数过多，请稍后再试。",
      temporarily_unavailable: "服务暂时不可用，请稍后再试。",
      invalid_session: "核验已过期，请重试。", login_expired: "登录已过期，请返回原网站重新登录。",
      camera: "无法打开摄像头。请允许浏览器使用摄像头，或改用其他登录方式。",
      generic: "出错了，请重试。", frame: "已采集 {n} 张"
    },
    en: {
      turn_left: "Turn your head to your left", turn_right: "Turn your head to your right",
      look_up: "Slowly look up", look_down: "Slowly look down",
      move_closer: "Move closer to the camera", hold: "Look straight at the camera and hold still",
      sending: "Checking, please wait…", done: "Verified, redirecting…",
      need_fields: "Enter your name and ID number.",
      need_consent: "Please read the notice and give your consent first.",
      login_failed: "Verification failed. Check your name and ID number, and make sure you are the person being verified.",
      challenge_failed: "The requested movements were not seen. Follow the prompts and try again.",
      no_face: "No face was found. Look straight at the camera.",
      multiple_faces: "More than one face is in view. Make sure only you are visible.",
      face_too_small: "Your face is too small. Move closer.", too_dark: "It is too dark. Find more light.",
      overexposed: "The light is too strong.", blurred: "The picture is blurred. Hold still.",
      bad_pose: "Look straight at the camera.", bad_image: "The picture could not be read. Try again.",
      too_many_requests: "Too many attempts. Please try again later.",
      temporarily_unavailable: "The service is temporarily unavailable. Please try again later.",
      invalid_session: "The check expired. Please try again.",
      login_expired: "This login has expired. Go back to the service and start again.",
      camera: "The camera could not be opened. Allow camera access, or choose another way to log in.",
      generic: "Something went wrong. Please try again.", frame: "{n} taken"
    }
  };

  var form = document.getElementById("person-form");
  if (!form) { return; }
  var lang = document.documentElement.lang === "en" ? "en" : "zh-CN";
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var el = function (id) { return document.getElementById(id); };
  var video = el("camera-video"), canvas = el("camera-canvas");
  var challenge = null, stream = null, who = null;

  function say(key, vars) {
    var text = TEXT[lang][key] || TEXT[lang].generic;
    Object.keys(vars || {}).forEach(function (k) { text = text.replace("{" + k + "}", vars[k]); });
    return text;
  }
  function state(name) { document.body.dataset.personState = name; }
  function show(node, text) { node.textContent = text; node.hidden = !text; }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function post(url, body) {
    var headers = {"X-CSRF-Token": csrf, "Accept": "application/json"};
    if (!(body instanceof FormData)) { headers["Content-Type"] = "application/json"; body = JSON.stringify(body); }
    return fetch(url, {method: "POST", headers: headers, body: body, credentials: "same-origin"})
      .then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (data) {
          return {status: resp.status, data: data};
        });
      });
  }

  function errorKey(answer) {
    var d = answer.data || {};
    return d.reason || d.error || "generic";
  }

  // -- step 1: who -------------------------------------------------------------------------
  function begin() {
    return post(form.getAttribute("action"), who).then(function (answer) {
      if (answer.status !== 200) { throw answer; }
      challenge = answer.data;
      return challenge;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var name = el("person-name").value.trim(), number = el("person-id-number").value.trim();
    if (!name || !number) { show(el("person-form-error"), say("need_fields")); return; }
    if (!el("person-consent").checked) { show(el("person-form-error"), say("need_consent")); return; }
    show(el("person-form-error"), "");
    who = {name: name, id_number: number, consent: true};
    el("person-continue").disabled = true;
    begin().then(function () {
      el("person-form-step").hidden = true;
      el("camera-step").hidden = false;
      state("camera");
    }).catch(function (answer) {
      var d = (answer && answer.data) || {};
      show(el("person-form-error"), d.error_description || say(errorKey(answer || {})));
      state("form");
    }).then(function () { el("person-continue").disabled = false; });
  });

  // -- step 2: camera and capture --------------------------------------------------------
  function openCamera() {
    if (stream) { return Promise.resolve(stream); }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return Promise.reject(new Error("camera"));
    }
    return navigator.mediaDevices.getUserMedia({
      video: {facingMode: "user", width: {ideal: 640}, height: {ideal: 480}}, audio: false
    }).then(function (s) {
      stream = s;
      video.srcObject = s;
      return new Promise(function (resolve) {
        if (video.readyState >= 2) { resolve(s); return; }
        video.addEventListener("playing", function () { resolve(s); }, {once: true});
      });
    });
  }

  function closeCamera() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    stream = null;
    video.srcObject = null;
  }

  function grab() {
    var w = video.videoWidth, h = video.videoHeight;
    var k = Math.min(1, MAX_SIDE / Math.max(w, h));
    canvas.width = Math.round(w * k);
    canvas.height = Math.round(h * k);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise(function (resolve, reject) {
      canvas.toBlob(function (blob) { blob ? resolve(blob) : reject(new Error("capture")); },
                    "image/jpeg", 0.9);
    });
  }

  function capture(actions) {
    var frames = [], progress = el("camera-progress");
    function take() {
      return grab().then(function (blob) {
        frames.push(blob);
        progress.textContent = say("frame", {n: frames.length});
      });
    }
    var steps = Promise.resolve();
    show(el("camera-guidance"), say("hold"));
    steps = steps.then(function () { return sleep(SETTLE_MS); });
    var baseline = actions.length ? 1 : PASSIVE_FRAMES;
    for (var i = 0; i < baseline; i++) {
      steps = steps.then(take).then(function () { return sleep(PASSIVE_GAP_MS); });
    }
    actions.forEach(function (action) {
      steps = steps.then(function () {
        show(el("camera-guidance"), say(action));
        var at = 0, shots = Promise.resolve();
        ACTION_SHOTS.forEach(function (t) {
          var wait = t - at;
          at = t;
          shots = shots.then(function () { return sleep(wait); }).then(take);
        });
        return shots.then(function () { return sleep(Math.max(0, ACTION_MS - at)); });
      });
    });
    return steps.then(function () { return frames; });
  }

  function send(frames) {
    var body = new FormData();
    body.append("session", challenge.session);
    body.append("nonce", challenge.nonce);
    frames.forEach(function (blob, i) { body.append("frames", blob, "frame" + i + ".jpg"); });
    return post(form.getAttribute("data-frames-url"), body);
  }

  function fail(key, detail) {
    closeCamera();
    state("failed");
    show(el("camera-error"), detail || say(key));
    show(el("camera-guidance"), "");
    el("camera-retry").hidden = key === "login_expired" || key === "too_many_requests";
    el("camera-start").hidden = true;
  }

  function run() {
    el("camera-start").hidden = true;
    el("camera-retry").hidden = true;
    show(el("camera-error"), "");
    state("capturing");
    openCamera().catch(function () { throw {camera: true}; })
      .then(function () { return capture(challenge.actions || []); })
      .then(function (frames) {
        closeCamera();
        state("sending");
        show(el("camera-guidance"), say("sending"));
        return send(frames);
      })
      .then(function (answer) {
        if (answer.data && answer.data.ok && answer.data.redirect) {
          state("done");
          show(el("camera-guidance"), say("done"));
          window.location.assign(answer.data.redirect);
          return;
        }
        challenge = null;
        fail(errorKey(answer));
      })
      .catch(function (problem) {
        challenge = null;
        fail(problem && problem.camera ? "camera" : errorKey(problem || {}));
      });
  }

  el("camera-start").addEventListener("click", run);
  el("camera-retry").addEventListener("click", function () {
    // A session is single-use: every retry asks the server for a new challenge.
    el("camera-retry").hidden = true;
    begin().then(run).catch(function (answer) { fail(errorKey(answer || {})); });
  });
  state("form");
})();
