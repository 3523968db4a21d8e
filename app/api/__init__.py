"""The HTTP service (DESIGN §3): FastAPI app, dependencies, schemas and one router per resource."""
