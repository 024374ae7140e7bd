"""The adapter config of a sandbox account, as the control API describes it."""

from __future__ import annotations

from portal.carriers.base import AccountConfig

# What the portal keeps encrypted; every other key of a sandbox account is a plain setting.
SECRET_KEYS = frozenset({"password", "api_key"})


def config_for(account: dict, **settings_overrides) -> AccountConfig:
    values = account["settings"]
    return AccountConfig(
        base_url=account["base_url"],
        credentials={k: v for k, v in values.items() if k in SECRET_KEYS},
        settings={**{k: v for k, v in values.items() if k not in SECRET_KEYS}, **settings_overrides},
    )
