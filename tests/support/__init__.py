"""Real backends for tests (a loopback HTTP server, ...) and the pytest fixtures that start them."""
