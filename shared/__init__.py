"""The common library bundled into every function."""
