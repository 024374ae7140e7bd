"""Demo data: two resellers with carrier accounts on the sandbox, customers and logins.

Everything goes through the service layer, so the demo's objects are queued for their
carriers like any change and the worker provisions them on the sandbox. Each customer
gets what its carrier can hold (a time-windowed forward only where windows exist).
Idempotent: running it again finds what it made (by natural keys) and adds only what is
missing, so the README's run command can call it on every start.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction

from portal.accounts.models import User
from portal.carriers.kinds import KIND_FIELDS, CarrierKind
from portal.carriers.models import CarrierAccount
from portal.carriers import get_adapter
from portal.branding.models import Branding
from portal.branding.services import set_branding
from portal.customers.models import Customer, CustomerLogin, LoginRole
from portal.customers.services import create_customer
from portal.forwards.models import ForwardType
from portal.forwards.services import ForwardInput, WindowInput, set_forwards
from portal.numbers.models import Number
from portal.numbers.services import add_number, assign_number
from portal.subscribers.services import create_subscriber
from portal.tenancy.models import Reseller, Role, StaffMembership
from portal.trunks.models import TrunkType
from portal.trunks.services import create_trunk

DEMO_PASSWORD = "demo-portal-2026"

COMPANY_WORDS = (
    "Harbour", "Meadow", "Copper", "Lantern", "Summit", "Orchard", "Beacon", "Willow", "Granite", "Falcon",
    "Riverside", "Kestrel", "Thistle", "Juniper", "Anchor", "Bramble", "Cobalt", "Heron",
)
COMPANY_KINDS = ("Dental", "Legal", "Logistics", "Bakery", "Estates", "Motors", "Studio", "Clinic", "Consulting")
FIRST_NAMES = ("Amira", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hugo", "Isla", "Jack", "Kira", "Leo")


@dataclass
class Login:
    role: str
    email: str


class SandboxUnavailable(RuntimeError):
    pass


class SandboxClient:
    def __init__(self, url: str, token: str = "") -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=10)

    def account(self, account_id: str) -> dict | None:
        """The sandbox account as its control API describes it now (its address included), if it exists."""
        if not account_id:
            return None
        response = self.http.get(f"/_sandbox/accounts/{account_id}")
        return response.json() if response.status_code == 200 else None

    def create_account(self, carrier: str) -> dict:
        try:
            response = self.http.post("/_sandbox/accounts", json={"carrier": carrier})
        except httpx.TransportError as exc:
            raise SandboxUnavailable(f"the sandbox at {self.http.base_url} is not reachable ({exc})") from None
        if response.status_code != 201:
            raise SandboxUnavailable(f"the sandbox refused to create a {carrier} account: {response.text}")
        return response.json()


def _carrier_account(reseller: Reseller, kind: str, sandbox: SandboxClient) -> CarrierAccount:
    name = f"{CarrierKind(kind).label} (sandbox)"
    existing = CarrierAccount.objects.filter(reseller=reseller, name=name).first()
    found = sandbox.account(existing.settings.get("sandbox_account", "")) if existing else None
    if found and found["base_url"] == existing.base_url:
        return existing
    # A new sandbox account, or the same one at a new address (the sandbox runs on another
    # port): the address and, as for any change of address, the credentials are set again.
    created = found or sandbox.create_account(kind)
    fields = KIND_FIELDS[kind]
    remote = created["settings"]
    account = existing or CarrierAccount(reseller=reseller, kind=kind, name=name)
    account.base_url = created["base_url"]
    account.account_id = str(remote.get(fields.account_id_key, "")) if fields.account_id_key else ""
    account.credentials = {key: str(remote[key]) for key in fields.secrets}
    account.settings = {
        key: str(value)
        for key, value in remote.items()
        if key not in fields.secrets and key != fields.account_id_key
    } | {"sandbox_account": created["id"]}
    account.save()
    return account


def _user(email: str, *, superuser: bool = False, first_name: str = "") -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        maker = User.objects.create_superuser if superuser else User.objects.create_user
        user = maker(email=email, password=DEMO_PASSWORD, first_name=first_name)
    # The demo's addresses are ours (example domains): verified, as an invitation would have made them.
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"primary": True, "verified": True})
    return user


def _number_stock(account: CarrierAccount) -> Iterator[str]:
    """Numbers the carrier can sell us (read from its search), else made-up drama-range ones."""
    if account.capabilities.number_inventory:
        taken = set(Number.objects.values_list("e164", flat=True))
        with get_adapter(account.kind, account.adapter_config()) as adapter:
            found = [n.e164 for n in adapter.search_numbers(limit=100)]
        yield from (e164 for e164 in found if e164 not in taken)


def _forwards_for(caps, rng: random.Random, prefix: str, index: int) -> list[ForwardInput]:
    """A realistic forward that this carrier can hold."""
    kind = ForwardType.NO_ANSWER if ForwardType.NO_ANSWER in caps.forward_types else ForwardType.UNCONDITIONAL
    mobiles = [(f"+447400{prefix}{index:03d}{n:02d}", 20 + 10 * n) for n in range(min(2, caps.max_destinations))]
    windows = [WindowInput([0, 1, 2, 3, 4], dt.time(9), dt.time(17, 30))] if caps.time_windows else []
    return [ForwardInput(kind, True, mobiles, windows)]


def _trunk_fields(caps, customer: Customer, index: int) -> dict:
    trunk_type = TrunkType.IP if TrunkType.IP in caps.trunk_types else TrunkType.AUTH
    wanted = {
        "allowed_ips": [f"192.0.2.{index + 10}"],
        "channels_in": 10,
        "channels_out": 10,
        "default_cli": customer.phone,
        "host": f"pbx{index}.{customer.reseller.slug}-customer.example",
    }
    held = {name: value for name, value in wanted.items() if name in caps.trunk_fields}
    if trunk_type == TrunkType.AUTH:
        held.pop("allowed_ips", None)
    return {"name": f"PBX{index + 1}", "type": trunk_type, **held}


def _seed_customers(reseller: Reseller, accounts: list[CarrierAccount], count: int, rng: random.Random, prefix: str):
    stocks = {account.pk: _number_stock(account) for account in accounts}
    for index in range(count):
        external_ref = f"{reseller.slug.upper()[:3]}{1000 + index}"
        if Customer.objects.filter(reseller=reseller, external_ref=external_ref).exists():
            continue
        account = accounts[index % len(accounts)]
        caps = account.capabilities
        customer = create_customer(
            reseller=reseller,
            external_ref=external_ref,
            name=f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} {index + 1:02d}",
            contact_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(COMPANY_WORDS)}",
            email=f"office{index + 1}@{reseller.slug}-customer.example",
            phone=f"+4420794{prefix}{index:04d}",
            address_line1=f"{index + 3} {rng.choice(COMPANY_WORDS)} Street",
            city=rng.choice(("London", "Leeds", "Bristol", "Glasgow", "Cardiff")),
            postcode="EC1A 1BB",
            carrier_account=account,
        )
        subscribers, numbers = [], []
        for ext in range(1, rng.randint(2, 4)):
            e164 = next(stocks[account.pk], None) or f"+44113496{prefix}{index:02d}{ext}"
            # Taken for its customer (SureVoIP allocates a number to a customer), then assigned.
            number = add_number(reseller=reseller, carrier_account=account, e164=e164, customer=customer)
            assign_number(number, customer=customer)
            numbers.append(number)
            subscriber, _ = create_subscriber(
                customer=customer,
                username=f"{index + 1:02d}{ext}",  # digits: a PBX extension works on every carrier
                # The account's own SIP domain where the carrier fixes one (Sipwise).
                domain=account.settings.get("domain") or f"sip.{reseller.slug}.example",
                display_name=f"{rng.choice(FIRST_NAMES)} (ext {ext})",
                primary_number=number,
            )
            subscribers.append(subscriber)
        if caps.forwards:
            owner = subscribers[0] if "subscriber" in caps.forward_owners else numbers[0]
            set_forwards(owner, _forwards_for(caps, rng, prefix, index))
        if caps.trunks and index % 3 == 0:
            create_trunk(customer=customer, **_trunk_fields(caps, customer, index))


@transaction.atomic
def seed(sandbox_url: str | None = None, sandbox_token: str | None = None, customers: int | None = None) -> list[Login]:
    """``customers`` overrides how many customers each reseller gets (tests use a few)."""
    sandbox = SandboxClient(sandbox_url or settings.SANDBOX_URL, sandbox_token or settings.SANDBOX_ADMIN_TOKEN)
    rng = random.Random(2026)
    admin_role = "platform admin (sets up an authenticator app at first login)" if settings.PLATFORM_ADMIN_MFA else "platform admin"
    logins = [Login(admin_role, _user("admin@portal.example", superuser=True, first_name="Pat").email)]
    plans = [
        ("Northwind Telecom", "northwind", list(CarrierKind.values), 24, "1"),
        ("Acme Voice", "acme", [CarrierKind.SIPWISE, CarrierKind.SIMWOOD], 12, "2"),
    ]
    # What each reseller's customers see instead of the platform's name (Branding page).
    brands = {
        "northwind": {"portal_name": "Northwind Voice", "primary_colour": "#0f766e",
                      "support_email": "help@northwind.example", "support_phone": "+442079460999"},
        "acme": {"portal_name": "Acme Phones", "primary_colour": "#9d174d", "support_email": "support@acme.example"},
    }
    for name, slug, kinds, count, prefix in plans:
        reseller, _ = Reseller.objects.get_or_create(slug=slug, defaults={"name": name})
        if not Branding.objects.filter(reseller=reseller).exists():  # a manager's own changes stay
            set_branding(reseller, **brands[slug])
        accounts = [_carrier_account(reseller, kind, sandbox) for kind in kinds]
        _seed_customers(reseller, accounts, customers or count, rng, prefix)
        for role in (Role.MANAGER, Role.AGENT):
            email = f"{role}@{slug}.example"
            user = _user(email, first_name=role.label)
            StaffMembership.objects.get_or_create(user=user, defaults={"reseller": reseller, "role": role})
            logins.append(Login(f"{name} {role.label.lower()}", email))
        customer = Customer.objects.filter(reseller=reseller).order_by("external_ref").first()
        customer_user = _user(f"customer@{slug}.example", first_name="Casey")
        # The demo's customer user is the customer's admin: it may invite and remove colleagues.
        CustomerLogin.objects.get_or_create(user=customer_user, defaults={"customer": customer, "role": LoginRole.ADMIN})
        logins.append(Login(f"{name} customer admin ({customer.name})", customer_user.email))
    return logins
