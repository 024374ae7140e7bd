"""The carrier emulators the sandbox serves, each under its own path prefix."""

from __future__ import annotations

from ..base import CarrierEmulator
from .simotel import SimotelEmulator
from .simwood import SimwoodEmulator
from .sipwise import SipwiseEmulator
from .surevoip import SureVoIPEmulator

EMULATORS: list[type[CarrierEmulator]] = [SimotelEmulator, SureVoIPEmulator, SimwoodEmulator, SipwiseEmulator]
