// The card step shared by the billing page's card form and a quote's acceptance: Stripe.js
// confirms a SetupIntent the portal creates (data-setup-url), so the number goes to Stripe only;
// the form then posts the SetupIntent's id (#card-setup-intent), which the portal checks with
// Stripe itself. Its words come translated from the form's data-msg-* attributes.
(function () {
  "use strict";
  window.portalCardSetup = function (form, stripe, card, ui) {
    // The form keeps its own button state (data-allow-resubmit): a refused card or a
    // cancelled 3-D Secure challenge leaves it ready for another try.
    function busy(yes) {
      ui.button.disabled = yes;
      if (yes) ui.button.setAttribute("aria-disabled", "true");
      else ui.button.removeAttribute("aria-disabled");
    }

    function fail(text) {
      ui.errors.textContent = text;
      ui.progress.textContent = "";
      busy(false);
    }

    function confirm() {
      ui.errors.textContent = "";
      if (!document.getElementById("card-consent").checked) {
        fail(form.dataset.msgConsent);
        return;
      }
      busy(true);
      ui.progress.textContent = form.dataset.msgChecking;
      var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
      fetch(form.dataset.setupUrl, {
        method: "POST",
        headers: { "X-CSRFToken": token },
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (body) {
            if (!response.ok || !body.clientSecret) {
              throw new Error(body.error || form.dataset.msgUnavailable);
            }
            return stripe.confirmCardSetup(body.clientSecret, { payment_method: { card: card } });
          });
        })
        .then(function (result) {
          if (!result) return;
          if (result.error) {
            var message = result.error.message || form.dataset.msgRefused;
            fail(message + " " + form.dataset.msgNothingDone);
            return;
          }
          document.getElementById("card-setup-intent").value = result.setupIntent.id;
          ui.progress.textContent = form.dataset.msgSubmitting;
          form.submit();
        })
        .catch(function (error) { fail(error.message); });
    }

    return { busy: busy, fail: fail, confirm: confirm };
  };
})();
