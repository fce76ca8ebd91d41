"""Test helpers: a real server process on 127.0.0.1:0 over a temporary store."""
