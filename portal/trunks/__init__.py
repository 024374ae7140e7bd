"""SIP trunks of a customer."""
