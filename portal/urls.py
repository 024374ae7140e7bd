from django.contrib import admin
from django.urls import include, path

from portal.core.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("portal.accounts.urls")),  # first: it overrides one of allauth's pages
    path("accounts/", include("allauth.urls")),
    path("", include("portal.home.urls")),
    path("", include("portal.selfservice.urls")),
    path("", include("portal.branding.urls")),
    path("staff/customers/", include("portal.customers.urls")),
    path("staff/sip-accounts/", include("portal.subscribers.urls")),
    path("staff/numbers/", include("portal.numbers.urls")),
    path("staff/trunks/", include("portal.trunks.urls")),
    path("staff/carriers/", include("portal.carriers.urls")),
    path("", include("portal.operations.urls")),
    path("", include("portal.ui.urls")),
    path("", include("portal.sync.urls")),
    path("staff/api-tokens/", include("portal.apitokens.urls")),
    path("api/", include("portal.api.urls")),
]
