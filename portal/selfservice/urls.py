from django.urls import path

from . import views

urlpatterns = [
    path("my/", views.HomeView.as_view(), name="selfservice_home"),
    path("my/numbers/<int:pk>/", views.NumberPage.as_view(), name="selfservice_number"),
    path("my/numbers/<int:pk>/forwards/", views.NumberForwardsView.as_view(), name="selfservice_number_forwards"),
    path("my/numbers/<int:pk>/routing/", views.RoutingView.as_view(), name="selfservice_number_routing"),
    path("my/phones/<int:pk>/", views.PhonePage.as_view(), name="selfservice_phone"),
    path("my/phones/<int:pk>/forwards/", views.PhoneForwardsView.as_view(), name="selfservice_phone_forwards"),
    path("my/phones/<int:pk>/password/", views.PasswordResetView.as_view(), name="selfservice_phone_password"),
    path("my/phones/<int:pk>/send-settings/", views.SendSettingsView.as_view(), name="selfservice_phone_send"),
    path("my/trunks/<int:pk>/", views.TrunkPage.as_view(), name="selfservice_trunk"),
    path("my/shown-once/<str:token>/", views.ShownOnceView.as_view(), name="selfservice_secret"),
    path("my/activity/", views.ActivityView.as_view(), name="selfservice_activity"),
    path("my/account/", views.AccountView.as_view(), name="selfservice_account"),
    path("my/account/colleagues/", views.ColleaguesView.as_view(), name="selfservice_invite"),
    path("my/account/invitations/<int:pk>/revoke/", views.RevokeInvitationView.as_view(),
         name="selfservice_revoke_invitation"),
    path("my/account/colleagues/<int:pk>/remove/", views.RemoveColleagueView.as_view(),
         name="selfservice_remove_colleague"),
    path("my/status/<slug:kind>/<int:pk>/", views.StatusView.as_view(), name="selfservice_status"),
    path("staff/customers/<int:pk>/view-as/", views.view_as_start, name="view_as_start"),
    path("staff/view-as/stop/", views.view_as_stop, name="view_as_stop"),
    path("phone-settings/<str:token>/", views.phone_settings, name="phone_settings"),
]
