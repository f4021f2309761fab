"""Event ingestion: the contract, validation, and projection into raw tables (rollups follow by trigger)."""
