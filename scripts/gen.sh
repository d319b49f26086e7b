#!/usr/bin/env bash
# Regenerates gen/ (Python stubs, type stubs, Envoy's descriptor set, the OpenAPI document) from proto/.
# The one command behind `make gen`; gen/ is never edited by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SITE=$("$PY" -c 'import google.api, os; print(os.path.dirname(os.path.dirname(google.api.__path__[0])))')
GRPC_PROTOS=$("$PY" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')

rm -rf gen && mkdir -p gen
"$PY" -m grpc_tools.protoc -I proto -I "$SITE" -I "$GRPC_PROTOS" \
  --python_out=gen --pyi_out=gen --grpc_python_out=gen \
  --include_imports --include_source_info --descriptor_set_out=gen/indoxhub.pb \
  proto/indoxhub/v1/*.proto
touch gen/indoxhub/__init__.py gen/indoxhub/v1/__init__.py
# The OpenAPI document of every REST route, from the same descriptors (served at /openapi.json and /docs).
"$PY" -m server.openapi > gen/openapi.json

# Google's annotation protos, for buf (which has no registry access here): copied, not committed.
mkdir -p build/third_party/google/api
cp "$SITE"/google/api/{annotations,http,httpbody}.proto build/third_party/google/api/
echo "gen/ regenerated"
