"""The forms of the automation's admin confirmation pages."""

from __future__ import annotations

from django import forms

from workflows.automation.services import MAX_SAMPLE_LIMIT, runs_cap


class AnalyseStudiesForm(forms.Form):
    """Options of *Analyse selected studies*: the API's ``rerun_failed`` and ``sample_limit``, validated alike.

    :param may_rerun: whether the user holds ``accounts.rerun_analyses``; without it the checkbox is
        not offered at all (and cannot be posted)
    """

    rerun_failed = forms.BooleanField(
        required=False,
        label="Re-run failed analyses",
        help_text="Failed and cancelled analyses go back in the queue and run again.",
    )
    sample_limit = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_SAMPLE_LIMIT,
        label="Sample limit",
        help_text="Analyse at most this many runs of each study, the first by accession (empty: all, up to the cap).",
    )

    def __init__(self, *args, may_rerun: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not may_rerun:
            del self.fields["rerun_failed"]

    @property
    def wants_rerun(self) -> bool:
        return bool(self.cleaned_data.get("rerun_failed"))

    @property
    def runs_limit(self) -> int:
        """The limit the flow gets: what was asked, at most ``EMG_AUTH__MAX_ANALYSES_PER_LAUNCH``."""
        return runs_cap(self.cleaned_data.get("sample_limit"))
