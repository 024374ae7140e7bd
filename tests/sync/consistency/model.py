"""The operation model: what people do on the pages, as replayable steps.

An ``Op`` names its targets by *slots* (customer C2, SIP user 2003, trunk PBX1, the third
number of the account's pool), never by primary key, and loads them fresh from the
database when it runs, as a page does — so any subsequence of a recorded run still makes
sense, which is what lets a failing run be shrunk. A target that is not there (deleted
earlier) makes the step a no-op ("skipped"). A ``ValidationError`` from a service is the
portal refusing the change in words: counted, never a lost change. Anything else a
service raises (a database error, a crash) is a change refused to a person: a defect.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection

from portal.customers.models import Customer
from portal.customers.services import create_customer, delete_customer, update_customer
from portal.forwards.services import ForwardInput, set_forwards
from portal.numbers.models import Number, NumberStatus
from portal.numbers.services import add_number, release_number, update_number
from portal.subscribers.models import Subscriber
from portal.subscribers.services import (
    create_subscriber,
    delete_subscriber,
    disable_subscriber,
    enable_subscriber,
    update_subscriber,
)
from portal.trunks.models import Trunk
from portal.trunks.services import create_trunk, delete_trunk, update_trunk

CUSTOMER_SLOTS = 3
SUBSCRIBER_SLOTS = 5
TRUNK_SLOTS = 2
NUMBER_SLOTS = 5
NAMES = ("Anchor Clinic", "Quay Vets", "Harbour Dental")
CONTACTS = ("Kira Lane", "Ola Berg", "Sam Okafor", "Ada Reyes")
DISPLAY = ("Reception", "Front Desk", "Kitchen", "Warehouse", "")
FORWARD_TARGETS = ("+447400123401", "+447400123402", "+447400123403")
IPS = ("192.0.2.10", "192.0.2.11", "198.51.100.7")

# Faults are steps too: a failing run shrinks to the faults it needs.
FAULTS = ("outage_503", "outage_hang", "errors", "rate_limit", "refuse_next", "kill_child", "kill_worker",
          "broker_outage")


@dataclass(frozen=True)
class Op:
    name: str
    carrier: str
    args: tuple = ()

    def __str__(self) -> str:
        return f"{self.name}({self.carrier}{''.join(f', {a}' for a in self.args)})"


@dataclass
class Tally:
    done: Counter = field(default_factory=Counter)  # changes the services accepted, by op
    refused_by_validation: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)  # target absent: nothing to do
    person_refused: list[str] = field(default_factory=list)  # a change refused by an error, not in words
    faults: Counter = field(default_factory=Counter)

    def merge(self, other: Tally) -> None:
        self.done.update(other.done)
        self.refused_by_validation.update(other.refused_by_validation)
        self.skipped.update(other.skipped)
        self.person_refused += other.person_refused
        self.faults.update(other.faults)

    @property
    def changes(self) -> int:
        return sum(self.done.values())


# ------------------------------------------------------------------------------- world
@dataclass
class World:
    """The carrier accounts of one run and the names its slots stand for."""

    accounts: dict  # carrier kind → CarrierAccount
    numbers: dict  # carrier kind → list of E.164 numbers (the pool of number slots)
    domain: str  # the SIP domain of subscribers on carriers that keep none of their own

    def ops_for(self, carrier: str) -> list[str]:
        caps = self.accounts[carrier].capabilities
        ops = ["create_customer", "update_customer", "rename_customer"]
        if carrier != "surevoip":  # SureVoIP's API cannot delete a customer
            ops += ["delete_customer", "recreate_customer"]
        if caps.subscribers:
            ops += ["create_subscriber", "create_subscriber", "update_subscriber", "rename_subscriber",
                    "disable_subscriber", "enable_subscriber", "delete_subscriber", "set_subscriber_forwards",
                    "clear_subscriber_forwards"]
        if self.numbers.get(carrier):
            ops += ["add_number", "add_number", "route_number", "reassign_number"]
            if "number" in caps.forward_owners:
                ops += ["set_number_forwards", "clear_number_forwards"]
            if carrier != "surevoip":  # nor release a number
                ops += ["release_number"]
        if caps.trunks:
            ops += ["create_trunk", "update_trunk", "delete_trunk"]
        return ops


def generate(world: World, rng: random.Random, length: int, fault_rate: float = 0.08,
             faults: tuple[str, ...] = FAULTS) -> list[Op]:
    """Steps that mostly find their target: the generator keeps a rough model of which
    slots exist (assuming each step succeeds) and picks targets among them. Where it is
    wrong (a step refused, a number released) the step is refused or skipped at run time."""
    carriers = sorted(world.accounts)
    made: dict[str, dict[str, set]] = {c: {"customer": set(), "subscriber": set(), "number": set(), "trunk": set(),
                                           "released": set()} for c in carriers}
    owners: dict[str, dict[tuple[str, int], int]] = {c: {} for c in carriers}  # (kind, slot) → customer slot
    ops: list[Op] = []

    def add(op: Op) -> None:
        ops.append(op)
        state, owned = made[op.carrier], owners[op.carrier]
        match op.name, op.args:
            case ("create_customer", (c, *_)):
                state["customer"].add(c)
            case ("delete_customer" | "recreate_customer", (c, *_)):
                # Refused while it has services: then it stays (and is not made again).
                if not any(owner == c for (kind, slot), owner in owned.items() if slot in state[kind]):
                    state["customer"].discard(c)
                    if op.name == "recreate_customer":
                        state["customer"].add(c)
            case ("create_subscriber", (c, s)):
                state["subscriber"].add(s)
                owned[("subscriber", s)] = c
            case ("create_trunk", (c, t, _)):
                state["trunk"].add(t)
                owned[("trunk", t)] = c
            case ("add_number", (n, c)):
                state["number"].add(n)
                if c is not None:
                    owned[("number", n)] = c
            case ("reassign_number", (n, c)):
                owned[("number", n)] = c
            case ("rename_subscriber", (s, new)):
                if new not in state["subscriber"]:
                    state["subscriber"].discard(s)
                    state["subscriber"].add(new)
                    if ("subscriber", s) in owned:
                        owned[("subscriber", new)] = owned.pop(("subscriber", s))
            case ("delete_subscriber", (s,)):
                state["subscriber"].discard(s)
            case ("release_number", (n,)):
                state["number"].discard(n)
                state["released"].add(n)
                owned.pop(("number", n), None)
            case ("delete_trunk", (t,)):
                state["trunk"].discard(t)

    for carrier in carriers:  # every account starts with a customer
        add(Op("create_customer", carrier, (0,)))
    while len(ops) < length:
        carrier = rng.choice(carriers)
        if faults and rng.random() < fault_rate:
            add(Op(rng.choice(faults), carrier, (rng.randrange(1000),)))
            continue
        name = rng.choice(world.ops_for(carrier))
        args = _args(name, rng, made[carrier])
        if args is not None:
            add(Op(name, carrier, args))
    return ops


def _one(rng: random.Random, existing: set, slots: int, absent: bool = False) -> int | None:
    """A slot that exists (or, ``absent``, one that does not); now and then any slot, so that
    steps on what is not there are exercised too."""
    pool = sorted(set(range(slots)) - existing) if absent else sorted(existing)
    if not pool or rng.random() < 0.1:
        return rng.randrange(slots) if rng.random() < 0.3 else None
    return rng.choice(pool)


def _args(name: str, rng: random.Random, made: dict[str, set]) -> tuple | None:
    def some(kind: str, slots: int, absent: bool = False):
        return _one(rng, made[kind] - (made["released"] if kind == "number" and absent else set()), slots, absent)

    c = some("customer", CUSTOMER_SLOTS)
    pick = rng.randrange(1000)
    match name:
        case "create_customer":
            new = some("customer", CUSTOMER_SLOTS, absent=True)
            return None if new is None else (new,)
        case "update_customer" | "rename_customer":
            return None if c is None else (c, pick)
        case "delete_customer" | "recreate_customer":
            return None if c is None else (c,)
        case "create_subscriber":
            s = some("subscriber", SUBSCRIBER_SLOTS, absent=True)
            return None if c is None or s is None else (c, s)
        case "update_subscriber" | "set_subscriber_forwards":
            s = some("subscriber", SUBSCRIBER_SLOTS)
            return None if s is None else (s, pick)
        case "rename_subscriber":
            s = some("subscriber", SUBSCRIBER_SLOTS)
            return None if s is None else (s, rng.randrange(SUBSCRIBER_SLOTS))
        case "disable_subscriber" | "enable_subscriber" | "delete_subscriber" | "clear_subscriber_forwards":
            s = some("subscriber", SUBSCRIBER_SLOTS)
            return None if s is None else (s,)
        case "add_number":
            n = _one(rng, made["number"] | made["released"], NUMBER_SLOTS, absent=True)
            return None if n is None else (n, c if pick % 4 else None)
        case "route_number":
            n = some("number", NUMBER_SLOTS)
            s = some("subscriber", SUBSCRIBER_SLOTS)
            return None if n is None else (n, s if s is not None else 0, pick)
        case "reassign_number":
            n = some("number", NUMBER_SLOTS)
            return None if n is None or c is None else (n, c)
        case "set_number_forwards":
            n = some("number", NUMBER_SLOTS)
            return None if n is None else (n, pick)
        case "clear_number_forwards" | "release_number":
            n = some("number", NUMBER_SLOTS)
            return None if n is None else (n,)
        case "create_trunk":
            t = some("trunk", TRUNK_SLOTS, absent=True)
            return None if c is None or t is None else (c, t, pick)
        case "update_trunk":
            t = some("trunk", TRUNK_SLOTS)
            return None if t is None else (t, pick)
        case "delete_trunk":
            t = some("trunk", TRUNK_SLOTS)
            return None if t is None else (t,)
    raise AssertionError(f"unknown step {name}")


# ---------------------------------------------------------------------------- execution
class Absent(Exception):
    """The step's target is not there (deleted earlier, or never made): nothing to do."""


