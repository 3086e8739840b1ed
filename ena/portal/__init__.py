"""The ENA Portal API client: typed objects, typed errors, paging, retries and a rate limit."""

from ena.portal.client import ENAPortalClient, default_configs
from ena.portal.errors import (
    ENAAccessionNotFound,
    ENAAuthenticationError,
    ENABadRequest,
    ENAChecksumMismatch,
    ENADownloadError,
    ENAError,
    ENAMalformedResponse,
    ENATooManyRetries,
)
from ena.portal.types import ENARun, ENASample, ENAStudy, ENAStudyBundle

__all__ = [
    "ENAAccessionNotFound",
    "ENAAuthenticationError",
    "ENABadRequest",
    "ENAChecksumMismatch",
    "ENADownloadError",
    "ENAError",
    "ENAMalformedResponse",
    "ENAPortalClient",
    "ENARun",
    "ENASample",
    "ENAStudy",
    "ENAStudyBundle",
    "ENATooManyRetries",
    "default_configs",
]
