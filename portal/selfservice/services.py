"""Phone settings delivered safely: a one-time link to a SIP account's new password.

``send_phone_settings`` makes a new password for the SIP account (through the subscriber
service: audited, sent to the carrier) and mails the phone's user the account's username
and domain with a link; the password itself is never in the mail, a page or a log. The
link shows the password once: the first person to open it and ask for the password is
the only one who sees it; after a day, or once the password changed again, it shows
nothing.
"""

from __future__ import annotations

import logging
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from portal.branding.brand import brand_of_reseller
from portal.subscribers.models import Subscriber
from portal.subscribers.services import reset_sip_password
from portal.sync.provisioning import change_by

from .models import PhoneSettingsLink, token_digest

log = logging.getLogger(__name__)


class LinkUnusable(Exception):
    """The link was used, has expired, or never existed."""


class LinkOutdated(LinkUnusable):
    """The SIP account's password changed after the link was sent."""


def _password_digest(password: str) -> str:
    return salted_hmac("portal.selfservice.phone-settings", password).hexdigest()


def send_phone_settings(subscriber: Subscriber, *, email: str, actor, site_url: str) -> PhoneSettingsLink:
    """Give the SIP account a new password and mail ``email`` a one-time link to it."""
    with transaction.atomic():
        password = reset_sip_password(subscriber, actor=actor)
        with change_by(actor):
            link = PhoneSettingsLink(subscriber=subscriber, email=email.strip().lower(), sent_by=actor,
                                     password_digest=_password_digest(password))
            token = link.issue_token()
            link.full_clean()
            link.save()
        url = site_url.rstrip("/") + reverse("phone_settings", args=[token])
        # Only once the password and the link are stored: a mail must never point at nothing.
        transaction.on_commit(lambda: _mail(link, url))
    log.info("phone settings link %s made for subscriber %s", link.pk, subscriber.pk)
    return link


def _mail(link: PhoneSettingsLink, url: str) -> None:
    subscriber = link.subscriber
    brand = brand_of_reseller(subscriber.customer.reseller_id)
    context = {"link": link, "url": url, "subscriber": subscriber, "brand": brand, "customer": subscriber.customer}
    subject = render_to_string("selfservice/email/phone_settings_subject.txt", context).strip()
    body = render_to_string("selfservice/email/phone_settings_message.txt", context)
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    send_mail(subject, body, formataddr((brand.name, address)), [link.email])


def with_states(subscriber: Subscriber, links) -> list[PhoneSettingsLink]:
    """The links, each with ``outdated``: the SIP account's password changed after it was sent."""
    current = _password_digest(subscriber.sip_password) if subscriber.sip_password else ""
    links = list(links)
    for link in links:
        link.outdated = not constant_time_compare(current, link.password_digest)
    return links


def link_of(token: str) -> PhoneSettingsLink | None:
    """The usable link ``token`` names (None: used, expired or unknown)."""
    return (PhoneSettingsLink.objects.usable().select_related("subscriber__customer")
            .filter(token_hash=token_digest(token)).first())


def reveal_password(link: PhoneSettingsLink) -> str:
    """The SIP password, this one time: the link is used up by the statement that claims it (committed
    on its own, so a link found out of date is used up too)."""
    claimed = PhoneSettingsLink.objects.usable().filter(pk=link.pk).update(revealed_at=timezone.now())
    if not claimed:
        raise LinkUnusable
    password = Subscriber.objects.filter(pk=link.subscriber_id).values_list("sip_password", flat=True).first()
    if not password or not constant_time_compare(_password_digest(password), link.password_digest):
        raise LinkOutdated
    log.info("phone settings link %s opened", link.pk)
    return password
