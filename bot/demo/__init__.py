"""The embedded demo: a moto AWS emulator seeded with the workshop stack, and the whole conversation on it."""
