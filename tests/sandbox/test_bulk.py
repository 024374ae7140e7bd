"""``POST /_sandbox/accounts/{id}/bulk``: many synthetic carrier objects at once (benchmarks)."""

from __future__ import annotations

import pytest

from portal.carriers import get_adapter
from portal.carriers.base import AccountConfig


def simotel_adapter(account: dict, page_size: int = 100):
    settings = account["settings"]
    config = AccountConfig(
        base_url=account["base_url"],
        credentials={"password": settings["password"], "api_key": settings["api_key"]},
        settings={"username": settings["username"], "page_size": page_size},
    )
    return get_adapter("simotel", config)


def test_simotel_makes_users_with_consecutive_extensions(new_sandbox_account, sandbox_control):
    account = new_sandbox_account("simotel")

    answer = sandbox_control.post(f"/_sandbox/accounts/{account['id']}/bulk", json={"kind": "subscriber", "count": 25})

    assert answer.status_code == 201
    assert answer.json() == {"kind": "subscriber", "created": 25, "first": "10000", "last": "10024"}
    with simotel_adapter(account, page_size=10) as adapter:
        listed = sorted(spec.username for _, spec in adapter.iter_subscribers())
        forwarding = [remote_id for remote_id, forwards in adapter.iter_forwards("subscriber") if forwards]
    assert listed == [str(n) for n in range(10000, 10025)]
    assert len(forwarding) == 3  # every tenth: 10000, 10010, 10020


def test_a_second_batch_follows_the_first(new_sandbox_account, sandbox_control):
    account = new_sandbox_account("simotel")
    sandbox_control.post(f"/_sandbox/accounts/{account['id']}/bulk", json={"kind": "subscriber", "count": 2})
    answer = sandbox_control.post(f"/_sandbox/accounts/{account['id']}/bulk", json={"kind": "subscriber", "count": 2})
    assert answer.json()["first"] == "10002"
    state = sandbox_control.get(f"/_sandbox/accounts/{account['id']}/state").json()
    assert len(state["users"]) == 4


@pytest.mark.parametrize(
    "carrier, body, message",
    [
        ("simotel", {"kind": "trunk", "count": 1}, "simotel can make in bulk: subscriber"),
        ("simotel", {"kind": "subscriber", "count": 0}, "count must be"),
        ("simotel", {"kind": "subscriber", "count": "10"}, "count must be"),
        ("simotel", {"kind": "subscriber", "count": 200_001}, "count must be"),
        ("simwood", {"kind": "subscriber", "count": 1}, "simwood can make in bulk: nothing"),
    ],
)
def test_bulk_refuses_what_it_cannot_make(carrier, body, message, new_sandbox_account, sandbox_control):
    account = new_sandbox_account(carrier)
    answer = sandbox_control.post(f"/_sandbox/accounts/{account['id']}/bulk", json=body)
    assert answer.status_code == 400 and message in answer.json()["error"]


def test_bulk_for_an_unknown_account_is_404(sandbox_control):
    answer = sandbox_control.post("/_sandbox/accounts/nobody/bulk", json={"kind": "subscriber", "count": 1})
    assert answer.status_code == 404
