"""Argo CD: the Application reading, the API adapter, and the fake they are tested against."""
