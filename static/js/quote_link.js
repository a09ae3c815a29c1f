// Quote links: a "Copy link" button next to the read-only URL, with a visible "Copied" status.
// Delegated from the document so a panel swapped in by htmx works without re-binding.
(function () {
  "use strict";
  if (window.quoteLinkCopy) return;
  window.quoteLinkCopy = true;

  function reveal(root) {
    // The button needs the Clipboard API; without it the field stays selectable by hand.
    if (!navigator.clipboard) return;
    root.querySelectorAll("[data-copy-target][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  function say(statusId, text) {
    var status = document.getElementById(statusId);
    if (!status) return;
    status.textContent = text;
    window.clearTimeout(status.quoteLinkTimer);
    status.quoteLinkTimer = window.setTimeout(function () { status.textContent = ""; }, 4000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy-target]") : null;
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    var statusId = button.getAttribute("data-copy-status");
    if (!field) return;
    navigator.clipboard.writeText(field.value).then(
      function () { say(statusId, button.dataset.msgCopied); },
      function () {
        field.select();
        say(statusId, button.dataset.msgNotCopied);
      }
    );
  });

  document.addEventListener("focusin", function (event) {
    if (event.target instanceof HTMLInputElement && event.target.classList.contains("quote-link__url")) {
      event.target.select();
    }
  });

  // An outerHTML swap replaces the target, so look at the whole document again.
  document.addEventListener("htmx:afterSettle", function () { reveal(document); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  } else {
    reveal(document);
  }
})();
