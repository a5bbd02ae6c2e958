"""The GraphQL layer: schema, types, resolvers, permissions, loaders and the ASGI app."""
