"""The ASGI servers' patches: daphne (runserver) and uvicorn (production), each guarded by version."""
