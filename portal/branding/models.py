from __future__ import annotations

import secrets

from django.db import models

from portal.tenancy.scoping import ScopedQuerySet


def new_public_key() -> str:
    return secrets.token_urlsafe(12)


class Branding(models.Model):
    """How a reseller's customers see the portal: its name, logo, colour and support contact.

    The logo is kept in the database (it is small), so every web process serves the same
    one without shared files. ``public_key`` names the theme and logo URLs: they need no
    login (the login page of a branded host shows them) and cannot be guessed from a
    reseller's id.
    """

    reseller = models.OneToOneField("tenancy.Reseller", on_delete=models.CASCADE, related_name="branding")
    portal_name = models.CharField(
        max_length=60, blank=True, help_text="What your customers see as the portal's name; your company name if empty."
    )
    primary_colour = models.CharField(
        max_length=7, blank=True,
        help_text="Buttons and links; the header uses a darker shade. Empty: the portal's blue.",
    )
    logo = models.BinaryField(blank=True, default=b"", editable=False)
    logo_type = models.CharField(max_length=16, blank=True, editable=False)
    support_email = models.EmailField(blank=True)
    support_phone = models.CharField(max_length=16, blank=True, help_text="As you would dial it.")
    support_url = models.URLField(blank=True, help_text="Your help or contact page.")
    login_host = models.CharField(
        max_length=253, blank=True, unique=True, null=True,
        help_text="A host name of your own for the portal (e.g. voice.example.com) whose login page shows this "
        "branding. It must point at the portal and be in its ALLOWED_HOSTS.",
    )
    public_key = models.CharField(max_length=32, unique=True, default=new_public_key, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    reseller_path = "reseller"
    customer_path = None  # customers see their branding on every page, never this record

    class Meta:
        verbose_name_plural = "branding"

    def __str__(self) -> str:
        return f"Branding of {self.reseller}"

    @property
    def version(self) -> str:
        """Changes whenever the branding is saved: the cache key of its theme and logo URLs.

        Read from the time of the change, so that a page need not load the logo to link it.
        """
        return f"{int(self.updated_at.timestamp() * 1_000_000):x}" if self.updated_at else "0"
