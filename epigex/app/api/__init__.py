"""The HTTP service (docs/CONTRACTS.md §3): FastAPI app, dependencies, schemas and one router per resource."""
