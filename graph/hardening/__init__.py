"""Protection of the GraphQL endpoint: query limits, query cost, rate limits, production mode."""
