// The browser's time zone, sent once while the signed-in person has none (base.html loads this
// only then): no request header carries it. Their language comes from Accept-Language, and both
// can be changed on /account/. Nothing here changes the page; the next page is in their zone.
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !window.fetch || !window.Intl) return;
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone) return;
  var body = new URLSearchParams();
  body.append("time_zone", zone);
  window.fetch(script.getAttribute("data-url"), {
    method: "POST",
    credentials: "same-origin",
    // Refused with a redirect (a second factor still due): follow nothing. A page fetched in the
    // background would race the person's own requests for the session.
    redirect: "manual",
    headers: { "X-CSRFToken": script.getAttribute("data-csrf") },
    body: body,
  }).catch(function () {
    // Offline or refused: the next page asks again.
  });
})();
