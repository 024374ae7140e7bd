from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from portal.sync.models import Provisioned
from portal.tenancy.scoping import ScopedQuerySet

MAX_DESTINATIONS = 10
MIN_RING_TIMEOUT = 5
MAX_RING_TIMEOUT = 300


class ForwardType(models.TextChoices):
    UNCONDITIONAL = "unconditional", "Always"
    BUSY = "busy", "When busy"
    NO_ANSWER = "no_answer", "When not answered"
    UNAVAILABLE = "unavailable", "When unavailable"


class CallForward(Provisioned):
    """Where calls to a subscriber or a number go instead, in order, and when."""

    subscriber = models.ForeignKey(
        "subscribers.Subscriber", null=True, blank=True, on_delete=models.CASCADE, related_name="forwards"
    )
    number = models.ForeignKey("numbers.Number", null=True, blank=True, on_delete=models.CASCADE, related_name="forwards")
    type = models.CharField(max_length=16, choices=ForwardType.choices, default=ForwardType.UNCONDITIONAL)
    enabled = models.BooleanField(default=True)

    objects = ScopedQuerySet.as_manager()
    # A forward reaches its reseller and customer through whichever owner it has.
    reseller_path = ("subscriber__customer__reseller", "number__reseller")
    customer_path = ("subscriber__customer", "number__customer")

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(subscriber__isnull=False) & models.Q(number__isnull=True))
                | (models.Q(subscriber__isnull=True) & models.Q(number__isnull=False)),
                name="forward_has_one_owner",
                violation_error_message="A forward belongs to a subscriber or a number.",
            ),
            models.UniqueConstraint(
                fields=["subscriber", "type"],
                condition=models.Q(subscriber__isnull=False),
                name="forward_type_unique_per_subscriber",
                violation_error_message="This subscriber already has a forward of this type.",
            ),
            models.UniqueConstraint(
                fields=["number", "type"],
                condition=models.Q(number__isnull=False),
                name="forward_type_unique_per_number",
                violation_error_message="This number already has a forward of this type.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} forward of {self.owner}"

    @property
    def owner(self):
        return self.subscriber if self.subscriber_id else self.number

    @property
    def owner_kind(self) -> str:
        return "subscriber" if self.subscriber_id else "number"

    def owner_numbers(self) -> set[str]:
        """The owner's own numbers: forwarding to one of them would loop."""
        if self.number_id:
            return {self.number.e164}
        if self.subscriber_id:
            return set(self.subscriber.numbers.values_list("e164", flat=True))
        return set()


class ForwardDestination(models.Model):
    forward = models.ForeignKey(CallForward, on_delete=models.CASCADE, related_name="destinations")
    position = models.PositiveSmallIntegerField(default=0)
    target = models.CharField(max_length=255, help_text="+44… or sip:user@host")
    timeout = models.PositiveSmallIntegerField(
        "ring timeout (seconds)",
        default=20,
        validators=[MinValueValidator(MIN_RING_TIMEOUT), MaxValueValidator(MAX_RING_TIMEOUT)],
    )

    class Meta:
        ordering = ["forward", "position"]

    def __str__(self) -> str:
        return f"{self.target} ({self.timeout}s)"


class ForwardWindow(models.Model):
    """When the forward applies (none: always): each week on ``weekdays`` from ``start`` to
    ``end``, or, with dates (a holiday), once from ``start_date`` at ``start`` to ``end_date``
    at ``end`` (to the end of 2 Jan is 3 Jan at 00:00)."""

    forward = models.ForeignKey(CallForward, on_delete=models.CASCADE, related_name="windows")
    weekdays = models.JSONField(default=list, blank=True, help_text="0 = Monday … 6 = Sunday; none for dates")
    start = models.TimeField()
    end = models.TimeField()
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="Europe/London")

    class Meta:
        ordering = ["forward", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_date__isnull=True, end_date__isnull=True)
                | models.Q(start_date__isnull=False, end_date__isnull=False),
                name="forward_window_dates_together",
                violation_error_message="A dated window needs a start date and an end date.",
            )
        ]

    @property
    def dated(self) -> bool:
        return self.start_date is not None

    def __str__(self) -> str:
        if self.start_date:
            return f"{self.start_date} {self.start:%H:%M} – {self.end_date} {self.end:%H:%M} {self.timezone}"
        return f"{self.weekdays} {self.start:%H:%M}–{self.end:%H:%M} {self.timezone}"

    def clean(self) -> None:
        from portal.forwards.validation import validate_window

        validate_window(self.weekdays, self.start, self.end, self.timezone, self.start_date, self.end_date)

