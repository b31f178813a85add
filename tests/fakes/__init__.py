"""In-memory stand-ins for the protocols the handlers depend on (each service's ports.py), so the
handlers' branches run in milliseconds under tests/unit. The integration tests run the real ones."""
