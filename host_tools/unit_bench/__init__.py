"""``fieldcheck bench --unit USER@HOST | --local``: a provisioned unit checked end to end."""
