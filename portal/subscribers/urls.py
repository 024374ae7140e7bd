from django.urls import path

from portal.forwards.views import SubscriberForwardsView
from portal.ui.urls import object_urls

from . import views

urlpatterns = [
    path("<int:pk>/forwards/edit/", SubscriberForwardsView.as_view(), name="subscriber_forwards"),
    *object_urls(
        "subscriber",
        list=views.SubscriberListView,
        add=views.SubscriberEditView,
        detail=views.SubscriberDetailView,
        edit=views.SubscriberEditView,
        action=views.SubscriberActionView,
        bulk=views.SubscriberBulkView,
    ),
]
