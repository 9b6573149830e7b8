"""doom environments (registered with Gymnasium on import)."""
