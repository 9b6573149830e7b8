"""minerl environments (registered with Gymnasium on import)."""
