"""mujoco environments (registered with Gymnasium on import)."""
