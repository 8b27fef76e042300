"""The operator's work: registry edits, runs, connections, provisioning sheets."""
