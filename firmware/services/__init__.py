"""Services: check-in flow, GPS watch, scheduler, sync loop; they depend on interfaces only."""
