from django.urls import path

from himaya.accounts import token_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/code/", views.login_otp_view, name="login_otp"),
    path("login/enrol/", views.enrol_view, name="enrol"),
    path("logout/", views.logout_view, name="logout"),
    path("step-up/", views.step_up_view, name="step_up"),
    path("roles/", views.choose_membership_view, name="choose_membership"),
    path("tokens/", token_views.tokens_view, name="tokens"),
    path("tokens/<int:token_id>/revoke/", token_views.token_revoke_view, name="token_revoke"),
]