def _ref(slot: int) -> str:
    return f"C{slot}"


def _customer(world: World, carrier: str, slot: int) -> Customer:
    found = Customer.objects.filter(carrier_account=world.accounts[carrier], external_ref=_ref(slot)).first()
    if found is None:
        raise Absent
    return found


def _subscriber(world: World, carrier: str, slot: int) -> Subscriber:
    found = (Subscriber.objects.filter(carrier_account=world.accounts[carrier], username=_username(slot))
             .select_related("customer").first())
    if found is None:
        raise Absent
    return found


def _username(slot: int) -> str:
    return f"20{slot:02d}"  # digits: a Simotel extension


def _trunk(world: World, carrier: str, slot: int) -> Trunk:
    found = Trunk.objects.filter(carrier_account=world.accounts[carrier], name=f"PBX{slot}").first()
    if found is None:
        raise Absent
    return found


def _number(world: World, carrier: str, slot: int) -> Number:
    e164 = world.numbers[carrier][slot % len(world.numbers[carrier])]
    found = Number.objects.filter(carrier_account=world.accounts[carrier], e164=e164).first()
    if found is None or found.status == NumberStatus.RELEASED:
        raise Absent
    return found


def customer_fields(slot: int, pick: int = 0) -> dict:
    return {
        "name": NAMES[slot % len(NAMES)], "email": f"desk{slot}@c{slot}.example", "phone": f"+4411794601{slot:02d}",
        "contact_name": CONTACTS[pick % len(CONTACTS)], "address_line1": "1 Quay Street", "city": "Bristol",
        "postcode": "BS1 4AA", "country": "GB", "external_ref": _ref(slot),
    }  # fmt: skip


