from portal.ui.urls import object_urls

from . import views

urlpatterns = object_urls(
    "customer",
    list=views.CustomerListView,
    add=views.CustomerEditView,
    detail=views.CustomerDetailView,
    edit=views.CustomerEditView,
    action=views.CustomerActionView,
    bulk=views.CustomerBulkView,
)
