"""Every validation rule of the domain model, with a bad and a good value."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from portal.core.validators import normalise_destination, normalise_e164, validate_ip_or_cidr, validate_sip_uri
from portal.forwards.validation import validate_destinations, validate_window


class TestE164:
    @pytest.mark.parametrize(
        ("given", "expected"),
        [("+44 20 7946 0000", "+442079460000"), ("0044 20 7946 0000", "+442079460000"), ("+1 (212) 555-0100", "+12125550100")],
    )
    def test_good_numbers_are_normalised(self, given, expected):
        assert normalise_e164(given) == expected

    @pytest.mark.parametrize(
        ("given", "code"),
        [("020 7946 0000", "e164_prefix"), ("+44 12", "e164_invalid"), ("+hello", "e164"), ("", "e164_prefix")],
    )
    def test_bad_numbers_say_why(self, given, code):
        with pytest.raises(ValidationError) as exc:
            normalise_e164(given)
        assert exc.value.code == code


class TestSipUri:
    @pytest.mark.parametrize("uri", ["sip:alice@pbx.example.com", "sips:bob@192.0.2.1:5061", "sip:pbx.example.com;transport=tcp"])
    def test_good(self, uri):
        validate_sip_uri(uri)

    @pytest.mark.parametrize("uri", ["alice@example.com", "sip:", "sip:alice@", "http://example.com", "sip:a@b:70000"])
    def test_bad(self, uri):
        with pytest.raises(ValidationError):
            validate_sip_uri(uri)

    def test_destination_takes_either_form(self):
        assert normalise_destination("sip:alice@pbx.example.com") == "sip:alice@pbx.example.com"
        assert normalise_destination("+44 7400 123456") == "+447400123456"
        with pytest.raises(ValidationError, match="neither"):
            normalise_destination("alice")


class TestIpOrCidr:
    @pytest.mark.parametrize("value", ["192.0.2.10", "192.0.2.0/24", "2001:db8::/32", "2001:db8::1"])
    def test_good(self, value):
        validate_ip_or_cidr(value)

    @pytest.mark.parametrize(("value", "reason"), [("192.0.2.1/24", "host bits"), ("300.1.1.1", "not an IP"), ("example.com", "not an IP")])
    def test_bad(self, value, reason):
        with pytest.raises(ValidationError, match=reason):
            validate_ip_or_cidr(value)


class TestForwardDestinations:
    def test_good_destinations_are_normalised(self):
        cleaned = validate_destinations([("+44 7400 123456", 20), ("sip:desk@pbx.example.com", 300)])
        assert cleaned == [("+447400123456", 20), ("sip:desk@pbx.example.com", 300)]

    def test_more_than_ten_destinations(self):
        eleven = [(f"+4474001234{n:02d}", 20) for n in range(11)]
        with pytest.raises(ValidationError, match="at most 10"):
            validate_destinations(eleven)
        assert len(validate_destinations(eleven[:10])) == 10

    @pytest.mark.parametrize("timeout", [4, 301, 0])
    def test_timeout_out_of_range(self, timeout):
        with pytest.raises(ValidationError, match="between 5 and 300"):
            validate_destinations([("+447400123456", timeout)])

    @pytest.mark.parametrize("timeout", [5, 300])
    def test_timeout_bounds_are_allowed(self, timeout):
        assert validate_destinations([("+447400123456", timeout)]) == [("+447400123456", timeout)]

    def test_forward_to_own_number_is_a_loop(self):
        with pytest.raises(ValidationError, match="loop"):
            validate_destinations([("+44 20 7946 0000", 20)], owner_numbers={"+442079460000"})
        assert validate_destinations([("+442079460001", 20)], owner_numbers={"+442079460000"})

    def test_every_problem_is_reported_at_once(self):
        with pytest.raises(ValidationError) as exc:
            validate_destinations([("nonsense", 20), ("+447400123456", 1)])
        assert len(exc.value.messages) == 2
        assert exc.value.messages[0].startswith("Destination 1:")
        assert exc.value.messages[1].startswith("Destination 2:")


class TestForwardWindow:
    def test_good(self):
        validate_window([0, 1, 2, 3, 4], dt.time(9), dt.time(17, 30), "Europe/London")

    @pytest.mark.parametrize(
        ("weekdays", "start", "end", "tz", "message"),
        [
            ([], dt.time(9), dt.time(17), "Europe/London", "at least one weekday"),
            ([7], dt.time(9), dt.time(17), "Europe/London", "0 \\(Monday\\) to 6"),
            ([0], dt.time(17), dt.time(9), "Europe/London", "end after it starts"),
            ([0], dt.time(9), dt.time(17), "Mars/Olympus", "not a time zone"),
        ],
    )
    def test_bad(self, weekdays, start, end, tz, message):
        with pytest.raises(ValidationError, match=message):
            validate_window(weekdays, start, end, tz)
