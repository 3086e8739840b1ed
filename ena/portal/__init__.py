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
    ENARecordError,
    ENATooManyRetries,
)
from ena.portal.types import ENARun, ENASample, ENAStudy, ENAStudyBundle, Listed

__all__ = [
    "ENAAccessionNotFound",
    "ENAAuthenticationError",
    "ENABadRequest",
    "ENAChecksumMismatch",
    "ENADownloadError",
    "ENAError",
    "ENAMalformedResponse",
    "ENAPortalClient",
    "ENARecordError",
    "ENARun",
    "ENASample",
    "ENAStudy",
    "ENAStudyBundle",
    "Listed",
    "ENATooManyRetries",
    "default_configs",
]
