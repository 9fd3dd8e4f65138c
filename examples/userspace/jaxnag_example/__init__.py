"""A user package: two search spaces and a generator that jaxnag finds through entry points."""
