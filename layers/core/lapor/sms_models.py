"""The SMS webhooks' bodies (design §4 "SMS") as pydantic models: SmsFunction validates with them and the
OpenAPI document (:mod:`lapor.sms_openapi`) is generated from them. Pydantic only: nothing here touches AWS."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_TEXT = 1600  # the longest SMS providers deliver (concatenated parts)
MAX_MESSAGE_ID = 128  # a provider's message id is part of a table key (Twilio's are 34 characters)


class GenericSms(BaseModel):
    """A message from the generic SMS gateway, signed with ``X-Signature: sha256=<hex HMAC-SHA256 of the body>``."""

    model_config = ConfigDict(populate_by_name=True, title="GenericSms")
    message_id: str = Field(min_length=1, max_length=MAX_MESSAGE_ID,
                            description="The gateway's id of the message: a resent id never files twice.")
    sender: str = Field(alias="from", min_length=3, max_length=32, examples=["+6281298765432"],
                        description="The sender's phone number, E.164 or Indonesian local format (0812...).")
    to: str = Field(min_length=1, max_length=32, examples=["1708"],
                    description="The Lapor number the message was sent to: it picks the region of free text.")
    text: str = Field("", max_length=MAX_TEXT, description="The message as the sender wrote it.")
    received_at: str | None = Field(None, description="When the gateway received it (ISO 8601); informative.")


class TwilioSms(BaseModel):
    """The fields of Twilio's incoming-message webhook that Lapor reads. Twilio sends more (AccountSid,
    NumMedia, ...): every field is covered by ``X-Twilio-Signature`` and none is refused."""

    model_config = ConfigDict(extra="allow", title="TwilioSms")
    MessageSid: str = Field(min_length=1, max_length=MAX_MESSAGE_ID, examples=["SM" + "0" * 32])
    From: str = Field(min_length=1, examples=["+6281298765432"],
                      description="The sender; a sender that is no phone number gets an empty TwiML reply.")
    To: str = Field(min_length=1, examples=["+621708"], description="The Lapor number the message was sent to.")
    Body: str = Field("", description=f"The message; text beyond {MAX_TEXT} characters is cut.")


TWILIO_REQUIRED = tuple(name for name, field in TwilioSms.model_fields.items() if field.is_required())


class SmsReply(BaseModel):
    """The generic webhook's answer: the text to send back to the sender (Bahasa Indonesia)."""

    reply: str
