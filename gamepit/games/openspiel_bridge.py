"""Plugin module reserved for its issue; registers nothing yet."""
