"""The oracle: does each carrier hold exactly what the portal shows, once?

It reads the carrier's side raw (``GET /_sandbox/accounts/{id}/state``), not through the
adapters' readers, so that a reader's mistake cannot hide an engine's. Both sides become
*facts*: per kind, a natural key → the fields that carrier holds, written the way the portal
would say them. The portal's facts come from its rows and the same spec functions the engine
pushes from (``customer_spec``, ``subscriber_spec``, ``routing_spec``, ``trunk_spec``), so "equal"
means "as that carrier's spec maps it". Where a carrier's raw form is the only reasonable
translation (Simwood's number config, Simwood's trunk name) the adapter's pure parser is used.

Every difference is one readable line: ``<carrier> <kind> <key>: <what>``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from portal.carriers.models import CarrierAccount
from portal.customers.models import Customer
from portal.customers.sync import customer_spec
from portal.forwards.sync import forward_specs, owner_forwards
from portal.numbers.models import Number, NumberStatus
from portal.numbers.sync import routing_spec
from portal.subscribers.models import Subscriber
from portal.subscribers.sync import SPEC_STATUS
from portal.sync.models import JobState, SyncJob, SyncState
from portal.trunks.models import Trunk
from portal.trunks.sync import trunk_spec


def digits(value: str | None) -> str:
    return "".join(ch for ch in (value or "") if ch.isdigit())


def in_effect(forwards) -> dict[str, list[str]]:
    """Forwards that route calls (on, with a destination), as type → target digits. Carriers
    differ in whether a switched-off forward is kept, so only these are compared."""
    return {f.type: [digits(d.target) for d in f.destinations] for f in forwards if f.enabled and f.destinations}


@dataclass
class Side:
    """One side's facts of one kind: key → facts, with every key seen (to find duplicates)."""

    facts: dict[str, dict] = field(default_factory=dict)
    seen: Counter = field(default_factory=Counter)

    def add(self, key: str, facts: dict) -> None:
        self.seen[key] += 1
        self.facts.setdefault(key, facts)


@dataclass
class Expected:
    """What the portal says a carrier account should hold, and what it should no longer hold."""

    kinds: dict[str, Side] = field(default_factory=lambda: defaultdict(Side))
    gone: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # kind → keys that must be absent


# ------------------------------------------------------------------------ per carrier
class CarrierView:
    """How one carrier holds each kind: the portal's facts and the carrier's, by key."""

    carrier = ""

    def expected(self, account: CarrierAccount) -> Expected:
        raise NotImplementedError

    def held(self, account: CarrierAccount, state: dict) -> tuple[dict[str, Side], list[str]]:
        """The carrier's facts per kind, and the orphans (sub-objects that belong to nothing)."""
        raise NotImplementedError


def portal_customers(account):
    return Customer.objects.filter(carrier_account=account).order_by("pk")


def portal_subscribers(account):
    return Subscriber.objects.filter(carrier_account=account).select_related("customer", "primary_number").order_by("pk")


def portal_trunks(account):
    return Trunk.objects.filter(carrier_account=account).select_related("customer").order_by("pk")


def portal_numbers(account):
    return Number.objects.filter(carrier_account=account).select_related("customer", "subscriber").order_by("pk")


