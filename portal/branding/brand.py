"""The brand a page is shown under: the reseller's for its customers, the platform's for staff.

A customer never sees the platform's or another reseller's name. A customer user's pages
(and staff viewing as the customer) carry the customer's reseller's brand; a page that
belongs to one reseller without a login (an invitation, a phone-settings link) names that
reseller in ``request.brand_reseller``; the login page of a reseller's own host name shows
that reseller's brand; any other page seen without a login names nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from portal.ui.forms import national_format

from .models import Branding

PLATFORM_NAME = "Reseller Portal"


@dataclass(frozen=True)
class Brand:
    name: str = ""
    theme_url: str = ""
    logo_url: str = ""
    support_email: str = ""
    support_phone: str = ""
    support_url: str = ""
    is_platform: bool = False

    @property
    def support_phone_words(self) -> str:
        return national_format(self.support_phone) if self.support_phone else ""

    @property
    def has_support(self) -> bool:
        return bool(self.support_email or self.support_phone or self.support_url)


NEUTRAL = Brand()
PLATFORM = Brand(name=PLATFORM_NAME, is_platform=True)


def brand_from(branding: Branding | None, reseller_name: str) -> Brand:
    if branding is None or branding.pk is None:
        return Brand(name=reseller_name)
    version = branding.version
    return Brand(
        name=branding.portal_name or reseller_name,
        theme_url=(f"{reverse('brand_theme', args=[branding.public_key])}?v={version}"
                   if branding.primary_colour else ""),
        logo_url=f"{reverse('brand_logo', args=[branding.public_key])}?v={version}" if branding.logo_type else "",
        support_email=branding.support_email,
        support_phone=branding.support_phone,
        support_url=branding.support_url,
    )


def brand_of_reseller(reseller_id: int) -> Brand:
    from portal.tenancy.models import Reseller

    branding = Branding.objects.select_related("reseller").defer("logo").filter(reseller_id=reseller_id).first()
    if branding is not None:
        return brand_from(branding, branding.reseller.name)
    name = Reseller.objects.filter(pk=reseller_id).values_list("name", flat=True).first()
    return Brand(name=name or "")


def _brand_of_host(host: str) -> Brand:
    name = host.split(":")[0].lower().rstrip(".")
    branding = (Branding.objects.select_related("reseller").defer("logo").filter(login_host=name).first()
                if name else None)
    return brand_from(branding, branding.reseller.name) if branding is not None else NEUTRAL


def brand_for_request(request) -> Brand:
    cached = getattr(request, "_brand", None)
    if cached is not None:
        return cached
    access = getattr(request, "access", None)
    reseller_id = getattr(request, "brand_reseller_id", None)
    if access is not None and access.is_customer_user:
        brand = brand_of_reseller(access.reseller_id)
    elif reseller_id is not None:
        brand = brand_of_reseller(reseller_id)
    elif access is not None and (access.is_staff or access.is_platform_admin):
        brand = PLATFORM
    else:
        brand = _brand_of_host(request.get_host())
    request._brand = brand
    return brand


def context_processor(request) -> dict:
    return {"brand": brand_for_request(request)}
