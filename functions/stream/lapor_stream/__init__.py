"""StatsFunction: keeps the public statistics' counters in step with the reports, from the table's stream."""
