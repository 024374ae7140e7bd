"""``/api/v1/`` (the resources), ``/api/schema/`` (OpenAPI 3) and ``/api/docs/`` (Swagger UI)."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from .audit import AuditLogViewSet
from .carriers import CarrierAccountViewSet
from .customers import CustomerViewSet
from .forwards import ForwardViewSet
from .numbers import AvailableNumberViewSet, NumberViewSet
from .subscribers import SubscriberViewSet
from .sync import DriftViewSet, SyncJobViewSet
from .trunks import TrunkViewSet

router = DefaultRouter()
router.include_format_suffixes = False
router.register("customers", CustomerViewSet, basename="customer")
router.register("subscribers", SubscriberViewSet, basename="subscriber")
router.register("numbers", NumberViewSet, basename="number")
router.register("available-numbers", AvailableNumberViewSet, basename="available-number")
router.register("trunks", TrunkViewSet, basename="trunk")
router.register("forwards", ForwardViewSet, basename="forward")
router.register("carrier-accounts", CarrierAccountViewSet, basename="carrier-account")
router.register("sync-jobs", SyncJobViewSet, basename="sync-job")
router.register("drift", DriftViewSet, basename="drift")
router.register("audit-log", AuditLogViewSet, basename="audit-log-entry")


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@permission_classes([AllowAny])
@authentication_classes([])
@throttle_classes([])
def no_such_resource(request):
    raise NotFound("There is no such resource: see /api/docs/ for the ones there are.")


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the installed package (no CDN); its start-up script is a file of its own
    (``?script``), so the page runs under a Content-Security-Policy without inline scripts."""

    template_name = "api/docs.html"
    title = "Reseller Portal API"


app_name = "api"
urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^v1/", no_such_resource),  # a JSON 404 in the API's shape, not the site's HTML page
]
