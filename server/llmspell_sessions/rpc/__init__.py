"""The gRPC face of the engine. Only convert.py is shared with the clients."""
