"""IndoxHub-compatible AI gateway: grpc.aio server behind Envoy's REST transcoder."""

import os
import sys

# Generated stubs import each other as `indoxhub.v1.*`: make gen/ importable wherever the server runs.
_GEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gen")
if _GEN not in sys.path:
    sys.path.insert(0, _GEN)