class Simwood(CarrierView):
    carrier = "simwood"

    def trunk_key(self, account, trunk: Trunk) -> str:
        from portal.carriers.simwood import trunk_id

        return f"{account.account_id}-{trunk_id(trunk_spec(trunk))}"

    def expected(self, account):
        out = Expected()
        caps = account.capabilities
        for number in portal_numbers(account):
            if number.status == NumberStatus.RELEASED:
                out.gone["number"].add(digits(number.e164))
                continue
            spec = routing_spec(number, caps)
            out.kinds["number"].add(digits(number.e164), {
                "destination": spec.destination or "",
                "forwards": in_effect(forward_specs(owner_forwards(number))),
                "enabled": True,
                "portal_id": str(number.pk),
            })
        for trunk in portal_trunks(account):
            out.kinds["trunk"].add(self.trunk_key(account, trunk), {
                "type": trunk.type,
                "enabled": trunk.enabled,
                "allowed_ips": sorted(trunk.allowed_ips) if trunk.type == "ip" else [],
                "channels_in": trunk.channels_in,
                "channels_out": trunk.channels_out,
            })
        return out

    def held(self, account, state):
        from portal.carriers.simwood import parse_config

        kinds: dict[str, Side] = defaultdict(Side)
        for held_digits, number in state.get("numbers", {}).items():
            routing = parse_config(number.get("config"))
            kinds["number"].add(held_digits, {
                "destination": routing.destination or "",
                "forwards": in_effect(routing.forwards),
                "enabled": routing.activated,
                "portal_id": routing.portal_id,
            })
        acls = state.get("acls", {})
        default_trunk = f"{state.get('account')}-L001"  # every Simwood account has it; not the portal's
        for name, trunk in state.get("trunks", {}).items():
            if name == default_trunk:
                continue
            is_ip = trunk.get("type") == "IP"
            kinds["trunk"].add(name, {
                "type": "ip" if is_ip else "auth",
                "enabled": str(trunk.get("enabled")) == "1",
                "allowed_ips": sorted(entry["ip"] for entry in acls.get(name, [])) if is_ip else [],
                "channels_in": _int(trunk.get("limit_concurrent_in")),
                "channels_out": _int(trunk.get("limit_concurrent_out")),
            })
        orphans = [f"acl of trunk {name} that is not there" for name in acls if name not in state.get("trunks", {})]
        return kinds, orphans


class SureVoIP(CarrierView):
    carrier = "surevoip"

    @staticmethod
    def customer_key(name: str, email: str) -> str:
        return f"{name} <{email.strip().lower()}>"

    def expected(self, account):
        out = Expected()
        caps = account.capabilities
        for customer in portal_customers(account):
            spec = customer_spec(customer)
            first, _, last = spec.contact_name.strip().partition(" ")
            out.kinds["customer"].add(self.customer_key(spec.name, spec.email), {
                "firstname": first or "-",
                "lastname": last.strip() or "-",
                "phone": digits(spec.phone),
                "city": spec.address["city"],
                "postcode": spec.address["postcode"],
                "portal_remote_id": customer.remote_id,
            })
        for number in portal_numbers(account):
            if number.status == NumberStatus.RELEASED:
                out.gone["number"].add(digits(number.e164))
                continue
            out.kinds["number"].add(digits(number.e164), {
                "customer": number.customer.remote_id if number.customer_id else "",
                "destination": routing_spec(number, caps).destination or "",
                "activated": True,
            })
        return out

    def held(self, account, state):
        from portal.carriers.surevoip import portal_destination  # digits or a SIP URI, as SureVoIP keeps it

        kinds: dict[str, Side] = defaultdict(Side)
        for remote_id, customer in state.get("customers", {}).items():
            kinds["customer"].add(self.customer_key(customer["company_name"], customer["email"]), {
                "firstname": customer.get("firstname", ""),
                "lastname": customer.get("lastname", ""),
                "phone": digits(customer.get("phone")),
                "city": customer.get("city", ""),
                "postcode": customer.get("postcode", ""),
                "portal_remote_id": remote_id,
            })
        customers = state.get("customers", {})
        orphans = []
        for held_digits, number in state.get("numbers", {}).items():
            kinds["number"].add(held_digits, {
                "customer": number.get("customer") or "",
                "destination": portal_destination(number.get("destination") or "") or "",
                "activated": str(number.get("activated")) == "1",
            })
            if number.get("customer") and number["customer"] not in customers:
                orphans.append(f"number {held_digits} of customer {number['customer']}, which is not there")
        return kinds, orphans


