// Accepting a quote (quotes/page.html). Where the tenant collects by card, the card step is the
// billing page's: Stripe Elements collects the card and Stripe.js confirms a SetupIntent the
// portal created for the customer, so the number goes to Stripe only; the form then posts the
// SetupIntent's id, which the portal checks with Stripe before anything is ordered. Paying by
// invoice needs no script: the form posts as it is.
(function () {
  "use strict";
  var form = document.getElementById("quote-accept-form");
  if (!form || form.dataset.ready) return;
  form.dataset.ready = "yes";
  var step = document.getElementById("quote-card-step");
  var button = document.getElementById("quote-accept");
  var progress = document.getElementById("quote-progress");
  if (!step) return;
  var errors = document.getElementById("card-errors");
  var card = null;
  var stripe = null;
  if (typeof window.Stripe === "function") {
    stripe = window.Stripe(form.dataset.stripeKey);
    card = stripe.elements().create("card");
    card.mount("#card-element");
  }

  function paysByCard() {
    var chosen = form.querySelector("input[name=pay]:checked");
    return chosen !== null && chosen.value === "card";
  }

  function showStep() {
    step.hidden = !paysByCard();
  }
  form.querySelectorAll("input[name=pay]").forEach(function (radio) {
    radio.addEventListener("change", showStep);
  });
  showStep();

  // The form keeps its own button state (data-allow-resubmit): a refused card or a cancelled
  // 3-D Secure challenge leaves it ready for another try.
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
    if (!paysByCard()) {
      busy(true);
      return;
    }
    event.preventDefault();
    errors.textContent = "";
    if (!stripe) {
      fail(form.dataset.msgNoCardField);
      return;
    }
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
        if (!result) return;
        if (result.error) {
          var message = (result.error && result.error.message) || form.dataset.msgRefused;
          fail(message + " " + form.dataset.msgNothingOrdered);
          return;
        }
        document.getElementById("card-setup-intent").value = result.setupIntent.id;
        progress.textContent = form.dataset.msgPlacing;
        form.submit();
      })
      .catch(function (error) { fail(error.message); });
  });
})();
