from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import (
    account_views,
    activity_views,
    invitation_views,
    mfa_views,
    notification_views,
    support_views,
    views,
)

urlpatterns = [
    # The home page is the acting customer's dashboard: the orders app serves it, as "home".
    path("", include("orders.urls_home")),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("accounts/customer/", views.choose_customer, name="choose_customer"),
    # The second factor (portal/mfa.py): after the password, and the account's security page.
    path("accounts/mfa/verify/", mfa_views.mfa_verify, name="mfa_verify"),
    path("accounts/mfa/setup/", mfa_views.mfa_setup, name="mfa_setup"),
    path("account/security/", mfa_views.account_security, name="account_security"),
    path(
        "account/security/recovery-codes/",
        mfa_views.account_security_codes,
        name="account_security_codes",
    ),
    path("account/security/off/", mfa_views.account_security_off, name="account_security_off"),
    path(
        "account/security/requirement/",
        mfa_views.account_security_require,
        name="account_security_require",
    ),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("support/", support_views.support_home, name="support"),
    path(
        "support/impersonate/<int:membership_id>/",
        support_views.impersonate,
        name="support_impersonate",
    ),
    path("support/stop/", support_views.stop_impersonating, name="support_stop"),
    path("support/elevate/", support_views.elevate, name="support_elevate"),
    path("support/audit/", support_views.audit_log, name="support_audit"),
    path("account/", account_views.account, name="account"),
    path("account/time-zone/", account_views.account_time_zone, name="account_time_zone"),
    path("account/access-log/", support_views.access_log, name="access_log"),
    path("account/activity/", activity_views.activity_log, name="activity_log"),
    path("account/activity/export.csv", activity_views.activity_export, name="activity_export"),
    path(
        "account/notifications/",
        notification_views.notification_preferences,
        name="notification_preferences",
    ),
    path("invitations/<str:token>/", invitation_views.invitation, name="invitation"),
    path("", include("orders.urls")),
]

if settings.NUE_EMULATOR_ENABLED:
    urlpatterns.append(
        path(settings.NUE_EMULATOR_PREFIX.strip("/") + "/", include("nue_emulator.urls"))
    )

handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"
