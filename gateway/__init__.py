"""CallPulse: a GraphQL analytics gateway for multi-tenant AI call centers."""
