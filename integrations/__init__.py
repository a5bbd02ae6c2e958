"""Where the inventory leaves the API: streamed exports, signed webhooks.

Nothing here imports `graph`; the GraphQL layer and the sync engine call in.
"""