def execute(world: World, op: Op, tally: Tally, injector=None) -> str:
    """Run one step as a page would; returns how it ended: done, refused, skipped, fault, error."""
    try:
        if op.name in FAULTS:
            if injector is None:
                tally.skipped[op.name] += 1
                return "skipped"
            injector.inject(op)
            tally.faults[op.name] += 1
            return "fault"
        _run(world, op)
    except Absent:
        tally.skipped[op.name] += 1
        return "skipped"
    except ValidationError:
        tally.refused_by_validation[op.name] += 1
        return "refused"
    except Exception as exc:  # noqa: BLE001 — a person's change refused by a crash is what we count
        tally.person_refused.append(f"{op}: {type(exc).__name__}: {exc}")
        return "error"
    finally:
        connection.close_if_unusable_or_obsolete()
    tally.done[op.name] += 1
    return "done"


def _run(world: World, op: Op) -> None:
    carrier, args = op.carrier, op.args
    account = world.accounts[carrier]
    caps = account.capabilities
    match op.name:
        case "create_customer" | "recreate_customer":
            (slot,) = args
            if op.name == "recreate_customer":
                existing = Customer.objects.filter(carrier_account=account, external_ref=_ref(slot)).first()
                if existing is not None:
                    delete_customer(existing)
            elif Customer.objects.filter(carrier_account=account, external_ref=_ref(slot)).exists():
                raise Absent  # the page would show it exists; nothing to add
            create_customer(reseller=account.reseller, carrier_account=account, **customer_fields(slot))
        case "update_customer":
            slot, pick = args
            update_customer(_customer(world, carrier, slot), contact_name=CONTACTS[pick % len(CONTACTS)],
                            postcode=f"BS{pick % 9 + 1} 4AA")
        case "rename_customer":
            slot, pick = args
            customer = _customer(world, carrier, slot)
            update_customer(customer, name=f"{NAMES[slot % len(NAMES)]} {'Ltd' if pick % 2 else 'Group'}")
        case "delete_customer":
            delete_customer(_customer(world, carrier, args[0]))
        case "create_subscriber":
            slot, s = args
            customer = _customer(world, carrier, slot)
            if Subscriber.objects.filter(carrier_account=account, username=_username(s)).exists():
                raise Absent
            domain = "" if caps.fixed_sip_domain else world.domain
            create_subscriber(customer=customer, username=_username(s), domain=domain, display_name=DISPLAY[s % 5])
        case "update_subscriber":
            s, pick = args
            update_subscriber(_subscriber(world, carrier, s), display_name=DISPLAY[pick % len(DISPLAY)])
        case "rename_subscriber":
            s, new = args
            update_subscriber(_subscriber(world, carrier, s), username=_username(new))
        case "disable_subscriber":
            disable_subscriber(_subscriber(world, carrier, args[0]))
        case "enable_subscriber":
            enable_subscriber(_subscriber(world, carrier, args[0]))
        case "delete_subscriber":
            delete_subscriber(_subscriber(world, carrier, args[0]))
        case "set_subscriber_forwards" | "set_number_forwards":
            slot, pick = args
            owner = (_subscriber if op.name == "set_subscriber_forwards" else _number)(world, carrier, slot)
            types = sorted(caps.forward_types)
            kind = types[pick % len(types)]
            targets = [(FORWARD_TARGETS[(pick + i) % 3], 20) for i in range(min(caps.max_destinations, 1 + pick % 2))]
            set_forwards(owner, [ForwardInput(kind, bool(pick % 5), targets)])
        case "clear_subscriber_forwards":
            set_forwards(_subscriber(world, carrier, args[0]), [])
        case "clear_number_forwards":
            set_forwards(_number(world, carrier, args[0]), [])
        case "add_number":
            n, slot = args
            e164 = world.numbers[carrier][n % len(world.numbers[carrier])]
            if Number.objects.filter(carrier_account=account, e164=e164).exclude(status=NumberStatus.RELEASED).exists():
                raise Absent
            if Number.objects.filter(carrier_account=account, e164=e164).exists():
                raise Absent  # released: a number released at the carrier is not taken back here
            customer = _customer(world, carrier, slot) if slot is not None else None
            add_number(reseller=account.reseller, carrier_account=account, e164=e164, customer=customer)
        case "route_number":
            n, s, pick = args
            number = _number(world, carrier, n)
            if caps.subscribers:
                subscriber = _subscriber(world, carrier, s)
                update_number(number, customer=subscriber.customer, subscriber=subscriber, destination="")
            else:
                update_number(number, destination=f"sip:{pick % 7}@pbx{pick % 3}.example.com")
        case "reassign_number":
            n, slot = args
            update_number(_number(world, carrier, n), customer=_customer(world, carrier, slot), subscriber=None)
        case "release_number":
            release_number(_number(world, carrier, args[0]))
        case "create_trunk":
            slot, t, pick = args
            customer = _customer(world, carrier, slot)
            if Trunk.objects.filter(carrier_account=account, name=f"PBX{t}").exists():
                raise Absent  # trunk names are the carrier's keys: one per account in this model
            fields = {"name": f"PBX{t}", "type": "auth" if "ip" not in caps.trunk_types else "ip"}
            if fields["type"] == "ip" and "allowed_ips" in caps.trunk_fields:
                fields["allowed_ips"] = [IPS[pick % 3]]
            if "host" in caps.trunk_fields:
                fields["host"] = "pbx.example.com"
            if "channels_in" in caps.trunk_fields:
                fields["channels_in"] = 2 + pick % 5
            create_trunk(customer=customer, **fields)
        case "update_trunk":
            t, pick = args
            trunk = _trunk(world, carrier, t)
            changes = {"enabled": bool(pick % 3)}
            if trunk.type == "ip" and "allowed_ips" in caps.trunk_fields:
                changes["allowed_ips"] = sorted({IPS[pick % 3], IPS[(pick // 3) % 3]})
            if "channels_out" in caps.trunk_fields:
                changes["channels_out"] = None if pick % 4 == 0 else 1 + pick % 8
            update_trunk(trunk, **changes)
        case "delete_trunk":
            delete_trunk(_trunk(world, carrier, args[0]))
        case _:
            raise AssertionError(f"unknown step {op.name}")


def build_world(control, make_reseller, token: str) -> World:
    """One fresh sandbox account per carrier, all of one reseller, and the slots' numbers:
    stock the carrier sells where it sells numbers, fresh ones on Sipwise (its numbers are
    a subscriber's, unique on the platform), none on Simotel (it holds no numbers).

    One reseller per account: a customer's slot is its external reference, unique per reseller."""
    from tests.fresh_numbers import fresh_e164

    from .infra import carrier_account, sandbox_state

    accounts, numbers = {}, {}
    for kind in ("simwood", "surevoip", "sipwise", "simotel"):
        # A hang must not hold a worker for the default 15 s read timeout.
        account = carrier_account(control, kind, make_reseller(kind), read_timeout=3.0)
        accounts[kind] = account
        if kind in ("simwood", "surevoip"):
            stock = sandbox_state(control, account)["stock"]
            numbers[kind] = ["+" + n for n in sorted(stock)[:NUMBER_SLOTS]]
        elif kind == "sipwise":
            numbers[kind] = [fresh_e164() for _ in range(NUMBER_SLOTS)]
    return World(accounts, numbers, f"pbx-{token}.example.com")
