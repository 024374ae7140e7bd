"""Phone numbers no other test has used, for carriers whose numbers are unique platform-wide.

Sipwise keeps one number table for all resellers (``notes-sipwise.md`` 5.5): a number held by
a subscriber of any sandbox account is refused to every other. The session's sandbox lives
as long as the test run (and one started by hand, ``SANDBOX_URL``, across runs), so each test
takes its own numbers from here instead of writing fixed ones.

Numbers are valid Leeds numbers (+44 113 2xx xxxx to 5xx xxxx), counted from a random start,
so two runs against the same sandbox are very unlikely to meet.
"""

from __future__ import annotations

import itertools
import secrets

_BLOCK = 4_000_000  # +44 113 2000000 … 5999999: every one a valid UK number
_counter = itertools.count(secrets.randbelow(_BLOCK))


def fresh_e164() -> str:
    """A UK number, E.164, that no earlier call of this run returned."""
    return f"+44113{2_000_000 + next(_counter) % _BLOCK}"


def fresh_sipwise_number(country_code: str = "43", area_code: str = "9876") -> dict[str, str]:
    """A Sipwise ``{cc, ac, sn}`` number that no earlier call of this run returned."""
    return {"cc": country_code, "ac": area_code, "sn": fresh_e164()[6:]}
