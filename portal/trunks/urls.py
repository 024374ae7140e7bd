from portal.ui.urls import object_urls

from . import views

urlpatterns = object_urls(
    "trunk",
    list=views.TrunkListView,
    add=views.TrunkEditView,
    detail=views.TrunkDetailView,
    edit=views.TrunkEditView,
    action=views.TrunkActionView,
    bulk=views.TrunkBulkView,
)
