// Licence login page: count down the challenge, poll the status, follow the redirect.
(function () {
  "use strict";
  var status = document.getElementById("status");
  if (!status) return;
  var countdown = document.getElementById("countdown");
  var expiresAt = parseInt(status.dataset.expiresAt, 10) * 1000;
  function show(state, text) { status.dataset.state = state; status.textContent = text; }
  show("pending", status.dataset.msgPending);
  function tick() {
    var left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
    countdown.textContent = left + " s";
    return left;
  }
  function poll() {
    if (status.dataset.state !== "pending") return;
    fetch(status.dataset.statusUrl, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (body.state === "done" && body.redirect) { show("done", ""); window.location.assign(body.redirect); return; }
        if (body.state === "failed") { show("failed", status.dataset.msgFailed + " " + body.reason); return; }
        if (body.state === "expired" || tick() === 0) { show("expired", status.dataset.msgExpired); return; }
        setTimeout(poll, 1500);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  tick();
  setInterval(tick, 1000);
  setTimeout(poll, 1000);
})();
