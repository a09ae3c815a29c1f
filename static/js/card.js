// The card form of the billing page: Stripe Elements collects the card and Stripe.js confirms a
// SetupIntent the portal created, so the number goes to Stripe only; the form then posts the
// SetupIntent's id, which the portal checks with Stripe before keeping the card.
// Its words come translated from the form's data-msg-* attributes (the page's language).
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form || form.dataset.ready || typeof window.Stripe !== "function") return;
  form.dataset.ready = "yes";
  var stripe = window.Stripe(form.dataset.stripeKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var errors = document.getElementById("card-errors");
  var progress = document.getElementById("card-progress");
  var button = document.getElementById("card-save");

  // The form keeps its own button state (data-allow-resubmit): a refused card or a
  // cancelled 3-D Secure challenge leaves it ready for another try.
  function busy(yes) {
    button.disabled = yes;
    if (yes) button.setAttribute("aria-disabled", "true");
    else button.removeAttribute("aria-disabled");
  }

  function fail(text) {
    errors.textContent = text;
    progress.textContent = "";
    busy(false);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errors.textContent = "";
    if (!document.getElementById("card-consent").checked) {
      fail(form.dataset.msgConsent);
      return;
    }
    busy(true);
    progress.textContent = form.dataset.msgChecking;
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
        if (result.error) {
          var message = (result.error && result.error.message) || form.dataset.msgRefused;
          fail(message + " " + form.dataset.msgNothingSaved);
          return;
        }
        document.getElementById("card-setup-intent").value = result.setupIntent.id;
        progress.textContent = form.dataset.msgSaving;
        form.submit();
      })
      .catch(function (error) { fail(error.message); });
  });
})();
