"""FastAPI app: one router per domain, typed dependencies, errors mapped in one place.

``create_app(settings)`` builds the app; ``uvicorn api.app:create_app --factory`` serves it.
"""
