"""Performance benchmarks of the capture server, against reference SMTP servers (nox -s bench)."""
