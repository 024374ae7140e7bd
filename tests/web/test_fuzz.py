"""Bad values in every form and query parameter of the admin and the staff pages: never a 500.

Nothing here names a page or a field. The pages are found from the URL patterns (every
pattern under ``staff/`` and ``my/``, with path parameters filled from objects that
exist) and from the admin's registry (every model admin: its list with each filter,
ordering and search parameter, its add and change forms, its actions); the fields are
read from the HTML forms each page renders. So pages added later are covered once they
exist. Each field gets a few bad values (the same field always the same ones, so a
failure repeats), and each form one submission with every field bad at once.
"""

from __future__ import annotations

import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from django.contrib import admin
from django.core.signals import got_request_exception
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from portal.core.demo import seed
from portal.tenancy.models import Role, StaffMembership
from tests.factories import SuperuserFactory, SyncJobFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

BAD_VALUES = [
    "",
    "abc",
    "-1",
    "0",
    "99999999999999999999999",
    "1e309",
    "99999-12-31",
    "2025-02-30 25:61",
    "fernet:abc",
    '<script>alert(1)</script>"\'',
    '["not", "an", "object"]',
    '{"unclosed": ',
    "a\x00b",
    "é" * 300,
    "NaN",
]
VALUES_PER_FIELD = 2
# Never followed or submitted: they end the session or act on everything at once.
SKIPPED_ACTIONS = {"delete_selected"}
SKIPPED_NAMES = {"csrfmiddlewaretoken", "post"}
# Forms never submitted: logging out (allauth's pages are allauth's to test), the admin's logout.
NOT_SUBMITTED = ("accounts/", "admin/logout/")
# Every page but the admin (crawled from its registry below), allauth's and the health check.
EXCLUDED_PREFIXES = ("admin/", "accounts/", "healthz")


def bad_values_for(name: str) -> list[str]:
    start = zlib.crc32(name.encode()) % len(BAD_VALUES)
    return [BAD_VALUES[(start + step * 5) % len(BAD_VALUES)] for step in range(VALUES_PER_FIELD)]


# ------------------------------------------------------------------ reading pages
@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> values as rendered
    choices: dict[str, list[str]] = field(default_factory=dict)  # select options, for actions


class PageReader(HTMLParser):
    """The forms of a page (fields as a browser would submit them) and its links with a query."""

    def __init__(self, url: str):
        super().__init__()
        self.url = url
        self.forms: list[Form] = []
        self.links: set[str] = set()  # with a query
        self.plain_links: set[str] = set()
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            action = urljoin(self.url, attrs.get("action") or self.url)
            self.forms.append(Form(action=action, method=(attrs.get("method") or "get").lower()))
        elif tag == "a" and attrs.get("href"):
            link = urljoin(self.url, attrs["href"])
            (self.links if "?" in link else self.plain_links).add(link)
        elif tag == "option" and self._select and self.forms:
            value = attrs.get("value", "")
            self.forms[-1].choices.setdefault(self._select, []).append(value)
            if "selected" in attrs:
                self.forms[-1].fields[self._select].append(value)
        elif not self.forms or not attrs.get("name"):
            return
        elif tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                self.forms[-1].fields.setdefault(attrs["name"], [])
                return
            default = "on" if kind == "checkbox" else ""
            self.forms[-1].fields.setdefault(attrs["name"], []).append(attrs.get("value") or default)
        elif tag == "select":
            self._select = attrs["name"]
            self.forms[-1].fields.setdefault(self._select, [])
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.forms[-1].fields[self._textarea] = [""]

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1].fields[self._textarea] = [data.strip("\n")]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def read(url: str, html: str) -> PageReader:
    reader = PageReader(url)
    reader.feed(html)
    return reader


