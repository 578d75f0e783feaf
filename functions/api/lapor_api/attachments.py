"""Attachments: a presigned POST for the reporter (access code) or the agency chain (token) to upload a photo or
a document straight to S3 (design §4.1). The function never handles the file: MediaFunction checks it on arrival.

API Gateway's JWT authorizer guards a whole route, so the agency chain has its own path
(``/agency/reports/{tracking_id}/attachments``) beside the reporter's (``/reports/{tracking_id}/attachments``).

The reporter may remove an attachment they uploaded until the agency first answers (``DELETE``; its files are
deleted at once); operators never delete; an admin hides one with a reason (``POST .../hide``; its files are
kept, shown to admins only). Both are timeline events.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from lapor import attachments, operations, runtime
from lapor.models import AgencyReportView, AttachmentIn, AttachmentUpload, HideAttachmentIn, ReportView
from lapor.observability import logger
from lapor.settings import get_settings
from lapor.views import report_view
from lapor_api import agency, auth
from lapor_api.reports import NO_REPORT, _own_report
from lapor_api.responses import ADMIN, JSON_BODY, OPERATOR, errors, ok

router = APIGatewayHttpRouter()
TrackingId = Annotated[str, Path(min_length=1, max_length=32, examples=["LPR-7K3M9Q2X"])]
AttachmentId = Annotated[str, Path(min_length=1, max_length=32, examples=["q3Vx0dQ2mB7kTz1c"])]
NO_ATTACHMENT = "; or no attachment with this id on the report (`attachment_not_found`)"
CREATED = ok("A pending attachment and the presigned POST to upload it with (S3 enforces its size and type)",
             status=201, model=AttachmentUpload)
LIMITS = (409, "The report is closed or rejected (`report_closed`), or already has 5 attachments, ready or with an "
               "upload in progress (`attachment_limit`)")


def _upload(record: dict[str, Any], body: AttachmentIn, actor_role: str) -> Response:
    settings = get_settings()
    now = int(time.time())
    attachment = attachments.start_upload(
        runtime.store(), record, filename=body.filename, content_type=body.content_type, size=body.size,
        actor_role=actor_role, now_epoch=now, expires_in=settings.upload_url_seconds)
    post = runtime.s3().generate_presigned_post(
        Bucket=settings.media_bucket, Key=attachment["upload_key"],
        Fields={"Content-Type": body.content_type},
        Conditions=[{"Content-Type": body.content_type}, ["content-length-range", 1, body.size]],
        ExpiresIn=settings.upload_url_seconds)
    logger.info("attachment upload started", extra={"tracking_id": record["tracking_id"], "role": actor_role,
                                                    "attachment_id": attachment["attachment_id"]})
    reply = AttachmentUpload.model_validate({
        "attachment_id": attachment["attachment_id"], "upload": post,
        "expires_at": datetime.fromtimestamp(now + settings.upload_url_seconds, UTC)})
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON,
                    body=reply.model_dump(mode="json"))


@router.post("/reports/<tracking_id>/attachments", summary="Upload a photo or document (reporter)",
             tags=["reports"], responses=CREATED | errors(JSON_BODY, NO_REPORT, LIMITS))
def reporter_attachment(
    tracking_id: TrackingId,
    body: AttachmentIn,
    access_code: Annotated[str, Header(alias="x-access-code", min_length=1, max_length=64)],
) -> Response[AttachmentUpload]:
    return _upload(_own_report(tracking_id, access_code, timeline=False), body, "reporter")


@router.post("/agency/reports/<tracking_id>/attachments", summary="Upload a photo or document (agency chain)",
             **agency.OPERATOR_ONLY, responses=CREATED | errors(OPERATOR, JSON_BODY, agency.NOT_VISIBLE, LIMITS))
def agency_attachment(tracking_id: TrackingId, body: AttachmentIn) -> Response[AttachmentUpload]:
    caller = auth.caller(router)
    return _upload(agency._visible_report(caller, tracking_id), body, caller.role)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _delete_files(tracking_id: str, attachment_id: str) -> None:
    """The upload, the clean file and the thumbnail of a removed attachment, deleted at once (a removal is
    often the reporter taking back a photo they should not have sent): keys that do not exist cost nothing."""
    keys = (attachments.upload_key(tracking_id, attachment_id), attachments.ready_key(tracking_id, attachment_id),
            attachments.thumbnail_key(tracking_id, attachment_id))
    runtime.s3().delete_objects(Bucket=get_settings().media_bucket,
                                Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True})


@router.delete("/reports/<tracking_id>/attachments/<attachment_id>",
               summary="Remove an attachment you uploaded, before the agency answers (reporter)", tags=["reports"],
               responses=ok("The reporter's full view, without the attachment, with `attachment_removed` on its "
                            "timeline (removing it again answers the same)") | errors(
                   (403, "The attachment was uploaded by the agency chain, not the reporter (`not_own_attachment`)"),
                   (404, NO_REPORT[1] + NO_ATTACHMENT),
                   (409, "The agency has answered the report: its attachments stay (`already_answered`); or the "
                         "report kept changing meanwhile (`stale_version`)"), 422))
def remove_attachment(
    tracking_id: TrackingId,
    attachment_id: AttachmentId,
    access_code: Annotated[str, Header(alias="x-access-code", min_length=1, max_length=64)],
) -> ReportView:
    record = _own_report(tracking_id, access_code, timeline=False)
    operations.remove_attachment(runtime.store(), record, attachment_id, now=_now())
    _delete_files(record["tracking_id"], attachment_id)
    logger.info("attachment removed", extra={"tracking_id": record["tracking_id"], "attachment_id": attachment_id})
    written = runtime.store().get_report(record["tracking_id"], timeline=True) or record
    return ReportView.model_validate(report_view(written, full=True, sign=runtime.presign_get))


@router.post("/reports/<tracking_id>/attachments/<attachment_id>/hide",
             summary="Hide an attachment, with a reason (admin)", **agency.OPERATOR_ONLY,
             responses=ok("The report as admins see it: the attachment `hidden` with its reason, "
                          "`attachment_hidden` on the timeline") | errors(
                 ADMIN, JSON_BODY, (404, agency.NOT_VISIBLE[1] + NO_ATTACHMENT),
                 (409, "Hidden already (`already_hidden`), or the report changed since the given version "
                       "(`stale_version`)")))
def hide_attachment(tracking_id: TrackingId, attachment_id: AttachmentId, body: HideAttachmentIn) -> AgencyReportView:
    caller = auth.admin(router)
    record = agency._visible_report(caller, tracking_id)
    operations.hide_attachment(runtime.store(), record, caller, attachment_id, reason=body.reason,
                               version=body.version, now=_now())
    logger.info("attachment hidden", extra={"tracking_id": record["tracking_id"], "attachment_id": attachment_id,
                                            "role": caller.role, "by": caller.subject})
    return agency._agency_view(runtime.store().get_report(record["tracking_id"], timeline=True) or record, caller)
