"""The manager's branding page, and the theme and logo every branded page loads."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import quote_etag
from django.views.decorators.http import require_GET

from portal.tenancy.models import Reseller
from portal.tenancy.permissions import manager_required
from portal.ui.forms import add_refusal, national_format

from . import services
from .brand import brand_from
from .colours import darker
from .forms import DEFAULT_COLOUR, BrandingForm
from .images import extension_of
from .models import Branding

# A versioned URL (?v= the content's digest) never changes: browsers and proxies keep it.
FOREVER = "public, max-age=31536000, immutable"
A_WHILE = "public, max-age=300"


@manager_required
def branding_page(request):
    reseller = get_object_or_404(Reseller.objects.for_request(request), pk=request.access.reseller_id)
    branding = services.branding_of(reseller)
    initial = {
        "portal_name": branding.portal_name,
        "primary_colour": branding.primary_colour or DEFAULT_COLOUR,
        "support_email": branding.support_email,
        "support_phone": national_format(branding.support_phone) if branding.support_phone else "",
        "support_url": branding.support_url,
        "login_host": branding.login_host or "",
    }
    form = BrandingForm(request.POST or None, request.FILES or None, initial=initial)
    if not branding.logo_type:
        del form.fields["remove_logo"]  # nothing to remove
    if request.method == "POST" and form.is_valid():
        try:
            services.set_branding(reseller, actor=request.user, **form.values())
        except ValidationError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, "Branding saved: your customers see it on their next page.")
            return redirect("branding")
    context = {"form": form, "branding": branding, "preview": brand_from(branding, reseller.name),
               "title": "Branding", "reseller": reseller}
    return render(request, "branding/branding.html", context)


def _cached(request, response: HttpResponse, branding: Branding) -> HttpResponse:
    version = branding.version
    response["ETag"] = quote_etag(version)
    response["Cache-Control"] = FOREVER if request.GET.get("v") == version else A_WHILE
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@require_GET
def theme(request, key: str):
    """The reseller's colours as CSS custom properties (no inline style anywhere: CSP)."""
    branding = get_object_or_404(Branding.objects.defer("logo"), public_key=key)
    colour = branding.primary_colour
    css = f".brand-theme {{ --accent: {colour}; --accent-dark: {darker(colour)}; }}\n" if colour else ""
    return _cached(request, HttpResponse(css, content_type="text/css; charset=utf-8"), branding)


@require_GET
def logo(request, key: str):
    """The logo, as the image type its bytes are, in a response that can run nothing."""
    branding = get_object_or_404(Branding, public_key=key)
    if not branding.logo_type:
        raise Http404("No logo.")
    response = HttpResponse(bytes(branding.logo), content_type=branding.logo_type)
    response["Content-Disposition"] = f'inline; filename="logo.{extension_of(branding.logo_type)}"'
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return _cached(request, response, branding)
