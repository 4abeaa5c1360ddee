/* Demo enrolment: one webcam photo -> POST /demo/enrol (the server keeps a template only). */
(function () {
  "use strict";
  var form = document.getElementById("enrol-form");
  if (!form) { return; }
  var msg = form.dataset;
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var video = document.getElementById("enrol-video"), canvas = document.getElementById("enrol-canvas");
  var error = document.getElementById("enrol-error");
  var openButton = document.getElementById("enrol-camera"), capture = document.getElementById("enrol-capture");
  var stream = null, busy = false;

  function fail(text) { error.textContent = text; error.hidden = false; document.body.dataset.enrolState = "failed"; }
  function reasonText(body) {
    if (body && body.error === "bad_photo") { return msg.msgBadPhoto; }
    if (body && body.error === "consent_required") { return msg.msgNeedNameConsent; }
    return msg.msgFailed;
  }

  openButton.addEventListener("click", function () {
    openButton.disabled = true;
    navigator.mediaDevices.getUserMedia({video: {facingMode: "user", width: {ideal: 640}}, audio: false})
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        document.getElementById("enrol-viewport").hidden = false;
        openButton.hidden = true;
        capture.hidden = false;
        document.body.dataset.enrolState = "camera";
      })
      .catch(function () { openButton.disabled = false; fail(msg.msgCameraFailed); });
  });

  function finish(ok, body) {
    busy = false;
    capture.disabled = false;
    capture.textContent = capture.dataset.label;
    if (!ok) { fail(reasonText(body)); return; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    document.getElementById("enrol-viewport").hidden = true;
    document.getElementById("enrol-done").hidden = false;
    capture.hidden = true;
    document.body.dataset.enrolState = "done";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    // Enter in the name field submits too: nothing to photograph before the camera is open,
    // and one photo at a time (a double click must not send two).
    if (!stream || busy || !video.videoWidth) { return; }
    error.hidden = true;
    if (!document.getElementById("enrol-consent").checked || !document.getElementById("enrol-name").value.trim()) {
      fail(msg.msgNeedNameConsent);
      return;
    }
    busy = true;
    capture.disabled = true;
    capture.dataset.label = capture.dataset.label || capture.textContent;
    capture.textContent = msg.msgSending;
    document.body.dataset.enrolState = "sending";
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob(function (blob) {
      var body = new FormData();
      body.append("name", document.getElementById("enrol-name").value.trim());
      body.append("consent", "true");
      body.append("frames", blob, "photo.jpg");
      fetch("/demo/enrol", {method: "POST", body: body, credentials: "same-origin",
                            headers: {"X-CSRF-Token": csrf, "Accept": "application/json"}})
        .then(function (resp) { return resp.json().then(function (data) { finish(resp.ok && data.ok, data); }); })
        .catch(function () { finish(false, null); });
    }, "image/jpeg", 0.92);
  });
})();
