"""Video generation jobs: created at once, followed by a background worker, billed exactly once.

Lifecycle. `create_job` reserves the maximum cost (catalog price per second x duration x n) under the job's
id, stores the job (`queued`), submits it to the provider and returns. The `VideoWorker` (an asyncio task
started by `server.app.start_hub`; of all replicas only the one holding the poller lock runs it, see
server.db.leader) polls every unfinished job each `HUB_VIDEO_POLL_SECONDS`,
updating `status` / `progress`, and finishes it: `completed` (result stored, real cost charged), `failed`
or `cancelled` (everything released). Jobs live in the database, so a restarted server resumes them.

Exactly once. A job leaves `queued` / `processing` through ONE conditional UPDATE (`WHERE status IN
unfinished`): whoever wins that race (worker, cancel, another replica) settles it, with `request_id` = job
id. `billing.settle` is itself idempotent on that id (hold row + unique usage record), and a job that became
final but was not settled (a crash in between) is settled by the worker's recovery pass. Holds of video jobs
are never released by `billing.release_stale_holds`: they belong to the worker.

Keys. The operator's key comes from the environment on every poll. A caller's own key (byok_api_key) is kept
in this process's memory only, never stored; a BYOK job whose key is gone (restart) fails once no process
has polled it for a while.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, insert, select, update

from server.catalog import pricing
from server.db import leader
from server.db.models import CreditHold, UsageRecord, VideoJob
from server.domain import billing, clock, media
from server.domain.auth import Principal
from server.domain.caller import Caller
from server.errors import Conflict, HubError, NotFound, ValidationFailed
from server.providers import registry
from server.providers.base import VideoPoll

if TYPE_CHECKING:
    from server.hub import Hub

log = logging.getLogger("hub.videos")

UNFINISHED = ("queued", "processing")
FINAL = ("completed", "failed", "cancelled")
SUBMIT_GRACE = timedelta(seconds=60)  # a job without a provider id older than this was never submitted
RECOVERY_GRACE = timedelta(seconds=5)  # leave a just-finished job to the one settling it
RECOVERY_EVERY = 60.0  # seconds between recovery passes (and one when the worker starts)
BYOK_RECOVERY_WINDOW = timedelta(days=1)
MAX_POLL_ERRORS = 30  # consecutive failed polls before a job is given up
MAX_JOBS_PER_TICK = 500
POLL_CONCURRENCY = 8
CANCEL_TIMEOUT = 5.0
_SETTLE_STATUS = {"completed": "success", "failed": "error", "cancelled": "stopped"}


def new_job_id() -> str:
    return str(uuid.uuid4())


def byok_keys(hub: Hub) -> dict[str, str]:
    """job id -> the caller's own provider key, in this process only."""
    return hub.video_byok_keys


# ---------------------------------------------------------------------------------------------- create


def _positive(fields: dict[str, Any], name: str) -> None:
    value = fields.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValidationFailed.single(["body", name], f"{name} must be a positive integer")


async def create_job(hub: Hub, caller: Caller, *, fields: dict[str, Any]) -> VideoJob:
    """Validates, reserves, stores and submits a job; returns it (queued or processing)."""
    prompt = media.required_text(fields)
    _positive(fields, "duration")
    _positive(fields, "n")
    route = media.route_media(hub, caller, "video_generation")
    adapter = registry.capability(route.config, "video")
    call = adapter.prepare_video(route.provider, route.model, prompt, fields, caller.extra)
    amount = media.priced(
        lambda: pricing.seconds_cost_nanos(route.entry, call.seconds * call.n, call.price_size), route
    )
    job_id = new_job_id()
    # slot=False: the job outlives the request that created it, so it does not count as one in flight
    meter = await billing.meter(hub, caller, route, amount, endpoint="video", request_id=job_id, slot=False)
    now = clock.now()
    row = {
        "id": job_id,
        "user_id": caller.principal.user_id,
        "api_key_id": caller.principal.api_key_id,
        "provider": route.provider,
        "model": route.model,
        "prompt": prompt,
        "status": "queued",
        "progress": 0,
        "provider_job_id": None,
        "params": {
            **call.summary,
            "price_size": call.price_size,
            "session_id": caller.session_id,
            "client_ip": caller.client_ip,
        },
        "result": None,
        "error": None,
        "reserved_nanos": meter.reservation.amount_nanos,
        "cost_nanos": 0,
        "byok": route.byok,
        "created_at": now,
        "updated_at": now,
        "completed_at": None,
    }
    async with meter.guard(), hub.sessions() as session, session.begin():
        await session.execute(insert(VideoJob).values(**row))
    job = VideoJob(**row)
    if route.byok:
        byok_keys(hub)[job_id] = route.api_key
    try:
        provider_job_id, state = await adapter.submit_video(
            hub.http, route.config, call, route.api_key, byok=route.byok
        )
    except BaseException as exc:
        await asyncio.shield(finalize(hub, job, "failed", error=billing.error_detail(exc)))
        raise
    # The provider accepted it: record that even if the caller disconnects now (the worker takes over).
    return await asyncio.shield(_submitted(hub, job, provider_job_id, state))


