"""Carrier adapters: one module per carrier behind the interface in ``base``."""

from __future__ import annotations

from importlib import import_module

from .base import AccountConfig, CarrierAdapter

# kind -> "module:Class"; imported lazily so one broken adapter cannot break the others.
ADAPTERS = {
    "simwood": "portal.carriers.simwood:SimwoodAdapter",
    "surevoip": "portal.carriers.surevoip:SureVoIPAdapter",
    "sipwise": "portal.carriers.sipwise:SipwiseAdapter",
    "simotel": "portal.carriers.simotel:SimotelAdapter",
}


def adapter_class(kind: str) -> type[CarrierAdapter]:
    module_name, _, class_name = ADAPTERS[kind].partition(":")
    return getattr(import_module(module_name), class_name)


def get_adapter(kind: str, config: AccountConfig, **kwargs) -> CarrierAdapter:
    return adapter_class(kind)(config, **kwargs)
