"""The portal's home page, outside the "orders" namespace: the shell names it "home"."""

from django.urls import path

from orders import views

urlpatterns = [path("", views.home, name="home")]
