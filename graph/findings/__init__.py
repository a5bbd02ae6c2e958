"""The findings domain: the rule catalogue, findings, their suppression and their events."""
