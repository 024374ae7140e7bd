"""The VoIP reseller portal."""

__version__ = "0.1.0"