async def _submitted(hub: Hub, job: VideoJob, provider_job_id: str, state: VideoPoll) -> VideoJob:
    status = state.status if state.status in UNFINISHED else "queued"
    async with hub.sessions() as session, session.begin():
        done = await session.execute(
            update(VideoJob)
            .where(VideoJob.id == job.id, VideoJob.status.in_(UNFINISHED))
            .values(
                provider_job_id=provider_job_id,
                status=status,
                progress=state.progress or 0,
                updated_at=clock.now(),
            )
        )
    job.provider_job_id = provider_job_id
    if done.rowcount != 1:  # cancelled while we were submitting it: cancel it at the provider too
        await _cancel_at_provider(hub, job)
        return await _load(hub, job.id)
    job.status, job.progress = status, state.progress or 0
    return job


# ---------------------------------------------------------------------------------------------- read


async def _load(hub: Hub, job_id: str) -> VideoJob:
    async with hub.sessions() as session:
        job = await session.get(VideoJob, job_id)
    if job is None:
        raise NotFound(f"Video job '{job_id}' not found")
    return job


async def get_job(hub: Hub, principal: Principal, job_id: str) -> VideoJob:
    """The caller's job; another user's job is reported as not found."""
    async with hub.sessions() as session:
        job = await session.scalar(select(VideoJob).where(VideoJob.id == job_id, VideoJob.user_id == principal.user_id))
    if job is None:
        raise NotFound(f"Video job '{job_id}' not found")
    return job


@dataclass
class JobPage:
    jobs: list[VideoJob]
    total: int
    limit: int
    skip: int

    @property
    def has_more(self) -> bool:
        return self.skip + len(self.jobs) < self.total


async def list_jobs(hub: Hub, principal: Principal, limit: int | None, skip: int | None) -> JobPage:
    limit = 20 if limit is None else limit
    skip = 0 if skip is None else skip
    errors = []
    if not 1 <= limit <= 100:
        errors.append({"loc": ["query", "limit"], "msg": "limit must be from 1 to 100", "type": "value_error"})
    if skip < 0:
        errors.append({"loc": ["query", "skip"], "msg": "skip must not be negative", "type": "value_error"})
    if errors:
        raise ValidationFailed(errors)
    mine = VideoJob.user_id == principal.user_id
    async with hub.sessions() as session:
        total = await session.scalar(select(func.count()).select_from(VideoJob).where(mine))
        rows = await session.scalars(
            select(VideoJob)
            .where(mine)
            .order_by(VideoJob.created_at.desc(), VideoJob.id.desc())
            .limit(limit)
            .offset(skip)
        )
        jobs = list(rows)
    return JobPage(jobs, total or 0, limit, skip)


# ---------------------------------------------------------------------------------------------- finish


