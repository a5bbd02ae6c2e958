"""The inventory of cloud resources and the dashboard."""
