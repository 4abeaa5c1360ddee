/* Person face login: form -> challenge -> camera -> one continuous clip -> redirect
 * (DESIGN section 6).
 *
 * No inline scripts (CSP script-src 'self'); the messages come from the server's translation
 * tables as a JSON block (#person-text).  The clip is a timestamped JPEG burst: while the
 * user follows the guidance, every new camera frame (at most capture.frame_rate a second) is
 * copied into a canvas, its capture time performance.now() at the copy; the copies are
 * JPEG-encoded when the recording ends.  Frames are
 * the camera's own, NOT mirrored (the preview is mirrored by CSS only): the server's
 * "turn_left" is the user's own left.  They are kept in memory and sent once as multipart
 * `frames` + `times`; nothing is stored in the browser.
 * document.body.dataset.personState tracks the step (form, camera, capturing, sending,
 * failed, done) and dataset.personAction the action being guided, for people who automate
 * or test the page.
 */
(function () {
  "use strict";

  var SETTLE_MS = 600;         // camera warm-up before recording starts
  var QUALITY = 0.85;
  var ARROWS = {turn_left: "\u2190", turn_right: "\u2192", turn_either: "\u2194",
                look_up: "\u2191", look_down: "\u2193", nod: "\u2195", move_closer: "\u2922"};

  var form = document.getElementById("person-form");
  if (!form) { return; }
  var TEXT = JSON.parse(document.getElementById("person-text").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var el = function (id) { return document.getElementById(id); };
  var video = el("camera-video"), canvas = el("camera-canvas");
  var challenge = null, stream = null, who = null, busy = false;

  function say(key) { return TEXT[key] || TEXT.generic; }
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
    if (d.reason === "try_again") { return d.hint || "try_again"; }
    if (d.reason === "login_failed") { return "login_failed"; }
    if (d.error === "invalid_request" && d.reason) { return "capture_again"; }
    return d.error || "generic";
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
    if (busy) { return; }
    var name = el("person-name").value.trim(), number = el("person-id-number").value.trim();
    if (!name || !number) { show(el("person-form-error"), say("need_fields")); return; }
    if (!el("person-consent").checked) { show(el("person-form-error"), say("need_consent")); return; }
    show(el("person-form-error"), "");
    who = {name: name, id_number: number, consent: true};
    busy = true;
    el("person-continue").disabled = true;
    begin().then(function () {
      el("person-form-step").hidden = true;
      el("camera-step").hidden = false;
      state("camera");
    }).catch(function (answer) {
      var d = (answer && answer.data) || {};
      show(el("person-form-error"), d.error_description || say(errorKey(answer || {})));
      state("form");
    }).then(function () { busy = false; el("person-continue").disabled = false; });
  });

  // -- step 2: camera ----------------------------------------------------------------------
  function openCamera() {
    if (stream) { return Promise.resolve(stream); }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return Promise.reject(new Error("camera"));
    }
    return navigator.mediaDevices.getUserMedia({
      video: {facingMode: "user", width: {ideal: 640}, height: {ideal: 480},
              frameRate: {ideal: 30}}, audio: false
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

  // -- step 3: guide while recording -------------------------------------------------------
  function Guide(steps) {
    var list = el("camera-steps"), items = [];
    list.textContent = "";
    steps.forEach(function (step) {
      var li = document.createElement("li");
      li.textContent = step.hint;
      list.appendChild(li);
      items.push(li);
    });
    list.hidden = false;
    var ends = [], total = 0;
    steps.forEach(function (step) { total += step.duration_ms; ends.push(total); });
    var current = -1;
    this.total = total;
    this.update = function (elapsed, duration) {
      var i = 0;
      while (i < ends.length && elapsed >= ends[i]) { i++; }
      el("camera-progress").value = Math.min(1000, Math.round(1000 * elapsed / duration));
      if (i === current) { return; }
      items.forEach(function (li, k) {
        li.className = k < i ? "done" : (k === i ? "active" : "");
      });
      current = i;
      var arrow = el("camera-arrow");
      if (i < steps.length) {
        var action = steps[i].action;
        show(el("camera-guidance"), steps[i].hint);
        document.body.dataset.personAction = action;
        arrow.textContent = ARROWS[action] || "";
        arrow.dataset.action = action;
        arrow.hidden = !ARROWS[action];
      } else {
        show(el("camera-guidance"), say("step_done"));
        document.body.dataset.personAction = "done";
        arrow.hidden = true;
      }
    };
    this.finish = function () {
      items.forEach(function (li) { li.className = "done"; });
      el("camera-arrow").hidden = true;
      el("camera-progress").value = 1000;
    };
  }

  // Capturing only copies the camera frame into a canvas of its own (synchronous and cheap);
  // JPEG encoding waits until the recording ends, so a busy device loses no frames to it.
  function snapshot(maxSide) {
    var w = video.videoWidth, h = video.videoHeight;
    var k = Math.min(1, maxSide / Math.max(w, h));
    var copy = document.createElement("canvas");
    copy.width = Math.round(w * k);
    copy.height = Math.round(h * k);
    copy.getContext("2d").drawImage(video, 0, 0, copy.width, copy.height);
    return {t: performance.now(), canvas: copy};
  }

  function encode(shots, plan) {
    var frames = [], bytes = 0;
    return shots.reduce(function (chain, shot) {
      return chain.then(function () {
        return new Promise(function (resolve) {
          shot.canvas.toBlob(function (blob) {
            if (blob && bytes + blob.size <= plan.max_bytes) {
              frames.push({t: shot.t, blob: blob});
              bytes += blob.size;
            }
            shot.canvas.width = 0;  // free the pixels
            resolve();
          }, "image/jpeg", QUALITY);
        });
      });
    }, Promise.resolve()).then(function () { return frames; });
  }

  // One snapshot per new camera frame (requestVideoFrameCallback where the browser has it,
  // else a timer), at most plan.frame_rate a second and plan.max_frames in all.
  function record(plan, guide) {
    var shots = [], started = performance.now(), due = 0, done = false;
    var gap = 1000 / plan.frame_rate, duration = Math.min(plan.duration_ms, plan.max_duration_ms - 500);
    var hasFrameCallback = typeof video.requestVideoFrameCallback === "function";
    return new Promise(function (resolve) {
      function finish() {
        if (done) { return; }
        done = true;
        resolve(shots);
      }
      function tick() {
        if (done) { return; }
        var now = performance.now(), elapsed = now - started;
        guide.update(elapsed, duration);
        if (elapsed >= duration) { finish(); return; }
        // a schedule, not a minimum spacing: a 25 frames/s camera gives 15 a second, not 12.5
        if (now >= due && shots.length < plan.max_frames && video.videoWidth) {
          due = Math.max(due + gap, now - gap);
          shots.push(snapshot(plan.max_side));
        }
        if (hasFrameCallback) { video.requestVideoFrameCallback(tick); } else { setTimeout(tick, gap / 3); }
      }
      // a stalled camera must not stall the page: the timeline also runs on a timer
      var timer = setInterval(function () {
        if (done) { clearInterval(timer); return; }
        var elapsed = performance.now() - started;
        guide.update(elapsed, duration);
        if (elapsed >= duration + 200) { clearInterval(timer); finish(); }
      }, 100);
      tick();
    }).then(function (taken) { return encode(taken, plan); });
  }

  function send(frames) {
    var body = new FormData();
    body.append("session", challenge.session);
    body.append("nonce", challenge.nonce);
    body.append("times", JSON.stringify(frames.map(function (f) { return Math.round(f.t * 10) / 10; })));
    frames.forEach(function (f, i) { body.append("frames", f.blob, "frame" + i + ".jpg"); });
    return post(form.getAttribute("data-frames-url"), body);
  }

  function fail(key) {
    closeCamera();
    busy = false;
    state("failed");
    show(el("camera-error"), say(key));
    show(el("camera-guidance"), "");
    el("camera-arrow").hidden = true;
    el("camera-rec").hidden = true;
    el("camera-progress").hidden = true;
    el("camera-retry").hidden = key === "login_expired" || key === "too_many_requests";
    el("camera-retry").disabled = false;
    el("camera-start").hidden = true;
  }

  function run() {
    if (busy || !challenge) { return; }   // a double click starts one capture only
    busy = true;
    // Disabled, not hidden, while capturing: a second click of a double click must not land
    // on whatever would move into its place (the "back" link).
    el("camera-start").disabled = true;
    el("camera-retry").hidden = true;
    show(el("camera-error"), "");
    el("camera-intro").hidden = true;
    state("capturing");
    var plan = challenge.capture, guide = new Guide(plan.steps);
    openCamera().catch(function () { throw {camera: true}; })
      .then(function () {
        show(el("camera-guidance"), plan.steps[0].hint);
        return sleep(SETTLE_MS);
      })
      .then(function () {
        el("camera-rec").hidden = false;
        el("camera-progress").hidden = false;
        return record(plan, guide);
      })
      .then(function (frames) {
        guide.finish();
        closeCamera();
        el("camera-rec").hidden = true;
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
    // A session is single-use: every retry asks the server for a new challenge (an attempt).
    if (busy) { return; }
    el("camera-retry").disabled = true;
    begin().then(function () { el("camera-retry").hidden = true; return run(); }).catch(function (answer) { fail(errorKey(answer || {})); });
  });
  state("form");
})();
