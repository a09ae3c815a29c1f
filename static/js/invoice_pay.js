// A card payment for an invoice that the customer's bank asks to confirm (3-D Secure): Stripe.js
// runs the check with the PaymentIntent's client secret, then the form posts back and the portal
// asks Stripe itself how the payment stands; what the browser reports is never taken as paid.
// Its words come translated from the form's data-msg-* attributes (the page's language).
(function () {
  "use strict";
  var form = document.getElementById("invoice-authenticate");
  if (!form || form.dataset.ready || typeof window.Stripe !== "function") return;
  form.dataset.ready = "yes";
  var stripe = window.Stripe(form.dataset.stripeKey);
  var errors = document.getElementById("authenticate-errors");
  var progress = document.getElementById("authenticate-progress");
  var button = document.getElementById("authenticate-button");
  var sent = false;

  form.addEventListener("submit", function (event) {
    if (sent) return;
    event.preventDefault();
    errors.textContent = "";
    button.disabled = true;
    progress.textContent = form.dataset.msgWaiting;
    // A charge Stripe refused off-session (authentication_required) is confirmed with the card
    // it was for; one that asks for 3-D Secure (requires_action) already carries it.
    var card = form.dataset.paymentMethod;
    var confirming = card
      ? stripe.confirmCardPayment(form.dataset.clientSecret, { payment_method: card })
      : stripe.confirmCardPayment(form.dataset.clientSecret);
    confirming.then(
      function (result) {
        if (result && result.error) {
          progress.textContent = form.dataset.msgChecking;
        } else {
          progress.textContent = form.dataset.msgRecording;
        }
        sent = true;
        form.submit();
      },
      function () {
        sent = true;
        form.submit();
      }
    );
  });
})();
