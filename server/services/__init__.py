"""Thin gRPC servicers: decode the request, call server.domain, encode the answer."""
