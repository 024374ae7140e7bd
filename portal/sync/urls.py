from django.urls import include, path

from portal.ui.urls import object_urls

from . import views

urlpatterns = [
    path("staff/sync/<int:pk>/retry/", views.job_retry, name="sync_job_retry"),  # before the job's tabs
    path("staff/sync/", include(object_urls(
        "sync_job", list=views.SyncJobListView, detail=views.SyncJobDetailView, action=views.SyncJobActionView,
        bulk=views.SyncJobBulkView,
    ))),
    path("sync/status/<str:kind>/<int:pk>/", views.object_status, name="sync_status"),
]
