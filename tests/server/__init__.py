"""Tests that need a real server: uvicorn subprocesses, streams, several processes, the `sohbet` command."""
