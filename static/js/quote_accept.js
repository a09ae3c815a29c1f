// Accepting a quote (quotes/page.html). Where the tenant collects by card, the card step is the
// billing page's (card_setup.js): the portal checks the confirmed card with Stripe before
// anything is ordered. Paying by invoice needs no script: the form posts as it is.
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

  var cardStep = window.portalCardSetup(form, stripe, card, {
    errors: errors,
    progress: progress,
    button: button,
  });

  form.addEventListener("submit", function (event) {
    if (!paysByCard()) {
      cardStep.busy(true);
      return;
    }
    event.preventDefault();
    if (!stripe) {
      errors.textContent = "";
      cardStep.fail(form.dataset.msgNoCardField);
      return;
    }
    cardStep.confirm();
  });
})();
