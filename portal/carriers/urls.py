from portal.ui.urls import object_urls

from . import views

urlpatterns = object_urls(
    "carrier_account",
    list=views.CarrierAccountListView,
    add=views.CarrierAccountEditView,
    detail=views.CarrierAccountDetailView,
    edit=views.CarrierAccountEditView,
    action=views.CarrierAccountActionView,
    bulk=views.CarrierAccountBulkView,
)
