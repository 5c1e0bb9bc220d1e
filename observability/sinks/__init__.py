"""The alert sinks, in the order emit_alert runs them; each has NAME and send(record, result)."""
