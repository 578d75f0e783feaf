"""The pure domain: identifiers, working-day calendar, routing and reference data. No AWS in here."""