class Sipwise(CarrierView):
    carrier = "sipwise"

    def expected(self, account):
        from portal.carriers.sipwise import CUSTOMER_STATUS, SUBSCRIBER_STATUS

        out = Expected()
        for customer in portal_customers(account):
            spec = customer_spec(customer)
            first, _, last = spec.contact_name.strip().partition(" ")
            status = CUSTOMER_STATUS[spec.status]
            facts = {
                "status": status,
                "company": spec.name or None,
                "email": spec.email or None,
                "firstname": first or None,
                "lastname": last.strip() or None,
            }
            if status == "terminated":
                out.gone["customer"].add(str(customer.pk))  # a terminated contract is not a live customer
            else:
                out.kinds["customer"].add(str(customer.pk), facts)
        for subscriber in portal_subscribers(account):
            numbers = sorted(subscriber.numbers.values_list("e164", flat=True))
            out.kinds["subscriber"].add(subscriber.username, {
                "customer": subscriber.customer.remote_id,
                "display_name": subscriber.display_name or None,
                "status": SUBSCRIBER_STATUS[SPEC_STATUS.get(subscriber.status, "suspended")],
                "numbers": [digits(n) for n in numbers],
                "primary": digits(subscriber.primary_number.e164) if subscriber.primary_number_id else "",
                "portal_id": str(subscriber.pk),
                "forwards": in_effect(forward_specs(owner_forwards(subscriber))),
            })
        for trunk in portal_trunks(account):
            out.kinds["trunk"].add(f"trunk:{trunk.pk}", {
                "name": trunk.name,
                "customer": trunk.customer.remote_id,
                "status": "active" if trunk.enabled else "locked",
            })
        return out

    def held(self, account, state):
        kinds: dict[str, Side] = defaultdict(Side)
        customers = state.get("customers", {})
        contacts = state.get("customercontacts", {})
        live = {cid for cid, c in customers.items() if c.get("status") != "terminated"}
        for cid in live:
            customer = customers[cid]
            contact = contacts.get(str(customer.get("contact_id")), {})
            kinds["customer"].add(str(customer.get("external_id")), {
                "status": customer.get("status"),
                "company": contact.get("company"),
                "email": contact.get("email"),
                "firstname": contact.get("firstname"),
                "lastname": contact.get("lastname"),
            })
        orphans = []
        used_contacts = {str(c.get("contact_id")) for c in customers.values()}
        orphans += [f"contact {cid} ({c.get('company')}) of no customer" for cid, c in contacts.items()
                    if cid not in used_contacts]
        subscribers = state.get("subscribers", {})
        forwards = state.get("callforwards", {})
        for sid, subscriber in subscribers.items():
            external = str(subscriber.get("external_id") or "")
            owner = str(subscriber.get("customer_id"))
            if owner not in live:
                orphans.append(f"subscriber {subscriber['username']} ({sid}) of customer {owner}, "
                               + ("which is terminated" if owner in customers else "which is not there"))
            if external.startswith("trunk:"):
                kinds["trunk"].add(external, {
                    "name": subscriber.get("display_name"),
                    "customer": owner,
                    "status": subscriber.get("status"),
                })
                continue
            numbers = [_sipwise_number(subscriber.get("primary_number"))]
            numbers += [_sipwise_number(n) for n in subscriber.get("alias_numbers") or []]
            kinds["subscriber"].add(subscriber["username"], {
                "customer": owner,
                "display_name": subscriber.get("display_name"),
                "status": subscriber.get("status"),
                "numbers": sorted(n for n in numbers if n),
                "primary": _sipwise_number(subscriber.get("primary_number")),
                "portal_id": external,
                "forwards": {
                    _portal_forward(cf): [d.get("simple_destination") or digits(d.get("destination")) for d in held["destinations"]]
                    for cf, held in forwards.get(sid, {}).items() if held.get("destinations")
                },
            })
        for table in ("callforwards", "subscriberpreferences"):
            orphans += [f"{table} of subscriber {sid}, which is not there" for sid in state.get(table, {})
                        if sid not in subscribers]
        return kinds, orphans


def _portal_forward(cf: str) -> str:
    from portal.carriers.sipwise import PORTAL_FORWARD

    return PORTAL_FORWARD.get(cf, cf)


def _sipwise_number(number: dict | None) -> str:
    if not number:
        return ""
    return "".join(str(number.get(part) or "") for part in ("cc", "ac", "sn"))


def _int(value) -> int | None:
    return None if value in (None, "") else int(value)


