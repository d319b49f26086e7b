"""RPCs no capability implements answer UNIMPLEMENTED with the REST route named (REST 501), never success."""

from __future__ import annotations

import grpc
import pytest
from indoxhub.v1 import videos_pb2, videos_pb2_grpc

from server.services.unimplemented import fill_unimplemented, rest_route


def test_rest_route_comes_from_the_http_annotation() -> None:
    service = videos_pb2.DESCRIPTOR.services_by_name["VideosService"]
    assert rest_route(service.methods_by_name["CancelVideoJob"]) == "POST /api/v1/videos/jobs/{job_id}/cancel"
    assert rest_route(service.methods_by_name["GetVideoJobStatus"]) == "GET /api/v1/videos/jobs/{job_id}"


class _PartlyDone(videos_pb2_grpc.VideosServiceServicer):
    async def ListVideoJobs(self, request, context):
        return videos_pb2.VideoJobList(total=7)


@pytest.mark.asyncio
async def test_unimplemented_methods_answer_501_and_implemented_ones_work() -> None:
    service = videos_pb2.DESCRIPTOR.services_by_name["VideosService"]
    cls = fill_unimplemented(_PartlyDone, videos_pb2_grpc.VideosServiceServicer, service)
    server = grpc.aio.server()
    videos_pb2_grpc.add_VideosServiceServicer_to_server(cls(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = videos_pb2_grpc.VideosServiceStub(channel)
            assert (await stub.ListVideoJobs(videos_pb2.ListVideoJobsRequest())).total == 7
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.CancelVideoJob(videos_pb2.VideoJobRequest(job_id="x"))
            assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
            assert err.value.details() == "POST /api/v1/videos/jobs/{job_id}/cancel is not implemented yet"
            trailers = dict(err.value.trailing_metadata())
            assert trailers["x-hub-http-status"] == "501"
    finally:
        await server.stop(None)
