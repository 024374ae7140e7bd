from django.urls import include, path

from portal.ui.urls import object_urls

from . import views

urlpatterns = [
    path("staff/sync/<int:pk>/retry/", views.job_retry, name="sync_job_retry"),  # before the job's tabs
    path("staff/sync/", include(object_urls(
        "sync_job", list=views.SyncJobListView, detail=views.SyncJobDetailView, action=views.SyncJobActionView,
        bulk=views.SyncJobBulkView,
    ))),
    path("staff/sync/drift/", views.drift_accounts, name="drift_accounts"),
    path("staff/sync/drift/bulk/", views.DriftBulkView.as_view(), name="drift_bulk"),
    path("staff/sync/drift/item/<int:pk>/", views.DriftDetailView.as_view(), name="drift_detail"),
    path("staff/sync/drift/item/<int:pk>/do/<slug:action>/", views.DriftActionView.as_view(), name="drift_action"),
    path("staff/sync/drift/<int:account>/", views.DriftListView.as_view(), name="drift_list"),
    path("staff/sync/drift/<int:account>/reconcile/", views.reconcile_now, name="reconcile_now"),
    path("staff/sync/drift/<int:account>/progress/", views.reconcile_progress, name="reconcile_progress"),
    path("staff/sync/drift/<int:account>/resolve/", views.drift_resolve_all, name="drift_resolve_all"),
    path("staff/sync/import/<int:account>/", views.carrier_import, name="carrier_import"),
    path("sync/status/<str:kind>/<int:pk>/", views.object_status, name="sync_status"),
]
