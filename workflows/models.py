"""Work-tracking models (the work ledger)."""
