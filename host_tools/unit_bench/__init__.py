"""``fieldcheck bench --unit HOST | --local``: a provisioned unit checked end to end on the bench."""
