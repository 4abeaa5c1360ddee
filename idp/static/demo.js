/* Demo enrolment: one webcam photo -> POST /demo/enrol (the server keeps a template only). */
(function () {
  "use strict";
  var form = document.getElementById("enrol-form");
  if (!form) { return; }
  var en = document.documentElement.lang === "en";
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var video = document.getElementById("enrol-video"), canvas = document.getElementById("enrol-canvas");
  var error = document.getElementById("enrol-error");
  var stream = null;

  function fail(text) { error.textContent = text; error.hidden = false; document.body.dataset.enrolState = "failed"; }

  document.getElementById("enrol-camera").addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({video: {facingMode: "user", width: {ideal: 640}}, audio: false})
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        document.getElementById("enrol-camera").hidden = true;
        document.getElementById("enrol-capture").hidden = false;
        document.body.dataset.enrolState = "camera";
      })
      .catch(function () { fail(en ? "The camera could not be opened." : "无法打开摄像头。"); });
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    if (!document.getElementById("enrol-consent").checked || !document.getElementById("enrol-name").value.trim()) {
      fail(en ? "Enter your name and give your consent." : "请填写姓名并同意人脸信息处理。");
      return;
    }
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
        .then(function (resp) { return resp.json(); })
        .then(function (data) {
          if (!data.ok) { fail(data.error_description || data.error); return; }
          if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
          document.getElementById("enrol-done").hidden = false;
          document.getElementById("enrol-capture").hidden = true;
          document.body.dataset.enrolState = "done";
        })
        .catch(function () { fail(en ? "Enrolment failed." : "登记失败。"); });
    }, "image/jpeg", 0.92);
  });
})();
