from django.urls import path

from portal.forwards.views import NumberForwardsView
from portal.ui.urls import object_urls

from . import views

urlpatterns = [
    path("get/", views.NumberGetView.as_view(), name="number_get"),
    path("<int:pk>/route/", views.NumberRoutingView.as_view(), name="number_edit"),
    path("<int:pk>/emergency-address/", views.EmergencyAddressView.as_view(), name="number_emergency"),
    path("<int:pk>/forwards/edit/", NumberForwardsView.as_view(), name="number_forwards"),
    *object_urls(
        "number",
        list=views.NumberListView,
        detail=views.NumberDetailView,
        action=views.NumberActionView,
        bulk=views.NumberBulkView,
    ),
]
