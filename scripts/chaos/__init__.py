"""The chaos run: many purchases through the local stack under injected faults, then proof that no money was lost or
counted twice.

    python -m scripts.chaos --purchases 300 --seed 7 [--storage URL] [--workers 3] [--threads 16] [--keep]

1. Start the local stack (scripts.stack: the gateway with worker processes standing in for function instances, the
   WeChat Pay emulator, SQLite or `--storage`) with the test-only storage fault injector (shared/storage/faulty.py).
2. Make N purchases in a thread pool, each with a seeded outcome (purchases.py): paid normally; paid with the
   notification answered 5xx or too late; duplicated x3; delivered out of order; SIGNTEST probes; never notified;
   abandoned; paid as it is closed; a worker process killed after the state change, before answering; some paid
   ones refunded, fully or in part, some asked twice with the same request key. Meanwhile WeChat answers 429, 500
   and timeouts on create, query, close and refund, and a share of storage writes fail. The timer jobs run alongside.
3. Time passes (the jobs' clock jumps ahead): the jobs run until nothing is in flight; the faults are removed.
4. The emulator's clock moves to the next morning and each day's bill is reconciled.
5. The invariants are checked in storage and against the emulator (invariants.py); a table is printed with the
   faults that really happened. Exit status 1 on any violation.

The seed fixes the plan (which purchase meets which fault); thread timing still varies, so a failure reproduces
with the same seed as the same mix, not as the same interleaving.
"""
