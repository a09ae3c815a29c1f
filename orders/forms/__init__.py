"""The orders app's forms: they validate what a person typed into the typed values the actions
take (orders.actions), and carry Nue's validation errors back to the fields. What a form offers
(its choices, what a subscription allows) is computed by an action and handed in by the view.
"""
