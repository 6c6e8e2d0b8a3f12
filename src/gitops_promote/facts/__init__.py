"""Facts: what each environment runs and since when, what a pull request changes."""
