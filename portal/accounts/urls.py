from django.urls import path

from . import views

urlpatterns = [
    # Before allauth's own URLs (portal/urls.py), so that this one answers for its path.
    path("accounts/email/", views.email, name="account_email"),
    path("invite/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("staff/team/", views.team, name="team"),
    path("staff/team/mfa/", views.team_mfa, name="team_mfa"),
    path("staff/invitations/<int:pk>/revoke/", views.revoke_invitation, name="revoke_invitation"),
    path("staff/customers/<int:pk>/invite/", views.invite_customer_user, name="invite_customer_user"),
]
