"""Helpers the tests share: factories, databases, processes, servers, request types."""
