"""Isolation: every self-service URL pattern, given another customer's ids, answers 404.

The crawl reads the URL patterns themselves (a new page with an id in its path fails here
until the crawl knows which objects its id names), and tries each with the ids of a
customer of the same reseller and of another reseller, by GET and by POST, as the
customer's admin and as staff viewing as the customer. A customer user gets no staff
page and no admin page either.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from portal.selfservice import urls as selfservice_urls

pytestmark = pytest.mark.django_db

# What the id in each self-service path names, by the path's beginning.
ID_OF = {
    "my/numbers/": lambda found: [found["number"].pk, found["spare"].pk],
    "my/phones/": lambda found: [found["subscriber"].pk],
    "my/trunks/": lambda found: [found["trunk"].pk],
    "my/status/number": lambda found: [found["number"].pk],
    "my/status/phone": lambda found: [found["subscriber"].pk],
    "my/status/trunk": lambda found: [found["trunk"].pk],
    "my/account/invitations/": lambda found: [found["invitation"].pk],
    "my/account/colleagues/": lambda found: [found["admin"].pk, found["user"].pk],
}
STATUS_KINDS = ["number", "phone", "trunk", "number-forwards", "phone-forwards"]


def self_service_paths(found: dict) -> list[str]:
    """Every self-service path that names an object, filled with ``found``'s ids."""
    paths = []
    for pattern in selfservice_urls.urlpatterns:
        route = str(pattern.pattern)
        if not route.startswith("my/") or "<int:" not in route:
            continue
        routes = [route.replace("<slug:kind>", kind) for kind in STATUS_KINDS] if "<slug:kind>" in route else [route]
        for filled in routes:
            ids = next((ids for prefix, ids in ID_OF.items() if filled.startswith(prefix)), None)
            assert ids is not None, f"the isolation crawl does not know what the id of {route} names"
            for pk in ids(found):
                paths.append("/" + re.sub(r"<int:\w+>", str(pk), filled))
    return paths


def methods_of(path: str) -> list[str]:
    """The methods the page at ``path`` takes (a POST to a page that takes none is a 405 for any id)."""
    view = resolve(path).func.view_class
    return [method for method in ("get", "post") if hasattr(view, method) and method in view.http_method_names]


def test_the_crawl_covers_every_self_service_page_with_an_id(world):
    paths = self_service_paths(world["b"])
    for name in ("selfservice_number", "selfservice_number_forwards", "selfservice_number_routing",
                 "selfservice_phone", "selfservice_phone_forwards", "selfservice_phone_password",
                 "selfservice_phone_send", "selfservice_trunk", "selfservice_status", "selfservice_revoke_invitation",
                 "selfservice_remove_colleague"):
        route = str(next(p.pattern for p in selfservice_urls.urlpatterns if p.name == name))
        assert any(re.fullmatch("/" + re.sub(r"<\w+:\w+>", r"[\\w-]+", route), path) for path in paths), name


@pytest.mark.parametrize("other", ["b", "c"], ids=["same reseller", "other reseller"])
def test_another_customers_ids_answer_404_to_a_customer_admin(client, log_in, reauthenticated, world, other):
    log_in(world["a"]["admin"].user)
    reauthenticated()  # so that a password reset's re-authentication is not what stops it
    for path in self_service_paths(world[other]):
        for method in methods_of(path):
            response = getattr(client, method)(path, {"email": "x@example.com", "where": "destination",
                                                      "destination": "07911 123456"})
            assert response.status_code == 404, f"{method.upper()} {path}: {response.status_code}"
    # Nothing changed for the other customer.
    number = world[other]["number"]
    number.refresh_from_db()
    assert number.destination == "" and number.subscriber_id == world[other]["subscriber"].pk
    assert world[other]["subscriber"].settings_links.count() == 0


@pytest.mark.parametrize("other", ["b", "c"], ids=["same reseller", "other reseller"])
def test_staff_viewing_as_a_customer_reach_only_that_customer(client, log_in, viewing_as, reauthenticated, world,
                                                                other):
    log_in(world["manager"])
    reauthenticated()
    viewing_as(world["a"]["customer"])
    for path in self_service_paths(world[other]):
        for method in methods_of(path):
            response = getattr(client, method)(path, {"email": "x@example.com"})
            # Logins are not staff's to manage while viewing as (403), whoever's they are.
            assert response.status_code == (403 if "/account/" in path else 404), f"{method} {path}"
    for path in self_service_paths(world["a"]):
        if "/colleagues/" in path or "/invitations/" in path:
            assert client.get(path).status_code in (403, 405), path  # not theirs to manage while viewing as
        else:
            assert client.get(path).status_code == 200, path


def test_the_own_customers_pages_answer(client, log_in, world):
    log_in(world["a"]["admin"].user)
    for path in self_service_paths(world["a"]):
        if path.endswith("/remove/") and str(world["a"]["admin"].pk) in path:
            continue
        response = client.get(path)
        assert response.status_code in (200, 405), f"{path}: {response.status_code}"


def _patterns(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route


def _filled(route: str) -> str:
    route = route.lstrip("^").rstrip("$").replace("\\Z", "")
    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<(?:str|slug|path):\w+>", "x", route)
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)  # the admin's regex routes
    return "/" + route.replace("\\", "")


def test_a_customer_user_gets_no_staff_page_and_no_admin_page(client, log_in, world):
    routes = [route for route in _patterns(get_resolver())
              if route.startswith(("staff/", "admin/", "^admin/")) and "logout" not in route]
    assert len(routes) > 30
    log_in(world["a"]["admin"].user)
    for route in routes:
        path = _filled(route)
        for method in (client.get, client.post):
            response = method(path)
            said = f"{method.__name__.upper()} {path}: {response.status_code}"
            assert response.status_code in (302, 403, 404, 405), said
            if response.status_code == 302:  # the admin sends to its login, which refuses a logged-in customer
                final = client.get(response["Location"], follow=True)
                assert final.status_code == 403, f"{path} → {response['Location']}: {final.status_code}"
    assert client.get("/staff/").status_code == 403
    assert client.get(f"/staff/customers/{world['a']['customer'].pk}/").status_code == 403
