"""Phone numbers in one form (E.164), so ``0812…``, ``62812…`` and ``+62812…`` are the same person."""

from __future__ import annotations


def to_e164(raw: str) -> str:
    """``raw`` as E.164, read as Indonesian unless it carries a country code; ValueError if it is no number."""
    import phonenumbers  # its metadata is large: only requests that carry a number pay for it

    try:
        number = phonenumbers.parse(raw, "ID")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
