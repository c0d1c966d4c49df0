"""The HTTP API's description: request and response models (pydantic, development only) and the OpenAPI 3.1
document built from them (`python -m scripts.openapi` writes openapi.json beside this file).

No function imports anything here: create_order serves openapi.json as a plain file, so that pydantic is never
bundled nor imported at run time (cold start, design.md §9).
"""
