from django.urls import path

from . import views

urlpatterns = [
    path("staff/sync/", views.job_list, name="sync_job_list"),
    path("staff/sync/<int:pk>/retry/", views.job_retry, name="sync_job_retry"),
    path("sync/status/<str:kind>/<int:pk>/", views.object_status, name="sync_status"),
]
