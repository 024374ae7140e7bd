"""The carrier emulators the sandbox serves, each under its own path prefix."""

from __future__ import annotations

from ..base import CarrierEmulator
from .simotel import SimotelEmulator

EMULATORS: list[type[CarrierEmulator]] = [SimotelEmulator]
