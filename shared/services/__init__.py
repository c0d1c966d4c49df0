"""Use cases: each takes its ports in the constructor and does one job (create an order, apply a payment...)."""
