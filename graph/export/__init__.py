"""`GET /export/<dataset>`: a dataset's rows, filtered like its GraphQL connection, streamed."""
