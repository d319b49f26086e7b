"""AnalyticsService: usage records, sessions and model performance of the caller (server.domain.analytics)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from google.protobuf import json_format, struct_pb2
from indoxhub.v1 import analytics_pb2, analytics_pb2_grpc

from server.domain import analytics, clock
from server.domain.money import nanos_to_usd
from server.rpc import unary
from server.services.convert import i32
from server.services.messages import opt

if TYPE_CHECKING:
    from server.hub import Hub

CONTENT_OFF = (
    "Content logging is disabled on this gateway (HUB_LOG_CONTENT): request and response content is not stored, "
    "so records carry none."
)
CONTENT_GROUPED = "include_content applies to records only; it is ignored with group_by."


def _day(value) -> str:
    return value.isoformat() if value is not None else ""


def _value(content: Any) -> struct_pb2.Value | None:
    if content is None:
        return None
    return json_format.ParseDict(content, struct_pb2.Value())


def _group(g: analytics.Group) -> analytics_pb2.UsageGroup:
    a = g.agg
    return analytics_pb2.UsageGroup(
        key=g.label,
        requests=i32(a.requests),
        input_tokens=i32(a.input_tokens),
        output_tokens=i32(a.output_tokens),
        total_tokens=i32(a.input_tokens + a.output_tokens),
        cost=nanos_to_usd(a.cost_nanos),
        avg_latency_ms=a.avg_latency_ms,
        p95_latency_ms=g.p95_latency_ms,
        errors=i32(a.errors),
    )


def _record(r: Any, with_content: bool) -> analytics_pb2.UsageRecord:
    msg = analytics_pb2.UsageRecord(
        request_id=r.request_id,
        created_at=clock.iso(r.created_at),
        endpoint=r.endpoint,
        provider=r.provider,
        model=r.model,
        input_tokens=i32(r.input_tokens),
        output_tokens=i32(r.output_tokens),
        cached_tokens=i32(r.cached_tokens),
        reasoning_tokens=i32(r.reasoning_tokens),
        total_tokens=i32(r.input_tokens + r.output_tokens),
        cost=nanos_to_usd(r.cost_nanos),
        latency_ms=r.duration_ms,
        status=r.status,
        session_id=r.session_id,
        client_ip=r.client_ip,
        error=r.error,
        byok=bool(r.byok),
    )
    if with_content:
        for name in ("request_content", "response_content"):
            value = _value(getattr(r, name))
            if value is not None:
                getattr(msg, name).CopyFrom(value)
    return msg


def _interaction(r: Any) -> analytics_pb2.SessionInteraction:
    return analytics_pb2.SessionInteraction(
        request_id=r.request_id,
        created_at=clock.iso(r.created_at),
        endpoint=r.endpoint,
        provider=r.provider,
        model=r.model,
        input_tokens=i32(r.input_tokens),
        output_tokens=i32(r.output_tokens),
        total_tokens=i32(r.input_tokens + r.output_tokens),
        cost=nanos_to_usd(r.cost_nanos),
        latency_ms=r.duration_ms,
        status=r.status,
    )


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    def __init__(self, hub: Hub):
        self.hub = hub

    @unary()
    async def GetUsageData(self, request, context, principal):
        q = analytics.usage_query(
            principal.user_id,
            start_date=opt(request, "start_date"),
            end_date=opt(request, "end_date"),
            group_by=opt(request, "group_by"),
            provider=opt(request, "provider"),
            model=opt(request, "model"),
            session_id=opt(request, "session_id"),
            endpoint=opt(request, "endpoint"),
            include_content=bool(opt(request, "include_content")),
            limit=opt(request, "limit"),
            offset=opt(request, "offset"),
        )
        data = await analytics.usage_data(self.hub, q)
        logging_on = self.hub.settings.log_content
        message = ""
        if q.include_content:
            message = CONTENT_GROUPED if q.group_by else ("" if logging_on else CONTENT_OFF)
        t = data.totals
        return analytics_pb2.UsageDataResponse(
            group_by=q.group_by or "",
            groups=[_group(g) for g in data.groups],
            records=[_record(r, q.include_content) for r in data.records],
            totals=analytics_pb2.UsageTotals(
                requests=i32(t.requests),
                input_tokens=i32(t.input_tokens),
                output_tokens=i32(t.output_tokens),
                total_tokens=i32(t.input_tokens + t.output_tokens),
                cost=nanos_to_usd(t.cost_nanos),
                errors=i32(t.errors),
            ),
            total_count=i32(data.total_count),
            limit=q.limit,
            offset=q.offset,
            content_logging_enabled=logging_on,
            message=message,
            start_date=_day(q.filters.start),
            end_date=_day(q.filters.end),
        )

    @unary()
    async def GetSessionData(self, request, context, principal):
        f, limit, offset = analytics.session_query(
            principal.user_id,
            start_date=opt(request, "start_date"),
            end_date=opt(request, "end_date"),
            session_id=opt(request, "session_id"),
            limit=opt(request, "limit"),
            offset=opt(request, "offset"),
        )
        sessions, total = await analytics.session_data(self.hub, f, limit, offset)
        return analytics_pb2.SessionDataResponse(
            sessions=[
                analytics_pb2.SessionSummary(
                    session_id=s.session_id,
                    started_at=clock.iso(s.started_at),
                    ended_at=clock.iso(s.ended_at),
                    requests=i32(s.agg.requests),
                    input_tokens=i32(s.agg.input_tokens),
                    output_tokens=i32(s.agg.output_tokens),
                    total_tokens=i32(s.agg.input_tokens + s.agg.output_tokens),
                    cost=nanos_to_usd(s.agg.cost_nanos),
                    errors=i32(s.agg.errors),
                    avg_latency_ms=s.agg.avg_latency_ms,
                    interactions=[_interaction(r) for r in s.interactions],
                    more_interactions=s.more,
                )
                for s in sessions
            ],
            total_sessions=i32(total),
            limit=limit,
            offset=offset,
            start_date=_day(f.start),
            end_date=_day(f.end),
        )

    @unary()
    async def GetModelPerformance(self, request, context, principal):
        f = analytics.model_query(
            principal.user_id,
            start_date=opt(request, "start_date"),
            end_date=opt(request, "end_date"),
            provider=opt(request, "provider"),
        )
        models = await analytics.model_performance(self.hub, f)
        return analytics_pb2.ModelPerformanceResponse(
            models=[
                analytics_pb2.ModelPerformance(
                    provider=m.provider,
                    model=m.model,
                    requests=i32(m.agg.requests),
                    success_rate=(m.agg.requests - m.agg.errors) / m.agg.requests if m.agg.requests else 0.0,
                    errors=i32(m.agg.errors),
                    input_tokens=i32(m.agg.input_tokens),
                    output_tokens=i32(m.agg.output_tokens),
                    total_tokens=i32(m.agg.input_tokens + m.agg.output_tokens),
                    cost=nanos_to_usd(m.agg.cost_nanos),
                    avg_latency_ms=m.agg.avg_latency_ms,
                    p50_latency_ms=m.p50_latency_ms,
                    p95_latency_ms=m.p95_latency_ms,
                    avg_ttft_ms=m.ttft_ms / m.streams if m.streams else 0.0,
                    streams=i32(m.streams),
                )
                for m in models
            ],
            start_date=_day(f.start),
            end_date=_day(f.end),
        )
