"""Security findings: a catalogue of declarative rules, evaluated over the normalized
configuration and relations of each completed scope, and the findings' lifecycle."""
