"""Attachments: a presigned POST for the reporter (access code) or the agency chain (token) to upload a photo or
a document straight to S3 (design §4.1). The function never handles the file: MediaFunction checks it on arrival.

API Gateway's JWT authorizer guards a whole route, so the agency chain has its own path
(``/agency/reports/{tracking_id}/attachments``) beside the reporter's (``/reports/{tracking_id}/attachments``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from lapor import attachments, runtime
from lapor.models import AttachmentIn, AttachmentUpload
from lapor.observability import logger
from lapor.settings import get_settings
from lapor_api import agency, auth
from lapor_api.reports import NO_REPORT, _own_report
from lapor_api.responses import JSON_BODY, OPERATOR, errors, ok

router = APIGatewayHttpRouter()
TrackingId = Annotated[str, Path(min_length=1, max_length=32, examples=["LPR-7K3M9Q2X"])]
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
