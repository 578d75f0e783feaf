"""Lapor: the shared library of every Lapor function (deployed as a Lambda layer)."""