class Simotel(CarrierView):
    carrier = "simotel"

    def expected(self, account):
        from portal.carriers.simotel import FORWARD_KEYS, to_permit

        out = Expected()
        for subscriber in portal_subscribers(account):
            forwards = in_effect(forward_specs(owner_forwards(subscriber)))
            out.kinds["subscriber"].add(subscriber.username, {
                "name": subscriber.display_name or subscriber.username,
                "active": "yes" if SPEC_STATUS.get(subscriber.status) == "active" else "no",
                "forwards": {FORWARD_KEYS[kind]: "00" + targets[0] for kind, targets in forwards.items()},
            })
        for trunk in portal_trunks(account):
            out.kinds["trunk"].add(trunk.name, {
                "host": trunk.host,
                "active": "yes" if trunk.enabled else "no",
                "permit": to_permit(list(trunk.allowed_ips)),
            })
        return out

    def held(self, account, state):
        kinds: dict[str, Side] = defaultdict(Side)
        for user in state.get("users", []):
            kinds["subscriber"].add(str(user.get("number")), {
                "name": user.get("name"),
                "active": user.get("active"),
                "forwards": {key: value for key, value in (user.get("forward_policy") or {}).items() if value},
            })
        for trunk in state.get("trunks", []):
            kinds["trunk"].add(trunk.get("name"), {
                "host": trunk.get("host"),
                "active": trunk.get("active"),
                "permit": trunk.get("permit"),
            })
        return kinds, []


VIEWS: dict[str, CarrierView] = {view.carrier: view for view in (Simwood(), SureVoIP(), Sipwise(), Simotel())}


# ------------------------------------------------------------------------------ checks
def compare(account: CarrierAccount, state: dict) -> list[str]:
    """Every difference between what the portal shows for ``account`` and ``state``, the raw
    contents of its sandbox account."""
    view = VIEWS[account.kind]
    expected = view.expected(account)
    held, orphans = view.held(account, state)
    lines = [f"{account.kind} orphan: {orphan}" for orphan in orphans]
    for kind in sorted(set(expected.kinds) | set(held)):
        ours, theirs = expected.kinds[kind], held.get(kind, Side())
        for key, count in sorted(ours.seen.items()):
            if count > 1:
                lines.append(f"{account.kind} {kind} {key}: the portal shows it {count} times")
        for key in sorted(ours.facts):
            if key not in theirs.facts:
                lines.append(f"{account.kind} {kind} {key}: missing at the carrier")
                continue
            if theirs.seen[key] > 1:
                lines.append(f"{account.kind} {kind} {key}: held {theirs.seen[key]} times at the carrier")
            for name, want in ours.facts[key].items():
                got = theirs.facts[key].get(name)
                if got != want:
                    lines.append(f"{account.kind} {kind} {key}: {name} is {got!r} at the carrier, {want!r} in the portal")
        for key in sorted(theirs.facts):
            if key in ours.facts:
                continue
            if key in expected.gone.get(kind, ()):
                lines.append(f"{account.kind} {kind} {key}: deleted or released in the portal, still at the carrier")
            else:
                lines.append(f"{account.kind} {kind} {key}: at the carrier, not in the portal"
                             + (f" (held {theirs.seen[key]} times)" if theirs.seen[key] > 1 else ""))
    return lines


def check_jobs(accounts: Iterable[CarrierAccount], refused: Callable[[SyncJob], bool] = lambda job: False) -> list[str]:
    """Nothing left queued or running, no failed job but those ``refused`` on purpose, and
    every object shown as synced."""
    ids = [account.pk for account in accounts]
    lines = []
    for job in SyncJob.objects.filter(carrier_account_id__in=ids).exclude(
        state__in=(JobState.DONE, JobState.SUPERSEDED, JobState.CANCELLED)
    ).order_by("pk"):
        if job.state == JobState.FAILED and refused(job):
            continue
        lines.append(f"job {job.pk} ({job.operation} {job.object_kind} {job.object_repr}) left {job.state}"
                     + (f": {job.last_error}" if job.last_error else ""))
    for model in (Customer, Subscriber, Trunk, Number):
        for obj in model.objects.filter(carrier_account_id__in=ids).exclude(sync_state=SyncState.SYNCED):
            lines.append(f"{model.__name__.lower()} {obj} shows {obj.sync_state}"
                         + (f": {obj.sync_error}" if obj.sync_error else ""))
    return lines


def oracle(accounts: Iterable[CarrierAccount], fetch_state: Callable[[CarrierAccount], dict],
           refused: Callable[[SyncJob], bool] = lambda job: False) -> list[str]:
    accounts = list(accounts)
    lines = []
    for account in accounts:
        account.refresh_from_db()
        lines += compare(account, fetch_state(account))
    return lines + check_jobs(accounts, refused)
