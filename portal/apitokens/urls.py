from portal.ui.urls import object_urls

from . import views

urlpatterns = object_urls(
    "apitoken",
    list=views.TokenListView,
    add=views.TokenCreateView,
    detail=views.TokenDetailView,
    action=views.TokenActionView,
)
