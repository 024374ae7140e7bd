from django.urls import path

from portal.ui.urls import object_urls

from . import views

urlpatterns = [
    # Before the detail's tabs, which would take "password" for a tab's name.
    path("<int:pk>/password/", views.TrunkPasswordView.as_view(), name="trunk_password"),
    *object_urls(
        "trunk",
        list=views.TrunkListView,
        add=views.TrunkEditView,
        detail=views.TrunkDetailView,
        edit=views.TrunkEditView,
        action=views.TrunkActionView,
        bulk=views.TrunkBulkView,
    ),
]
