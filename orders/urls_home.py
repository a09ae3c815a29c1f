"""The portal's home page, outside the "orders" namespace: the shell names it "home"."""

from django.urls import path

from orders.views import pages

urlpatterns = [path("", pages.home, name="home")]