async def finalize(
    hub: Hub,
    job: VideoJob,
    status: str,
    *,
    error: str | None = None,
    result: dict[str, Any] | None = None,
    cost_nanos: int = 0,
    forget_key: bool = True,
) -> bool:
    """Moves an unfinished job to a final status and settles it; False when it was already final."""
    charge = billing.charge_for(_meter_of(hub, job).reservation, _SETTLE_STATUS[status], cost_nanos)
    now = clock.now()
    values: dict[str, Any] = {
        "status": status,
        "error": error,
        "result": result,
        "cost_nanos": charge,
        "updated_at": now,
        "completed_at": now,
    }
    if status == "completed":
        values["progress"] = 100
    async with hub.sessions() as session, session.begin():
        done = await session.execute(
            update(VideoJob).where(VideoJob.id == job.id, VideoJob.status.in_(UNFINISHED)).values(**values)
        )
    if done.rowcount != 1:
        return False
    for name, value in values.items():
        setattr(job, name, value)
    if forget_key:
        byok_keys(hub).pop(job.id, None)
    await asyncio.shield(settle_job(hub, job))  # a cancelled caller must not leave it to the recovery pass
    return True


def _meter_of(hub: Hub, job: VideoJob) -> billing.Meter:
    """The job's meter: its hold was reserved at creation, possibly by another process or before a restart."""
    params = job.params or {}
    return billing.Meter.resume(
        hub,
        request_id=job.id,
        user_id=job.user_id,
        api_key_id=job.api_key_id,
        amount_nanos=job.reserved_nanos,
        byok=job.byok,
        endpoint="video",
        provider=job.provider,
        model=job.model,
        session_id=params.get("session_id"),
        client_ip=params.get("client_ip"),
    )


async def settle_job(hub: Hub, job: VideoJob) -> int:
    """The one settlement of a final job (a no-op if it already happened)."""
    params = job.params or {}
    started, ended = clock.as_utc(job.created_at), clock.as_utc(job.completed_at or job.updated_at)
    status = _SETTLE_STATUS[job.status]
    return await _meter_of(hub, job).settle(
        status,
        job.cost_nanos if status == "success" else 0,
        duration_ms=max(0.0, (ended - started).total_seconds() * 1000) if started and ended else 0.0,
        error=job.error if status != "success" else None,
        request_content={"prompt": job.prompt, **{k: v for k, v in params.items() if k in ("seconds", "n", "size")}},
        response_content=job.result,
    )


async def settle_unsettled(hub: Hub, older_than: timedelta = RECOVERY_GRACE) -> int:
    """Settles final jobs whose settlement was interrupted by a crash: a final job that still has its hold
    (settling removes it), or a recent BYOK job (no hold) without its usage record. Returns how many."""
    now = clock.now()
    cutoff = now - older_than
    final = (VideoJob.status.in_(FINAL), VideoJob.updated_at < cutoff)
    async with hub.sessions() as session:
        held = await session.scalars(
            select(VideoJob)
            .join(CreditHold, CreditHold.request_id == VideoJob.id)
            .where(*final)
            .limit(MAX_JOBS_PER_TICK)
        )
        jobs = list(held)
        byok = await session.scalars(
            select(VideoJob)
            .where(*final, VideoJob.byok.is_(True), VideoJob.updated_at > now - BYOK_RECOVERY_WINDOW)
            .where(~exists().where(UsageRecord.request_id == VideoJob.id))
            .limit(MAX_JOBS_PER_TICK)
        )
        jobs += list(byok)
    for job in jobs:
        log.warning("video job %s was %s but not settled: settling it now", job.id, job.status)
        await settle_job(hub, job)
    return len(jobs)


async def _cancel_at_provider(hub: Hub, job: VideoJob) -> bool:
    cfg = registry.provider_config(job.provider)
    key = byok_keys(hub).get(job.id) if job.byok else (cfg.api_key if cfg else None)
    if cfg is None or not key or not job.provider_job_id:
        return False
    if not registry.has_capability(cfg, "video"):
        return False
    adapter = registry.capability(cfg, "video")
    cancel = adapter.cancel_video(hub.http, cfg, job.provider_job_id, key, byok=job.byok)
    try:
        return await asyncio.wait_for(cancel, CANCEL_TIMEOUT)
    except (TimeoutError, HubError):
        return False


