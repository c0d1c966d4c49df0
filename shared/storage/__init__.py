"""Storage: the port (`port.Storage`) and its adapters, chosen by the STORAGE_URL setting."""
