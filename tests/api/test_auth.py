"""Who gets in: tokens (valid, malformed, unknown, expired, revoked, from a disallowed address,
read-only), the session with CSRF, customer logins, the per-token throttle, pepper rotation."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from portal.apitokens.models import ApiToken
from portal.apitokens.services import create_token, revoke_token
from portal.customers.models import Customer
from portal.tenancy.models import StaffMembership
from tests.factories import CustomerUserFactory

from .conftest import token_for

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"


def new_customer(world) -> dict:
    return {"name": "Harbour Dental", "carrier_account": world["a"]["account"].pk}


def test_a_token_lets_its_user_in_with_the_users_scope(api, world):
    response = api.as_(world["a"]["token"]).get(CUSTOMERS)
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["results"]] == ["Anchor Clinic"]
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("header", [
    None,
    "Bearer",
    "Bearer a b",
    "Bearer not-a-token",
    "Bearer rpt_000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # well formed, unknown
    "Token rpt_x",
    "Bearer rpt_ünïcödé",
])
def test_no_or_a_bad_token_is_401_in_the_error_shape(api, world, header):
    if header:
        api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get(CUSTOMERS)
    assert response.status_code == 401, header
    body = response.json()
    assert set(body) == {"code", "detail", "fields", "errors"}
    assert body["code"] in ("not_authenticated", "authentication_failed")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_right_key_with_a_wrong_secret_is_401(api, world):
    plaintext = world["a"]["token"]
    forged = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")
    assert api.as_(forged).get(CUSTOMERS).status_code == 401


def test_an_expired_token_is_401(api, world, expired_token):
    response = api.as_(expired_token).get(CUSTOMERS)
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


def test_a_revoked_token_is_401_from_the_next_request_on(api, world):
    token = world["a"]["token"]
    assert api.as_(token).get(CUSTOMERS).status_code == 200
    revoke_token(ApiToken.objects.get(key=token[4:16]), actor=world["a"]["agent"])
    response = api.get(CUSTOMERS)
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"


def test_a_token_of_a_deactivated_user_is_401(api, world):
    world["a"]["agent"].is_active = False
    world["a"]["agent"].save()
    assert api.as_(world["a"]["token"]).get(CUSTOMERS).status_code == 401


def test_a_token_from_an_address_it_does_not_allow_is_403(world):
    plaintext = create_token(world["a"]["agent"], description="Billing", write_enabled=True,
                             allowed_ips=["198.51.100.0/24", "2001:db8::7"]).plaintext
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    refused = client.get(CUSTOMERS, REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 403
    assert refused.json()["code"] == "ip_not_allowed"
    assert client.get(CUSTOMERS, REMOTE_ADDR="198.51.100.77").status_code == 200
    assert client.get(CUSTOMERS, REMOTE_ADDR="2001:db8::7").status_code == 200
    token = ApiToken.objects.get(key=plaintext[4:16])
    assert token.last_used_ip == "2001:db8::7" and token.last_used_at is not None


def test_a_read_only_token_reads_and_cannot_write(api, world):
    api.as_(world["a"]["read_token"])
    assert api.get(CUSTOMERS).status_code == 200
    for method, path in [("post", CUSTOMERS), ("patch", f"{CUSTOMERS}{world['a']['customer'].pk}/"),
                         ("delete", f"{CUSTOMERS}{world['a']['customer'].pk}/"),
                         ("post", f"{CUSTOMERS}{world['a']['customer'].pk}/sync/")]:
        response = getattr(api, method)(path, new_customer(world))
        assert response.status_code == 403, (method, path)
        assert response.json()["code"] == "read_only_token"
    assert Customer.objects.filter(name="Harbour Dental").count() == 0


def test_customer_logins_and_staff_without_a_reseller_are_refused(api, world):
    customer_token = token_for(world["a"]["customer_user"])
    response = api.as_(customer_token).get(CUSTOMERS)
    assert response.status_code == 403
    assert response.json()["detail"] == "The API is for reseller staff."
    StaffMembership.objects.filter(user=world["a"]["agent"]).delete()  # left the reseller
    assert api.as_(world["a"]["token"]).get(CUSTOMERS).status_code == 403


def test_the_session_works_with_csrf_and_not_without(world):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world["a"]["agent"])
    assert client.get(CUSTOMERS).status_code == 200
    refused = client.post(CUSTOMERS, new_customer(world), format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    client.get("/staff/customers/")  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    created = client.post(CUSTOMERS, new_customer(world), format="json", HTTP_X_CSRFTOKEN=token)
    assert created.status_code == 201, created.json()


@override_settings(API_THROTTLE_RATE="3/min")
def test_each_token_has_its_own_budget_and_is_told_when_to_come_back(api, world):
    for _ in range(3):
        assert api.as_(world["a"]["token"]).get(CUSTOMERS).status_code == 200
    throttled = api.get(CUSTOMERS)
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert 0 < int(throttled["Retry-After"]) <= 60
    # A colleague's token (or the same user's other token) is not held back.
    assert api.as_(world["a"]["manager_token"]).get(CUSTOMERS).status_code == 200
    assert api.as_(world["a"]["read_token"]).get(CUSTOMERS).status_code == 200


def test_only_a_digest_of_the_secret_is_stored(world):
    issued = create_token(world["a"]["agent"], description="Billing")
    secret = issued.plaintext.split(".", 1)[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM apitokens_apitoken WHERE id = %s", [issued.token.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert secret not in row and issued.plaintext not in row
    assert issued.token.digest and len(issued.token.digest) == 64


def test_peppers_rotate_and_tokens_move_to_the_new_one_as_they_are_used(api, world):
    old, new = "1:" + "o" * 40, "2:" + "n" * 40
    with override_settings(API_TOKEN_PEPPERS=[old]):
        issued = create_token(world["a"]["agent"], description="Billing")
        assert issued.token.pepper_id == "1"
    with override_settings(API_TOKEN_PEPPERS=[new, old]):  # the new one first: it digests from now on
        assert api.as_(issued.plaintext).get(CUSTOMERS).status_code == 200
        issued.token.refresh_from_db()
        assert issued.token.pepper_id == "2"
    with override_settings(API_TOKEN_PEPPERS=[new]):  # the old one retired: the token moved, it still works
        assert api.as_(issued.plaintext).get(CUSTOMERS).status_code == 200
    with override_settings(API_TOKEN_PEPPERS=["3:" + "x" * 40]):  # its pepper gone: the token is dead
        assert api.as_(issued.plaintext).get(CUSTOMERS).status_code == 401


def test_last_use_is_written_at_most_once_a_minute(api, world):
    token = ApiToken.objects.get(key=world["a"]["token"][4:16])
    api.as_(world["a"]["token"]).get(CUSTOMERS)
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and (timezone.now() - first).total_seconds() < 5
    api.get(CUSTOMERS)
    token.refresh_from_db()
    assert token.last_used_at == first


def test_a_customer_users_token_cannot_be_made_on_the_pages(client, world):
    client.force_login(CustomerUserFactory(customer=world["a"]["customer"]).user)
    assert client.get("/staff/api-tokens/").status_code == 403


def test_without_peppers_of_its_own_a_token_survives_a_secret_key_rotation(api, world):
    old, new = "old-" + "s" * 50, "new-" + "s" * 50
    with override_settings(API_TOKEN_PEPPERS=[], SECRET_KEY=old, SECRET_KEY_FALLBACKS=[]):
        issued = create_token(world["a"]["agent"], description="Billing")
        old_pepper = issued.token.pepper_id
    with override_settings(API_TOKEN_PEPPERS=[], SECRET_KEY=new, SECRET_KEY_FALLBACKS=[old]):  # Django's rotation
        assert api.as_(issued.plaintext).get(CUSTOMERS).status_code == 200
        issued.token.refresh_from_db()
        assert issued.token.pepper_id != old_pepper  # moved to the new key's pepper as it was used
    with override_settings(API_TOKEN_PEPPERS=[], SECRET_KEY=new, SECRET_KEY_FALLBACKS=[]):  # the old key retired
        assert api.as_(issued.plaintext).get(CUSTOMERS).status_code == 200


@pytest.mark.parametrize("with_app", [False, True])
def test_a_token_and_its_users_scope_are_read_in_one_query(world, with_app):
    from allauth.mfa.models import Authenticator
    from django.test.utils import CaptureQueriesContext

    from portal.apitokens.services import check_token
    from portal.tenancy.scoping import access_for

    a = world["a"]
    if with_app:
        Authenticator.objects.create(user=a["agent"], type=Authenticator.Type.TOTP, data={"secret": "x"})
    with CaptureQueriesContext(connection) as queries:
        token = check_token(a["token"], ip="127.0.0.1")
        access = access_for(token.user)
    assert (access.reseller_id, access.role, access.has_mfa) == (a["reseller"].pk, "agent", with_app)
    assert access.reseller == a["reseller"]
    reads = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]
    assert len(reads) == 1, reads
