-- Copies the error reply the server built (server/errors.py) into the REST answer: the HTTP status from
-- x-hub-http-status, the whole JSON body from x-hub-body, Retry-After from x-hub-retry-after. It decides nothing
-- itself; a gRPC failure that carries none of these (the gRPC library's own rejections) gets a generic body that
-- reveals nothing internal. Successful responses are left untouched (and unbuffered) apart from dropping grpc-*.

local STRIP = {"x-hub-http-status", "x-hub-body", "x-hub-detail", "x-hub-retry-after", "grpc-status",
               "grpc-message", "grpc-accept-encoding", "grpc-encoding"}

-- Rendered by server/envoy_config.py from HUB_MAX_BODY_BYTES (the limit and its message).
local MAX_BODY_BYTES = tonumber("__MAX_BODY_BYTES__") or 27262976
local TOO_LARGE_BODY = '__TOO_LARGE_BODY__'

-- A header gRPC cannot carry as metadata (a name outside [0-9a-z_.-], a value outside printable ASCII) would make
-- the gRPC library fail the call with an opaque error: such headers are dropped here (the server reads none of them).
local function drop_unsendable(headers)
  local unsendable = {}
  for key, value in pairs(headers) do
    if string.sub(key, 1, 1) ~= ":" and (string.find(key, "[^0-9a-z_.%-]") or string.find(value, "[^\032-\126]")) then
      unsendable[#unsendable + 1] = key
    end
  end
  for _, key in ipairs(unsendable) do
    headers:remove(key)
  end
end

function envoy_on_request(handle)
  local headers = handle:headers()
  drop_unsendable(headers)
  local content_type = headers:get("content-type") or ""
  if string.sub(content_type, 1, 16) == "application/grpc" then
    -- a REST path sent as gRPC would bypass the transcoder (gRPC clients use the gRPC port). Envoy turns any
    -- reply to a gRPC request into a gRPC one, so envoy_on_response rewrites it once more (the flag).
    handle:streamInfo():dynamicMetadata():set("hub", "grpc_request", "1")
    handle:respond({[":status"] = "415"}, "")
    return
  end
  local length = tonumber(headers:get("content-length") or "0") or 0
  if length > MAX_BODY_BYTES then
    handle:respond({[":status"] = "413", ["content-type"] = "application/json"}, TOO_LARGE_BODY)
  end
end

local UNSUPPORTED = '{"detail":"Unsupported media type: send JSON to the REST API (gRPC clients use the gRPC port)"}'

function envoy_on_response(handle)
  local headers = handle:headers()
  local flags = handle:streamInfo():dynamicMetadata():get("hub")
  if flags ~= nil and flags["grpc_request"] == "1" then
    headers:replace("x-hub-http-status", "415")
    headers:replace("x-hub-body", UNSUPPORTED)
  end
  local grpc_status = headers:get("grpc-status")
  local status = headers:get("x-hub-http-status")
  if status == nil and (grpc_status == nil or grpc_status == "0") then
    for _, name in ipairs(STRIP) do
      headers:remove(name)
    end
    return
  end
  local body = headers:get("x-hub-body")
  local retry_after = headers:get("x-hub-retry-after")
  if status == nil or body == nil then
    if grpc_status == "8" then -- a chunked upload over the server's message limit (no content-length to check)
      status, body = "413", TOO_LARGE_BODY
    elseif grpc_status == "14" then
      status, body = "503", '{"detail":"Service unavailable: the server is not reachable"}'
    else
      status, body = "500", '{"detail":"Internal server error"}'
    end
  end

  local buffer = handle:body(true)
  if buffer == nil then
    buffer = handle:body(true)
  end
  headers = handle:headers()
  headers:replace(":status", status)
  headers:replace("content-type", "application/json")
  headers:replace("content-length", tostring(#body))
  if retry_after ~= nil then
    headers:replace("retry-after", retry_after)
  end
  for _, name in ipairs(STRIP) do
    headers:remove(name)
  end
  if buffer ~= nil then
    buffer:setBytes(body)
  end
end
