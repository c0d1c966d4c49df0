"""Licensing (design §4): Ed25519 signing keys with key ids, licence tokens, licence keys, derived secrets.

Pure functions over bytes and strings; the only dependency is `cryptography`, so every function may import it
without slowing its cold start. Time is always passed in.
"""
