"""MediaFunction: an upload arrived in the attachments bucket (S3 ObjectCreated under ``uploads/``).

It checks the object (size, real type from the bytes, decodes it whole), writes the re-encoded file and its
thumbnail under ``ready/``, and marks the attachment ``ready`` with an ``attachment_added`` timeline event in one
transaction; or marks it ``rejected`` with a reason. Either way the upload is deleted. Only a pending attachment
with this id is processed, so a redelivered event does nothing twice, and an upload for an attachment removed or
hidden meanwhile (or unknown) is deleted unread. If the attachment was removed or hidden while its files were
being made, the transaction refuses it and the files are deleted: nothing comes back to life.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from lapor import attachments, runtime
from lapor.dal.reports import ReportChanged, WriteRefused
from lapor.observability import logger, traced_handler
from lapor.settings import get_settings

RETRIES = 5


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def handle_upload(bucket: str, key: str, size: int) -> str:
    """Process one uploaded object; the outcome (``ready``, ``rejected``, ``ignored``)."""
    parsed = attachments.parse_upload_key(key)
    if parsed is None:
        logger.warning("not an upload key; ignored")
        return "ignored"
    tracking_id, attachment_id = parsed
    store, s3 = runtime.store(), runtime.s3()
    found = [a for a in store.list_attachments(tracking_id) if a["attachment_id"] == attachment_id]
    if not found or found[0]["status"] != "pending":
        # A redelivery (already done), an attachment removed or hidden, or a slot taken over since: nothing to do,
        # and no reason to keep the bytes (a ready attachment's upload was deleted when it was made ready).
        logger.info("attachment not pending; upload ignored",
                    extra={"tracking_id": tracking_id, "attachment_id": attachment_id})
        s3.delete_object(Bucket=bucket, Key=key)
        return "ignored"
    attachment = found[0]
    try:
        attachments.check_size(size)  # before reading a byte: moto (and a misused policy) let anything in
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read(attachments.MAX_BYTES + 1)
        processed = attachments.process(data, attachment["content_type"])
    except attachments.Refused as refused:
        store.reject_attachment(tracking_id, attachment["slot"], attachment_id, refused.reason)
        s3.delete_object(Bucket=bucket, Key=key)
        logger.info("attachment rejected", extra={"tracking_id": tracking_id, "attachment_id": attachment_id,
                                                  "reason": refused.reason})
        return "rejected"
    del data
    object_key = attachments.ready_key(tracking_id, attachment_id)
    s3.put_object(Bucket=bucket, Key=object_key, Body=processed.body, ContentType=processed.content_type,
                  ServerSideEncryption="AES256")
    changes: dict[str, Any] = {"object_key": object_key, "stored_size": len(processed.body)}
    if processed.thumbnail is not None:
        changes["thumbnail_key"] = attachments.thumbnail_key(tracking_id, attachment_id)
        s3.put_object(Bucket=bucket, Key=changes["thumbnail_key"], Body=processed.thumbnail,
                      ContentType="image/jpeg", ServerSideEncryption="AES256")
    from lapor.intake import new_event

    for _ in range(RETRIES):
        record = store.get_report(tracking_id)
        now = _now()
        event = new_event("attachment_added", now, attachment["actor_role"], "system",
                          attachment_id=attachment_id, content_type=processed.content_type)
        # The report's first ready image is what Open311 shows as media_url.
        media = ({"media_key": object_key} if processed.content_type in attachments.IMAGE_TYPES
                 and not record.get("media_key") else {})
        try:
            store.attachment_ready(record, attachment["slot"], attachment_id, changes, event=event,
                                   now_utc=event["at"], report_changes=media)
            break
        except WriteRefused:
            logger.info("attachment no longer pending", extra={"tracking_id": tracking_id,
                                                               "attachment_id": attachment_id})
            _forget_files(store, s3, bucket, tracking_id, attachment_id, key, changes)
            return "ignored"
        except ReportChanged:
            continue  # the report changed meanwhile: read it again
    else:
        raise ReportChanged(tracking_id)
    s3.delete_object(Bucket=bucket, Key=key)
    logger.info("attachment ready", extra={"tracking_id": tracking_id, "attachment_id": attachment_id})
    return "ready"


def _forget_files(store: Any, s3: Any, bucket: str, tracking_id: str, attachment_id: str, key: str,
                  changes: dict[str, Any]) -> None:
    """The ready write was refused: unless a concurrent delivery of the same upload made it ready (same keys, its
    files), the attachment was removed or hidden meanwhile and the files just written must not stay."""
    now = [a for a in store.list_attachments(tracking_id) if a["attachment_id"] == attachment_id]
    if now and now[0]["status"] == "ready":
        return
    written = [changes["object_key"], *([changes["thumbnail_key"]] if "thumbnail_key" in changes else []), key]
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in written], "Quiet": True})


@logger.inject_lambda_context
@traced_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcomes = []
    for record in event.get("Records", []):
        s3_part = record["s3"]
        bucket = s3_part["bucket"]["name"]
        if get_settings().media_bucket and bucket != get_settings().media_bucket:
            logger.warning("event from another bucket; ignored")
            continue
        outcomes.append(handle_upload(bucket, unquote_plus(s3_part["object"]["key"]), int(s3_part["object"]["size"])))
    return {"outcomes": outcomes}
