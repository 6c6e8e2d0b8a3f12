"""Plan (pure): which gates pass and why, what a soak run should do."""
