// Small progressive enhancements. Loaded with the CSP nonce; no inline script anywhere.
(function () {
  "use strict";

  // A submit button disables itself while its form is in flight, so a double click sends once.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.hasAttribute("data-allow-resubmit")) return;
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (button) {
        button.setAttribute("aria-disabled", "true");
        button.disabled = true;
      });
    }, 0);
  });

  // Re-enable buttons when htmx finishes (the form stays on the page after a swap).
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!(elt instanceof HTMLFormElement)) return;
    elt.querySelectorAll("button[aria-disabled=true]").forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("aria-disabled");
    });
  });

  // Back/forward restores a page from the browser cache with disabled buttons; undo that.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("button[aria-disabled=true]").forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("aria-disabled");
    });
  });
})();
