"""The orders app's views: thin typed functions that check access, validate a form, call an
action (orders.actions) or the acting customer's scope (`request.nue`), and render.

common.py holds what every view module shares (the partial-or-page test, the HTMX-aware
redirect, the acting customer's scope); panels.py what a draft's panels show; errors.py how a
Nue failure becomes a response.
"""
