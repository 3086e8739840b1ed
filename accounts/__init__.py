"""Identities: submitters' bearer tokens, credentials backends (Webin), capability permissions, abuse limits."""
