from django.urls import path

from portal.ui.urls import object_urls

from . import views

urlpatterns = [
    path("<int:pk>/logins/<int:login_pk>/role/", views.login_role, name="customer_login_role"),
    path("<int:pk>/logins/<int:login_pk>/remove/", views.login_remove, name="customer_login_remove"),
] + object_urls(
    "customer",
    list=views.CustomerListView,
    add=views.CustomerEditView,
    detail=views.CustomerDetailView,
    edit=views.CustomerEditView,
    action=views.CustomerActionView,
    bulk=views.CustomerBulkView,
)
