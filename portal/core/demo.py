"""Demo data: two resellers with carrier accounts on the sandbox, customers and logins.

Idempotent: running it again finds what it made (by natural keys) and adds only what is
missing, so the README's run command can call it on every start.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.db import transaction

from portal.accounts.models import User
from portal.carriers.kinds import KIND_FIELDS, CarrierKind
from portal.carriers.models import CarrierAccount
from portal.customers.models import Customer, CustomerLogin
from portal.forwards.models import CallForward, ForwardDestination, ForwardType, ForwardWindow
from portal.numbers.models import Number, NumberStatus
from portal.subscribers.models import Subscriber, generate_sip_password
from portal.tenancy.models import Reseller, Role, StaffMembership
from portal.trunks.models import Trunk, TrunkType

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

    def account_exists(self, account_id: str) -> bool:
        return self.http.get(f"/_sandbox/accounts/{account_id}").status_code == 200

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
    if existing and sandbox.account_exists(existing.settings.get("sandbox_account", "")):
        return existing
    created = sandbox.create_account(kind)
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
    return user


def _seed_customers(reseller: Reseller, accounts: list[CarrierAccount], count: int, rng: random.Random, prefix: str):
    domain = f"sip.{reseller.slug}.example"
    for index in range(count):
        name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} {index + 1:02d}"
        account = accounts[index % len(accounts)]
        customer, made = Customer.objects.get_or_create(
            reseller=reseller,
            external_ref=f"{reseller.slug.upper()[:3]}-{1000 + index}",
            defaults={
                "name": name,
                "contact_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(COMPANY_WORDS)}",
                "email": f"office{index + 1}@{reseller.slug}-customer.example",
                "phone": f"+4420794{prefix}{index:04d}",
                "address_line1": f"{index + 3} {rng.choice(COMPANY_WORDS)} Street",
                "city": rng.choice(("London", "Leeds", "Bristol", "Glasgow", "Cardiff")),
                "postcode": "EC1A 1BB",
                "carrier_account": account,
            },
        )
        if not made:
            continue
        for ext in range(1, rng.randint(2, 4)):
            number = Number.objects.create(
                reseller=reseller,
                carrier_account=account,
                e164=f"+44113496{prefix}{index:02d}{ext}",
                customer=customer,
                status=NumberStatus.ASSIGNED,
            )
            subscriber = Subscriber.objects.create(
                customer=customer,
                carrier_account=account,
                username=f"c{index:02d}ext{ext}",
                domain=domain,
                sip_password=generate_sip_password(),
                display_name=f"{rng.choice(FIRST_NAMES)} (ext {ext})",
                primary_number=number,
            )
            number.subscriber = subscriber
            number.save()
            if ext == 1:
                forward = CallForward.objects.create(
                    subscriber=subscriber, carrier_account=account, type=ForwardType.NO_ANSWER
                )
                ForwardDestination.objects.create(forward=forward, position=0, target=f"+447400{prefix}{index:05d}", timeout=20)
                ForwardDestination.objects.create(
                    forward=forward, position=1, target=f"sip:voicemail@{domain}", timeout=30
                )
                ForwardWindow.objects.create(
                    forward=forward, weekdays=[0, 1, 2, 3, 4], start=dt.time(9), end=dt.time(17, 30)
                )
        if index % 3 == 0:
            Trunk.objects.create(
                customer=customer,
                carrier_account=account,
                name=f"{customer.name[:40]} PBX",
                type=TrunkType.IP,
                allowed_ips=[f"192.0.2.{index + 10}"],
                channels_in=10,
                channels_out=10,
                default_cli=customer.phone,
            )
    for spare in range(5):
        Number.objects.get_or_create(
            reseller=reseller,
            carrier_account=accounts[0],
            e164=f"+44113496{prefix}9{spare}0",
            defaults={"status": NumberStatus.AVAILABLE},
        )


@transaction.atomic
def seed(sandbox_url: str | None = None, sandbox_token: str | None = None) -> list[Login]:
    sandbox = SandboxClient(sandbox_url or settings.SANDBOX_URL, sandbox_token or settings.SANDBOX_ADMIN_TOKEN)
    rng = random.Random(2026)
    logins = [Login("platform admin", _user("admin@portal.example", superuser=True, first_name="Pat").email)]
    plans = [
        ("Northwind Telecom", "northwind", list(CarrierKind.values), 24, "1"),
        ("Acme Voice", "acme", [CarrierKind.SIPWISE, CarrierKind.SIMWOOD], 12, "2"),
    ]
    for name, slug, kinds, count, prefix in plans:
        reseller, _ = Reseller.objects.get_or_create(slug=slug, defaults={"name": name})
        accounts = [_carrier_account(reseller, kind, sandbox) for kind in kinds]
        _seed_customers(reseller, accounts, count, rng, prefix)
        for role in (Role.MANAGER, Role.AGENT):
            email = f"{role}@{slug}.example"
            user = _user(email, first_name=role.label)
            StaffMembership.objects.get_or_create(user=user, defaults={"reseller": reseller, "role": role})
            logins.append(Login(f"{name} {role.label.lower()}", email))
        customer = Customer.objects.filter(reseller=reseller).order_by("external_ref").first()
        customer_user = _user(f"customer@{slug}.example", first_name="Casey")
        CustomerLogin.objects.get_or_create(user=customer_user, defaults={"customer": customer})
        logins.append(Login(f"{name} customer user ({customer.name})", customer_user.email))
    return logins