async def cancel_job(hub: Hub, principal: Principal, job_id: str) -> VideoJob:
    """Cancels a queued or processing job (at the provider too, where it can); a finished job is a 409."""
    job = await get_job(hub, principal, job_id)
    if job.status in UNFINISHED and await finalize(
        hub, job, "cancelled", error="Cancelled by the user", forget_key=False
    ):
        try:
            await _cancel_at_provider(hub, job)
        finally:
            byok_keys(hub).pop(job.id, None)
        return await _load(hub, job.id)
    job = await _load(hub, job.id)
    raise Conflict(f"Video job '{job_id}' is already {job.status}: only queued or processing jobs can be cancelled")


# ---------------------------------------------------------------------------------------------- the worker


class VideoWorker:
    """Polls the providers for every unfinished job, every `interval` seconds, in one asyncio task.

    With `elect` (the default unless HUB_VIDEO_WORKER forces it), only the process holding the `video-poller`
    lock polls (server.db.leader: PostgreSQL advisory lock, or a file lock on SQLite); the others wait for it
    and one takes over when the holder dies."""

    def __init__(self, hub: Hub, interval: float, elect: bool = False):
        self.hub = hub
        self.interval = max(0.05, interval)
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._stopped = asyncio.Event()
        self._wake = asyncio.Event()
        self._errors: Counter[str] = Counter()
        self._last_recovery = float("-inf")
        self.election = leader.leadership_for(hub.settings.database_url, "video-poller") if elect else None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="video-worker")

    async def stop(self, grace: float = 5.0) -> None:
        """Lets the current pass finish (up to `grace` seconds), then stops (and frees the lock)."""
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        self._task = None

    async def _run(self) -> None:
        try:
            while not self._stopping:
                if self.election is not None and not await self._lead():
                    return
                await self._poll_while_leading()
        finally:
            if self.election is not None:
                await self.election.release()

    async def _lead(self) -> bool:
        """Waits until this process holds the poller lock (True) or the worker stops (False)."""
        acquiring = asyncio.ensure_future(self.election.acquire())
        stopping = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({acquiring, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not acquiring.done():
                acquiring.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await acquiring
        if self._stopping:
            return False
        acquiring.result()
        log.info("this process (pid %d) is the video poller", os.getpid())
        return True

    async def _poll_while_leading(self) -> None:
        lost = asyncio.ensure_future(self.election.lost.wait()) if self.election is not None else None
        try:
            while not self._stopping and (self.election is None or self.election.held):
                try:
                    await self.run_once()
                except Exception:
                    log.exception("video worker pass failed")
                if self._stopping:
                    return
                waits = {asyncio.ensure_future(self._wake.wait())} | ({lost} if lost else set())
                _done, pending = await asyncio.wait(waits, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED)
                for task in pending - {lost}:
                    task.cancel()
                self._wake.clear()
            if self.election is not None and not self._stopping:
                log.warning("this process lost the video poller lock")
        finally:
            if lost is not None:
                lost.cancel()

    async def run_once(self) -> None:
        """One pass: poll every unfinished job, then settle any final job left unsettled."""
        async with self.hub.sessions() as session:
            rows = await session.scalars(
                select(VideoJob)
                .where(VideoJob.status.in_(UNFINISHED))
                .order_by(VideoJob.updated_at)
                .limit(MAX_JOBS_PER_TICK)
            )
            jobs = list(rows)
        gate = asyncio.Semaphore(POLL_CONCURRENCY)

        async def one(job: VideoJob) -> None:
            async with gate:
                if self._stopping:
                    return
                try:
                    await self.poll(job)
                except Exception:
                    log.exception("polling video job %s failed", job.id)

        await asyncio.gather(*(one(job) for job in jobs))
        if time.monotonic() - self._last_recovery >= RECOVERY_EVERY:
            self._last_recovery = time.monotonic()
            await settle_unsettled(self.hub)

    def _stale(self, job: VideoJob, grace: timedelta) -> bool:
        last = clock.as_utc(job.updated_at) or clock.as_utc(job.created_at)
        return last is not None and clock.now() - last > grace

    async def poll(self, job: VideoJob) -> None:
        hub = self.hub
        if not job.provider_job_id:
            if self._stale(job, SUBMIT_GRACE):
                await finalize(hub, job, "failed", error="The job was never accepted by the provider (interrupted)")
            return
        cfg = registry.provider_config(job.provider)
        key = byok_keys(hub).get(job.id) if job.byok else (cfg.api_key if cfg else None)
        if cfg is None or not registry.has_capability(cfg, "video") or not key:
            # Not followable from this process: another replica may hold the BYOK key and keep updating it.
            if self._stale(job, max(timedelta(seconds=60), timedelta(seconds=10 * self.interval))):
                why = (
                    "the caller's provider key (byok_api_key) is kept in memory only and was lost at a restart"
                    if job.byok
                    else f"provider '{job.provider}' is no longer configured on this gateway"
                )
                await finalize(hub, job, "failed", error=f"The job can no longer be followed: {why}")
            return
        try:
            adapter = registry.capability(cfg, "video")
            state = await adapter.poll_video(hub.http, cfg, job.provider_job_id, key, byok=job.byok)
        except NotFound as exc:
            await finalize(hub, job, "failed", error=f"The provider no longer knows this job: {exc.detail}")
            return
        except HubError as exc:
            self._errors[job.id] += 1
            log.warning("polling video job %s failed (%d): %s", job.id, self._errors[job.id], exc.detail)
            if self._errors[job.id] >= MAX_POLL_ERRORS:
                await finalize(hub, job, "failed", error=f"The provider could not be polled: {exc.detail}")
                self._errors.pop(job.id, None)
            return
        self._errors.pop(job.id, None)
        if state.status in UNFINISHED:
            progress = state.progress if state.progress is not None else _estimated_progress(job)
            progress = max(job.progress or 0, min(progress, 99))
            async with hub.sessions() as session, session.begin():
                await session.execute(
                    update(VideoJob)
                    .where(VideoJob.id == job.id, VideoJob.status.in_(UNFINISHED))
                    .values(status=state.status, progress=progress, updated_at=clock.now())
                )
        elif state.status == "completed":
            await finalize(hub, job, "completed", result=_result(state), cost_nanos=self._cost(job, state))
        else:
            await finalize(hub, job, state.status, error=state.error or f"The provider reports the job {state.status}")

    def _cost(self, job: VideoJob, state: VideoPoll) -> int:
        params = job.params or {}
        seconds = state.seconds or params.get("seconds") or 0
        entry = self.hub.catalog.find(job.provider, job.model, "video_generation")
        if entry is None:  # the catalog changed under a running job: the price it was created with
            return job.reserved_nanos
        try:
            return pricing.seconds_cost_nanos(entry, float(seconds) * len(state.assets), params.get("price_size"))
        except (pricing.PricingError, ValueError):
            return job.reserved_nanos


def _estimated_progress(job: VideoJob) -> int:
    """Providers without progress (Veo): time-based, reaching 90 % after about two minutes."""
    started = clock.as_utc(job.created_at)
    elapsed = (clock.now() - started).total_seconds() if started else 0.0
    return int(min(90.0, 5.0 + elapsed * 0.7))


def _result(state: VideoPoll) -> dict[str, Any]:
    data = [asset.as_dict() for asset in state.assets]
    result: dict[str, Any] = {"video_url": data[0]["url"] if data else None, "data": data}
    if state.seconds:
        result["seconds"] = state.seconds
    return result


def job_fields(job: VideoJob) -> dict[str, Any]:
    """The documented job shape (what GET /videos/jobs/{id} answers)."""
    fields: dict[str, Any] = {
        "job_id": job.id,
        "status": job.status,
        "progress": job.progress or 0,
        "provider": job.provider,
        "model": job.model,
        "prompt": job.prompt,
        "created_at": clock.iso(job.created_at),
        "updated_at": clock.iso(job.updated_at),
        "cost_nanos": job.cost_nanos if job.status in FINAL else job.reserved_nanos,
        "is_async": True,
    }
    if job.completed_at is not None:
        fields["completed_at"] = clock.iso(job.completed_at)
    if job.result:
        fields["result"] = job.result
    if job.error:
        fields["error"] = job.error
    return fields
