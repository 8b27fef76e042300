"""Sending: the report and feedback emails over SMTP, and the operator's alerts."""