def same_site_path(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.netloc not in ("", "testserver"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


# ------------------------------------------------------------------ the crawl
@dataclass
class Crawl:
    client: Client
    follow_prefixes: tuple[str, ...] = ()
    failures: list[str] = field(default_factory=list)
    fuzzed_routes: set = field(default_factory=set)
    requests: int = 0
    last_exception: list = field(default_factory=list)

    def request(self, method: str, path: str, data: dict | None = None):
        self.last_exception.clear()
        self.requests += 1
        response = (self.client.post if method == "post" else self.client.get)(path, data or {})
        if response.status_code >= 500:
            error = repr(self.last_exception[0]) if self.last_exception else f"status {response.status_code}"
            shown = {key: value for key, value in (data or {}).items() if key not in SKIPPED_NAMES}
            self.failures.append(f"{method.upper()} {path} {shown if method == 'post' else ''} -> {error}")
        return response

    def fuzz_query(self, path: str, names: set[str]) -> None:
        base, _, query = path.partition("?")
        defaults = dict(parse_qsl(query, keep_blank_values=True))
        for name in sorted(names - SKIPPED_NAMES):
            for value in bad_values_for(name):
                self.request("get", f"{base}?{urlencode({**defaults, name: value})}")

    def fuzz_form(self, form: Form) -> None:
        path = same_site_path(form.action)
        if path is None or path.lstrip("/").startswith(NOT_SUBMITTED):
            return
        names = [name for name in form.fields if name not in SKIPPED_NAMES]
        if form.method == "get":
            self.fuzz_query(path, set(names))
            return
        rendered = {name: values if len(values) != 1 else values[0] for name, values in form.fields.items() if values}
        if "action" in form.choices:  # an admin list's actions: each one, with bad selections
            for action in form.choices["action"]:
                if action and action not in SKIPPED_ACTIONS:
                    for selection in (["abc"], ["99999999999999999999999"], []):
                        self.request("post", path, {**rendered, "action": action, "_selected_action": selection, "index": "0"})
            return
        for name in names:
            for value in bad_values_for(name):
                self.request("post", path, {**rendered, name: value})
        for value in BAD_VALUES[1::4]:
            self.request("post", path, {**rendered, **{name: value for name in names}})

    def fuzz_page(self, path: str) -> None:
        """Fuzz the page's forms and query parameters, once per URL pattern (one customer page
        stands for all); the pages it links to under the same prefixes are visited in turn."""
        route = _route_of(path)
        if route in self.fuzzed_routes:
            return
        response = self.request("get", path)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            return
        self.fuzzed_routes.add(route)
        page = read(f"http://testserver{path}", response.content.decode())
        for form in page.forms:
            self.fuzz_form(form)
        query_names: dict[str, set[str]] = {}
        for link in page.links:
            link_path = same_site_path(link)
            if link_path and "?" in link_path and link_path.split("?")[0] == path.split("?")[0]:
                query_names.setdefault(link_path.split("?")[0], set()).update(k for k, _ in parse_qsl(link_path.split("?")[1]))
        for base, names in query_names.items():
            self.fuzz_query(base, names)
        for link in sorted(page.links | page.plain_links):
            link_path = same_site_path(link)
            if link_path and link_path.lstrip("/").startswith(self.follow_prefixes):
                self.fuzz_page(link_path.split("?")[0])


def _route_of(path: str) -> str | None:
    from django.urls import Resolver404, resolve

    try:
        return resolve(path.split("?")[0]).route
    except Resolver404:
        return None


def url_patterns(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, route)
        else:
            yield route, entry


PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def concrete_paths(route: str, ids: list[int]) -> Iterator[str]:
    """The route with its parameters filled: with existing ids, then with one too large to exist."""
    if not PARAMETER.search(route):
        yield "/" + route
        return
    for number in [*ids, 99999999999999999999]:
        yield "/" + PARAMETER.sub(lambda m: str(number) if m["converter"] == "int" else "abc", route)


def visible_ids(user, most: int = 8) -> list[int]:
    """A few ids of objects ``user`` can see, of every scoped model: what path parameters take."""
    from django.apps import apps

    from portal.tenancy.scoping import ScopedQuerySet

    ids: set[int] = set()
    for model in apps.get_models():
        if isinstance(model._default_manager.all(), ScopedQuerySet):
            first = model._default_manager.for_user(user).order_by("pk").values_list("pk", flat=True).first()
            if isinstance(first, int):
                ids.add(first)
    return sorted(ids)[:most]


@pytest.fixture
def world(sandbox_url):
    seed(sandbox_url=sandbox_url, customers=3)
    SyncJobFactory()
    return StaffMembership.objects.filter(role=Role.MANAGER).select_related("user").first().user


@pytest.fixture
def crawl():
    client = Client(raise_request_exception=False)
    crawl = Crawl(client)

    def note(sender, request=None, **kwargs):
        crawl.last_exception.append(sys.exc_info()[1])

    got_request_exception.connect(note, weak=False)
    yield crawl
    got_request_exception.disconnect(note)


def report(crawl: Crawl) -> str:
    return f"{len(crawl.failures)} answers of 500 in {crawl.requests} requests:\n" + "\n".join(crawl.failures[:40])


def test_the_staff_pages_never_answer_500(world, crawl):
    routes = [route for route, _ in url_patterns() if not route.startswith(EXCLUDED_PREFIXES)]
    assert sum(route.startswith("staff/") for route in routes) >= 5, routes  # the crawl found the pages
    crawl.follow_prefixes = ("staff/", "my/")
    fuzzed = set()
    for user in (world, SuperuserFactory()):
        crawl.client.force_login(user)
        crawl.fuzzed_routes.clear()
        ids = visible_ids(user)
        for route in routes:
            for path in concrete_paths(route, ids):
                crawl.fuzz_page(path)
        fuzzed |= crawl.fuzzed_routes
    print(f"fuzzed {len(fuzzed)} staff pages with {crawl.requests} requests: {sorted(fuzzed)}")
    assert len(fuzzed) >= 5 and crawl.requests > 50  # the crawl did find pages and forms
    assert not crawl.failures, report(crawl)


def test_the_admin_never_answers_500(world, crawl):
    superuser = SuperuserFactory()
    crawl.client.force_login(superuser)
    request = _request_for(superuser)
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        crawl.fuzz_page(changelist)
        # The list's own parameters: search, ordering, page, and every filter it offers.
        list_page = crawl.client.get(changelist)
        names = {"q", "o", "p", "all", "_to_field", "_popup"}
        if list_page.status_code == 200 and list_page.context and "cl" in list_page.context:
            cl = list_page.context["cl"]
            for spec in cl.filter_specs:
                names.update(spec.expected_parameters())
            if cl.date_hierarchy:
                names.update(f"{cl.date_hierarchy}__{part}" for part in ("year", "month", "day"))
        crawl.fuzz_query(changelist, names)
        if model_admin.has_add_permission(request):
            crawl.fuzz_page(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        first = model_admin.get_queryset(request).order_by("pk").first()
        if first is not None:
            crawl.fuzz_page(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
        for field_name in model_admin.autocomplete_fields:
            for value in ("abc", "", "99999999999999999999"):
                crawl.request(
                    "get",
                    "/admin/autocomplete/?"
                    + urlencode({"app_label": opts.app_label, "model_name": opts.model_name, "field_name": field_name, "term": value, "page": value}),
                )
    print(f"fuzzed {len(crawl.fuzzed_routes)} admin pages with {crawl.requests} requests")
    assert len(crawl.fuzzed_routes) > 20 and crawl.requests > 500
    assert not crawl.failures, report(crawl)


def _request_for(user):
    from django.test import RequestFactory

    from portal.tenancy.scoping import access_for

    request = RequestFactory().get("/admin/")
    request.user = user
    request.access = access_for(user)
    return request
