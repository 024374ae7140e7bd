from django.urls import path

from . import views

urlpatterns = [
    path("staff/branding/", views.branding_page, name="branding"),
    path("brand/<str:key>/theme.css", views.theme, name="brand_theme"),
    path("brand/<str:key>/logo", views.logo, name="brand_logo"),
]
