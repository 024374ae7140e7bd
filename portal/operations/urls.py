from django.urls import include, path

from portal.ui.urls import object_urls

from . import views

urlpatterns = [
    path("staff/import/", views.CsvImportView.as_view(), name="csv_import"),
    path("staff/import/template/<slug:object_type>.csv", views.csv_template, name="csv_template"),
    path("staff/export/<slug:object_type>.csv", views.csv_export, name="csv_export"),
    path("staff/operations/<int:pk>/", views.OperationDetailView.as_view(), name="operation_detail"),
    path("staff/operations/<int:pk>/progress/", views.operation_progress, name="operation_progress"),
    path("staff/history/", views.AuditLogView.as_view(), name="audit_log"),
    path("staff/alerts/", include(object_urls("alert", list=views.AlertListView, action=views.AlertActionView,
                                              bulk=views.AlertBulkView))),
]
