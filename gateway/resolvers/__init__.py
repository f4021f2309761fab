"""What root fields and mutations do, one module per domain."""
