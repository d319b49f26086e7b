"""Domain logic: plain modules the thin gRPC servicers call."""
