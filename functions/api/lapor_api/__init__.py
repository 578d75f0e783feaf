"""ApiFunction: the citizen HTTP API (Powertools event handler, one Router per resource)."""
