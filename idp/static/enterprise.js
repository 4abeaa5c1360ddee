// Licence login page: count down the challenge, poll the status, follow the redirect.
// On a rejection or expiry the QR code and the countdown stop and the page says, in the
// page's language, what happened and what to do (data-reasons: reason code -> sentence).
(function () {
  "use strict";
  var status = document.getElementById("status");
  if (!status) return;
  var countdown = document.getElementById("countdown");
  var expiresAt = parseInt(status.dataset.expiresAt, 10) * 1000;
  var reasons = JSON.parse(status.dataset.reasons || "{}");
  var timer = null;
  function show(state, text) { status.dataset.state = state; status.textContent = text; }
  function stop(state, reason) {
    clearInterval(timer);
    countdown.hidden = true;
    document.getElementById("qr").hidden = true;
    document.getElementById("holder").hidden = true;
    status.classList.add("error");
    status.dataset.reason = reason || "";
    show(state, reasons[reason] || reasons[""]);
  }
  show("pending", status.dataset.msgPending);
  function tick() {
    var left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
    countdown.textContent = status.dataset.msgCountdown.replace("{s}", left);
    if (left === 0 && status.dataset.state === "pending") stop("expired", "challenge_expired");
    return left;
  }
  function poll() {
    if (status.dataset.state !== "pending") return;
    fetch(status.dataset.statusUrl, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (status.dataset.state !== "pending") return;
        if (body.state === "done" && body.redirect) { show("done", ""); window.location.assign(body.redirect); return; }
        if (body.state === "failed") { stop("failed", body.reason); return; }
        if (body.state === "expired") { stop("expired", body.reason || "challenge_expired"); return; }
        setTimeout(poll, 1500);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  tick();
  timer = setInterval(tick, 1000);
  setTimeout(poll, 1000);
})();
