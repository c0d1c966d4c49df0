"""`make bench`: cold starts, warm latency against its floor, throughput and package sizes of every function.

Method (printed with the figures, and in docs/capacity.md):

- cold start: a fresh `python -I` process per run that puts the code root on sys.path (as FC/SCF runtimes do),
  imports `functions.<name>.index` and serves one real request through the FC 3.0 event shape; the time is from
  spawning the process to the handler's answer (interpreter start-up included), the memory its peak RSS (wait4);
- warm: one such process serving hundreds of requests in a row, per-request latency p50 / p99;
- floor: the primitives the same requests cannot avoid (RSA verify, AES-GCM decrypt, Ed25519 sign, the storage
  writes, the signed call to WeChat; for admin, the key check and the page of orders read and encoded), done
  directly in the same kind of process, and the ratio handler / floor;
- references: an eager handler (everything imported and built up front) and wechatpayv3's own `callback()`;
- throughput: notifications through the local gateway with worker processes standing in for instances.

Everything runs on loopback against the emulator (public-key mode) and SQLite in a temporary data directory.
"""
