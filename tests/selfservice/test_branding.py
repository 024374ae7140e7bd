"""Branding: a manager sets the portal name, colour, logo and support contact; customers see
only their reseller's brand, never the platform's or another reseller's name."""

from __future__ import annotations

import re
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.branding.models import Branding
from portal.branding.services import set_branding

pytestmark = pytest.mark.django_db

PLATFORM = "Reseller Portal"


def png(width: int = 120, height: int = 40) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x0f\x76\x6e" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def post(client, **changes):
    data = {"portal_name": "Northwind Voice", "primary_colour": "#0f766e", "support_email": "help@northwind.example",
            "support_phone": "020 7946 0999", "support_url": "", "login_host": ""}
    data.update(changes)
    return client.post("/staff/branding/", data)


def test_a_manager_brands_the_customers_pages(client, log_in, world):
    log_in(world["manager"])
    logo = SimpleUploadedFile("logo.png", png(), content_type="image/png")
    response = post(client, logo=logo)
    assert response.status_code == 302
    branding = Branding.objects.get(reseller=world["reseller"])
    assert (branding.portal_name, branding.primary_colour, branding.logo_type) == ("Northwind Voice", "#0f766e",
                                                                                  "image/png")
    assert branding.support_phone == "+442079460999"
    client.logout()
    log_in(world["a"]["user"].user)
    html = client.get("/my/").content.decode()
    assert "<title>Your services · Northwind Voice</title>" in html
    assert PLATFORM not in html and "Acme Voice" not in html
    theme = re.search(r'href="(/brand/[\w-]+/theme\.css\?v=\w+)"', html).group(1)
    logo_url = re.search(r'src="(/brand/[\w-]+/logo\?v=\w+)"', html).group(1)
    assert 'class="brand-theme"' in html and "020 7946 0999" in html  # the support contact, as dialled at home

    css = client.get(theme)
    assert css["Content-Type"] == "text/css; charset=utf-8"
    assert css["Cache-Control"] == "public, max-age=31536000, immutable"  # not no-store: it is nobody's secret
    assert b"--accent: #0f766e" in css.content
    image = client.get(logo_url)
    assert image["Content-Type"] == "image/png" and image.content == png()
    assert image["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert image["X-Content-Type-Options"] == "nosniff"
    # An old version's URL is not cached for long.
    assert client.get(theme.split("?")[0] + "?v=old")["Cache-Control"] == "public, max-age=300"


@pytest.mark.parametrize("upload, words", [
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     "SVG and other documents can carry scripts"),
    (b"<svg onload=alert(1)>", "SVG and other documents can carry scripts"),
    (b"GIF89a" + b"\x00" * 10 + b"<script>", "damaged"),
    (b"MZ\x90\x00 not an image", "not a PNG, JPEG, GIF or WebP"),
    (png(3000, 10), "at most 2000 on each side"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * (201 * 1024), "at most 200 KB"),
])
def test_a_logo_that_is_not_a_small_image_is_refused_and_nothing_changes(client, log_in, world, upload, words):
    set_branding(world["reseller"], portal_name="Northwind Voice")
    log_in(world["manager"])
    logo = SimpleUploadedFile("logo.png", upload, content_type="image/png")
    response = post(client, portal_name="Changed", logo=logo)
    assert response.status_code == 200
    field = response.content.decode().split('class="field field-logo"')[1].split('class="field field-support_email"')[0]
    assert words in field
    branding = Branding.objects.get(reseller=world["reseller"])
    assert branding.portal_name == "Northwind Voice" and not branding.logo_type


def test_a_colour_too_light_for_white_text_is_refused(client, log_in, world):
    log_in(world["manager"])
    response = post(client, primary_colour="#ffd966")
    assert response.status_code == 200
    assert "hard to read" in response.content.decode()
    assert not Branding.objects.filter(reseller=world["reseller"]).exists()


def test_only_managers_of_the_reseller_brand_it(client, log_in, world):
    log_in(world["agent"])
    assert client.get("/staff/branding/").status_code == 403
    client.logout()
    log_in(world["a"]["admin"].user)
    assert client.get("/staff/branding/").status_code == 403


def test_without_branding_customers_see_their_resellers_name(client, log_in, world):
    log_in(world["c"]["user"].user)
    html = client.get("/my/").content.decode()
    assert "· Acme Voice</title>" in html and PLATFORM not in html and "Northwind" not in html
    assert 'class="brand-theme"' not in html  # the portal's own colours


def test_error_pages_and_login_pages_name_no_platform(client, log_in, world, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "voice.northwind.example"]
    set_branding(world["reseller"], portal_name="Northwind Voice", login_host="voice.northwind.example")
    log_in(world["a"]["user"].user)
    for path, status in (("/my/numbers/999999/", 404), ("/staff/", 403), ("/no/such/page/", 404)):
        response = client.get(path)
        assert response.status_code == status
        assert PLATFORM not in response.content.decode() and "Northwind Voice" in response.content.decode()
    client.logout()
    login = client.get("/accounts/login/").content.decode()
    assert PLATFORM not in login and "Northwind" not in login  # whose customer is at the door is unknown
    branded = client.get("/accounts/login/", HTTP_HOST="voice.northwind.example").content.decode()
    assert "Northwind Voice" in branded and PLATFORM not in branded


def test_the_server_error_page_names_nobody(client):
    from django.template.loader import get_template

    html = get_template("500.html").render()
    assert PLATFORM not in html and "<title>Something went wrong</title>" in html


def test_a_customers_authenticator_app_shows_the_resellers_portal_name(client, log_in, world):
    set_branding(world["reseller"], portal_name="Northwind Voice")
    log_in(world["a"]["user"].user)
    url = client.get("/accounts/2fa/totp/activate/").context["totp_url"]  # what the QR code holds
    assert "issuer=Northwind%20Voice" in url and "Reseller" not in url
