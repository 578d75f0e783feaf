"""The ``lapor`` command: the local stack, seeding and (later) operator tools. Not shipped in the Lambda layer."""
