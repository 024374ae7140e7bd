from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("staff/", views.staff_home, name="staff_home"),
    path("staff/customers/", views.customer_list, name="customer_list"),
    path("staff/customers/<int:pk>/", views.customer_detail, name="customer_detail"),
    path("my/", views.selfservice_home, name="selfservice_home"),
]
