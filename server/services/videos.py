"""VideosService: create a job (returns at once), read one or a page of the caller's jobs, cancel one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from indoxhub.v1 import common_pb2, videos_pb2, videos_pb2_grpc

from server.db.models import VideoJob
from server.domain import clock, videos
from server.domain.money import nanos_to_usd
from server.rpc import unary
from server.services.caller import caller_of
from server.services.media_shared import request_fields
from server.services.messages import opt, struct_value

if TYPE_CHECKING:
    from server.hub import Hub


def job_message(job: VideoJob) -> videos_pb2.VideoJob:
    fields: dict[str, Any] = videos.job_fields(job)
    message = videos_pb2.VideoJob(
        job_id=fields["job_id"],
        status=fields["status"],
        progress=fields["progress"],
        provider=fields["provider"],
        model=fields["model"],
        prompt=fields["prompt"],
        created_at=fields["created_at"] or "",
        updated_at=fields["updated_at"] or "",
        cost=nanos_to_usd(fields["cost_nanos"]),
        is_async=True,
    )
    if "completed_at" in fields:
        message.completed_at = fields["completed_at"]
    if "result" in fields:
        message.result.CopyFrom(struct_value(fields["result"]))
    if "error" in fields:
        message.error = fields["error"]
    return message


def _summary(job: VideoJob) -> dict[str, Any]:
    hidden = ("session_id", "client_ip", "price_size")
    return {k: v for k, v in (job.params or {}).items() if k not in hidden and v is not None}


class VideosServicer(videos_pb2_grpc.VideosServiceServicer):
    def __init__(self, hub: Hub):
        self.hub = hub

    @unary()
    async def CreateVideo(self, request, context, principal):
        caller = caller_of(request, context, principal)
        job = await videos.create_job(self.hub, caller, fields=request_fields(request))
        data = {
            "job_id": job.id,
            "is_async": True,
            "status": job.status,
            "progress": job.progress or 0,
            "status_url": f"/api/v1/videos/jobs/{job.id}",
        }
        elapsed_ms = round(max(0.0, (clock.now() - clock.as_utc(job.created_at)).total_seconds() * 1000), 3)
        return videos_pb2.VideoResponse(
            request_id=job.id,
            created_at=clock.iso(job.created_at),
            duration_ms=elapsed_ms,
            provider=job.provider,
            model=job.model,
            success=True,
            message="Video generation started: poll the job for its status",
            usage=common_pb2.Usage(
                cost=nanos_to_usd(job.reserved_nanos),
                latency=elapsed_ms,
                timestamp=clock.iso(job.created_at),
                request_count=1,
                cost_breakdown=struct_value({"reserved": nanos_to_usd(job.reserved_nanos), **_summary(job)}),
            ),
            data=struct_value(data),
        )

    @unary()
    async def GetVideoJobStatus(self, request, context, principal):
        return job_message(await videos.get_job(self.hub, principal, request.job_id))

    @unary()
    async def ListVideoJobs(self, request, context, principal):
        page = await videos.list_jobs(self.hub, principal, opt(request, "limit"), opt(request, "skip"))
        return videos_pb2.VideoJobList(
            jobs=[job_message(job) for job in page.jobs],
            total=page.total,
            limit=page.limit,
            skip=page.skip,
            has_more=page.has_more,
        )

    @unary()
    async def CancelVideoJob(self, request, context, principal):
        return job_message(await videos.cancel_job(self.hub, principal, request.job_id))
