-- Rewrites gRPC failures into the FastAPI-style error contract: {"detail": ...} with the HTTP status
-- the server chose (trailing metadata x-hub-http-status / x-hub-detail, set by server/errors.py).
-- Successful responses are left untouched (and unbuffered) apart from dropping grpc-* headers.

local GRPC_TO_HTTP = {
  ["1"] = 499, ["2"] = 500, ["3"] = 400, ["4"] = 504, ["5"] = 404, ["6"] = 409, ["7"] = 403,
  ["8"] = 429, ["9"] = 400, ["10"] = 409, ["11"] = 400, ["12"] = 501, ["13"] = 500, ["14"] = 503,
  ["15"] = 500, ["16"] = 401,
}

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == '\\' then return '\\\\' end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

local function unescape_grpc_message(s)
  return (string.gsub(s, "%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- Bodies above this many bytes are refused before they are read (the 25 MB upload limit plus room for
-- multipart framing); replaced with the configured value when server/envoy_config.py renders this file.
local MAX_BODY_BYTES = tonumber("__MAX_BODY_BYTES__") or 27262976

function envoy_on_request(handle)
  local length = tonumber(handle:headers():get("content-length") or "0") or 0
  if length > MAX_BODY_BYTES then
    handle:respond({[":status"] = "413", ["content-type"] = "application/json"},
      '{"detail":"Request body too large: the limit is 25 MB"}')
  end
end

function envoy_on_response(handle)
  local headers = handle:headers()
  local grpc_status = headers:get("grpc-status")
  local http_status = headers:get("x-hub-http-status")
  if http_status == nil and (grpc_status == nil or grpc_status == "0") then
    for _, name in ipairs({"grpc-status", "grpc-message", "grpc-accept-encoding", "grpc-encoding"}) do
      headers:remove(name)
    end
    return
  end
  local detail = headers:get("x-hub-detail")
  if detail == nil then
    detail = json_string(unescape_grpc_message(headers:get("grpc-message") or "Internal server error"))
  end
  local status = http_status or tostring(GRPC_TO_HTTP[grpc_status] or 500)
  local message = headers:get("grpc-message") or ""
  if http_status == nil and grpc_status == "8" and string.find(message, "larger than max", 1, true) then
    -- a chunked upload (no content-length) over the server's message limit
    status = "413"
    detail = '"Request body too large: the limit is 25 MB"'
  end
  local body = '{"detail":' .. detail .. '}'
  -- A server that wrote the whole body (the OpenAI-style errors of /v1) sends it in x-hub-body.
  local full_body = headers:get("x-hub-body")
  if full_body ~= nil then
    body = full_body
  end
  local retry_after = headers:get("x-hub-retry-after")

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
  for _, name in ipairs({"x-hub-http-status", "x-hub-detail", "x-hub-body", "x-hub-retry-after", "grpc-status", "grpc-message",
                         "grpc-accept-encoding", "grpc-encoding"}) do
    headers:remove(name)
  end
  if buffer ~= nil then
    buffer:setBytes(body)
  end
end
