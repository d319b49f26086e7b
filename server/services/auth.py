"""AuthService: the official client's API-key-for-access-token exchange."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from indoxhub.v1 import auth_pb2, auth_pb2_grpc

from server.domain import access_tokens
from server.domain.auth import principal_for_key
from server.errors import Unauthorized
from server.rpc import metadata_of, unary

if TYPE_CHECKING:
    from server.hub import Hub


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, hub: Hub):
        self.hub = hub

    def _token(self, user_id: int, key_id: int) -> auth_pb2.TokenResponse:
        ttl = self.hub.settings.access_token_ttl_seconds
        token = access_tokens.issue(self.hub.jwt_secret, user_id, key_id, ttl)
        return auth_pb2.TokenResponse(access_token=token, token_type="bearer", expires_in=ttl)

    @unary(auth=False)
    async def ExchangeApiKey(self, request, context, principal):
        raw = metadata_of(context).get("x-api-key") or (request.api_key if request.HasField("api_key") else "")
        if not raw:
            raise Unauthorized("Missing X-API-Key header")
        found = await principal_for_key(self.hub, raw.strip())
        return self._token(found.user_id, found.api_key_id)

    @unary(auth=False)
    async def ExchangeToken(self, request, context, principal):
        """OAuth2-style form: the key may be the password (client sends `pip_client`) or the username."""
        form = parse_qs(request.data.decode("utf-8", "replace"))
        candidates = [form.get("password", [""])[0], form.get("username", [""])[0]]
        for raw in candidates:
            if raw:
                try:
                    found = await principal_for_key(self.hub, raw.strip())
                except Unauthorized:
                    continue
                return self._token(found.user_id, found.api_key_id)
        raise Unauthorized("Incorrect username or password")
