// The card form of the billing page: Stripe Elements collects the card, and the shared card
// step (card_setup.js) confirms it with Stripe before the portal keeps it.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form || form.dataset.ready || typeof window.Stripe !== "function") return;
  form.dataset.ready = "yes";
  var stripe = window.Stripe(form.dataset.stripeKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var step = window.portalCardSetup(form, stripe, card, {
    errors: document.getElementById("card-errors"),
    progress: document.getElementById("card-progress"),
    button: document.getElementById("card-save"),
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    step.confirm();
  });
})();
