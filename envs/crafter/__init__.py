"""crafter environments (registered with Gymnasium on import)."""
