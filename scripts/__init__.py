"""Local tooling: the gateway that stands in for FC/SCF HTTP triggers, `make dev`, the demo."""
