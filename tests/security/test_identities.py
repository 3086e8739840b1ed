"""Identities: Webin logins through the local mirror's Webin service, user tokens, lock-out, 401 vs CSRF, limits."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from accounts.models import RateCounter, TokenScope, UserToken
from accounts.permissions import Capability
from accounts.tokens import issue_user_token
from analyses.models import Study
from core.errors import PermissionDenied
from devtools.ena_mirror.server import run_mirror_in_thread

pytestmark = pytest.mark.django_db

SUBMITTER, SUBMITTER_PASSWORD = "Webin-5001", "mirror-only-password-5001"
UNREACHABLE_PREFECT = "http://127.0.0.1:9/api"


def basic(username: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {encoded}"}


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def webin_service(settings, tmp_path):
    """The local ENA mirror's Webin authentication service, knowing one submitter."""
    with run_mirror_in_thread(tmp_path / "mirror", generate=False, webin_accounts={SUBMITTER: SUBMITTER_PASSWORD}) as m:
        webin = settings.EMG_CONFIG.webin.model_copy(update={"auth_url": f"{m.base_url}/ena/submit/webin/auth/token"})
        settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(update={"webin": webin})
        yield m


@pytest.fixture
def limits(settings):
    """Small lock-out and launch limits, so a test reaches them in a few requests."""

    def set_limits(**values: int) -> None:
        auth = settings.EMG_CONFIG.auth.model_copy(update=values)
        prefect = settings.EMG_CONFIG.prefect.model_copy(update={"api_url": UNREACHABLE_PREFECT})
        settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(update={"auth": auth, "prefect": prefect})

    return set_limits


# --- submitters log in with Webin and use tokens --------------------------------------------------


def test_a_webin_submitter_mints_a_token_and_sees_their_private_study(client, webin_service) -> None:
    private = Study.objects.create(title="embargoed", is_private=True, webin_submitter=SUBMITTER)
    created = client.post(
        "/api/v2/auth/tokens",
        {"name": "laptop", "expires_in_days": 7},
        content_type="application/json",
        **basic(SUBMITTER, SUBMITTER_PASSWORD),
    )
    assert created.status_code == 201, created.content
    body = created.json()
    token = body["token"]
    assert token.startswith("emgu_") and body["scopes"] == ["read"]
    user = get_user_model().objects.get(username=SUBMITTER)
    assert not user.is_staff and not user.has_usable_password(), "the password stays with Webin"
    stored = UserToken.objects.get(prefix=body["prefix"])
    assert token.rsplit("_", 1)[-1] not in stored.secret_hash and len(stored.secret_hash) == 64
    assert timedelta(days=6) < stored.expires_at - timezone.now() <= timedelta(days=7)

    me = Client().get("/api/v2/auth/me", **bearer(token)).json()
    assert me["webin_account"] == SUBMITTER and me["credentials"] == "token" and me["capabilities"] == []
    assert Client().get(f"/api/v2/studies/{private.accession}", **bearer(token)).status_code == 200
    assert Client().get(f"/api/v2/studies/{private.accession}").status_code == 404
    assert webin_service.requests[-1].path == "/ena/submit/webin/auth/token"


def test_a_wrong_webin_password_is_a_401_with_a_challenge(client, webin_service) -> None:
    refused = client.post(
        "/api/v2/auth/tokens", {"name": "x"}, content_type="application/json", **basic(SUBMITTER, "wrong")
    )
    assert refused.status_code == 401
    assert "Bearer" in refused["WWW-Authenticate"] and "Basic" in refused["WWW-Authenticate"]
    assert not get_user_model().objects.filter(username=SUBMITTER).exists()


def test_expired_revoked_and_malformed_tokens_are_401() -> None:
    user = get_user_model().objects.create_user("Webin-5002")
    expired = issue_user_token(user=user, name="old")
    UserToken.objects.filter(pk=expired.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked = issue_user_token(user=user, name="revoked")
    live = issue_user_token(user=user, name="live")
    client = Client()
    assert (
        client.post(f"/api/v2/auth/tokens/{revoked.token.prefix}/revoke", **bearer(live.plaintext)).status_code == 200
    )
    for token in (expired.plaintext, revoked.plaintext, "emgu_00000000_" + "x" * 43, "garbage"):
        response = client.get("/api/v2/auth/me", **bearer(token))
        assert response.status_code == 401, token
        assert response.json()["detail"] == "Invalid, expired or revoked token"
    assert client.get("/api/v2/auth/me", **bearer(live.plaintext)).status_code == 200


def test_tokens_are_scoped_and_cannot_mint_tokens(limits) -> None:
    limits()
    submitter = get_user_model().objects.create_user("Webin-5003")
    read_only = issue_user_token(user=submitter, name="read").plaintext
    minted = Client().post("/api/v2/auth/tokens", {"name": "y"}, content_type="application/json", **bearer(read_only))
    assert minted.status_code == 403 and "cannot mint" in minted.json()["detail"]
    with pytest.raises(PermissionDenied, match="may not launch"):
        issue_user_token(user=submitter, name="launch", scopes=[TokenScope.LAUNCH])

    curator = get_user_model().objects.create_user("curator-5003", is_staff=True)
    curator.user_permissions.add(*permissions(Capability.LAUNCH_ANALYSES))
    curator_read = issue_user_token(user=curator, name="read").plaintext
    launch = Client().post(
        "/api/v2/private/studies/PRJEB5003/analyse", content_type="application/json", **bearer(curator_read)
    )
    assert launch.status_code == 403 and "lacks the scope 'launch'" in launch.json()["detail"]
    curator_launch = issue_user_token(user=curator, name="launch", scopes=[TokenScope.LAUNCH]).plaintext
    launched = Client().post(
        "/api/v2/private/studies/PRJEB5003/analyse", content_type="application/json", **bearer(curator_launch)
    )
    assert launched.status_code == 503, "past every check; Prefect is unreachable in this test"


def test_token_lifetime_is_bounded(client) -> None:
    user = get_user_model().objects.create_user("Webin-5004", password="a-long-enough-password-5004")
    too_long = client.post(
        "/api/v2/auth/tokens",
        {"name": "forever", "expires_in_days": 366},
        content_type="application/json",
        **basic("Webin-5004", "a-long-enough-password-5004"),
    )
    assert too_long.status_code == 400 and "90 days" in too_long.json()["detail"]
    assert not UserToken.objects.filter(user=user).exists()


def permissions(*capabilities: Capability):
    return Permission.objects.filter(
        content_type__app_label="accounts", codename__in=[capability.codename for capability in capabilities]
    )


# --- lock-out --------------------------------------------------------------------------------------


def test_http_basic_locks_out_after_too_many_failures_even_the_right_password(superuser, limits) -> None:
    limits(max_failures_per_account=5, max_failures_per_address=1000)
    client = Client()
    for _ in range(5):
        assert client.get("/api/v2/auth/me", **basic("admin", "wrong")).status_code == 401
    locked = client.get("/api/v2/auth/me", **basic("admin", "admin-password"))
    assert locked.status_code == 429
    assert 0 < int(locked["Retry-After"]) <= 900
    assert RateCounter.objects.get(key="failed-account:admin").count == 5
    assert Client().get("/api/v2/auth/me", **basic("another", "x")).status_code == 401, "other accounts still try"


def test_the_admin_login_form_locks_out_too(superuser, limits) -> None:
    limits(max_failures_per_account=3, max_failures_per_address=1000)
    client = Client()
    for _ in range(3):
        page = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": "nope"})
        assert page.status_code == 200 and not page.wsgi_request.user.is_authenticated
    refused = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": "admin-password"})
    assert refused.status_code == 200 and "correct username and password" in refused.content.decode()
    assert client.get("/admin/").status_code == 302, "still not logged in"


def test_failures_from_one_address_lock_out_every_account_from_it(limits) -> None:
    limits(max_failures_per_account=1000, max_failures_per_address=4)
    get_user_model().objects.create_user("Webin-5005", password="a-long-enough-password-5005")
    client = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(4):
        assert client.get("/api/v2/auth/me", **bearer(f"emgu_0000000{n}_" + "y" * 43)).status_code == 401
    assert client.get("/api/v2/auth/me", **basic("Webin-5005", "a-long-enough-password-5005")).status_code == 429
    other_address = Client(REMOTE_ADDR="198.51.100.7")
    assert other_address.get("/api/v2/auth/me", **basic("Webin-5005", "a-long-enough-password-5005")).status_code == 200


# --- 401 before CSRF; sessions keep their CSRF check ----------------------------------------------


def test_anonymous_launch_is_401_not_a_csrf_403(client) -> None:
    response = client.post("/api/v2/private/studies/PRJEB5006/analyse", content_type="application/json")
    assert response.status_code == 401
    assert 'Bearer realm="emg"' in response["WWW-Authenticate"]


def test_a_session_post_needs_its_csrf_token(superuser, limits) -> None:
    limits()
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    refused = client.post("/api/v2/private/studies/PRJEB5007/analyse", content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    client.get("/admin/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    allowed = client.post(
        "/api/v2/private/studies/PRJEB5007/analyse", content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert allowed.status_code == 503, "past authentication and CSRF; Prefect is unreachable in this test"


# --- abuse limits on launching --------------------------------------------------------------------


def test_launches_are_rate_limited_per_user(superuser, limits) -> None:
    limits(launches_per_hour=2)
    token = issue_user_token(user=superuser, name="ops", scopes=[TokenScope.LAUNCH]).plaintext
    statuses = [
        Client()
        .post("/api/v2/private/studies/PRJEB5008/analyse", content_type="application/json", **bearer(token))
        .status_code
        for _ in range(3)
    ]
    assert statuses == [503, 503, 429]


def test_one_launch_analyses_at_most_the_configured_number_of_runs(settings) -> None:
    from workflows.automation.services import runs_cap

    cap = settings.EMG_CONFIG.auth.max_analyses_per_launch
    assert runs_cap(None) == cap and runs_cap(cap * 10) == cap and runs_cap(3) == 3


# --- the admin applies the same rule -------------------------------------------------------------


def test_admin_lists_hide_private_rows_from_staff_without_the_permission() -> None:
    from django.contrib.auth.models import Group

    from accounts.permissions import CURATORS_GROUP

    private = Study.objects.create(title="embargoed study", is_private=True, webin_submitter="Webin-5009")
    public = Study.objects.create(title="open study")
    users = get_user_model().objects
    staff = users.create_user("staff-5009", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_study", "change_study"]))
    curator = users.create_user("curator-5009", is_staff=True)
    curator.groups.add(Group.objects.get(name=CURATORS_GROUP))
    for user, sees_private in ((staff, False), (curator, True)):
        client = Client()
        client.force_login(user)
        page = client.get("/admin/analyses/study/").content.decode()
        assert public.accession in page
        assert (private.accession in page) is sees_private, user
        change = client.get(f"/admin/analyses/study/{private.pk}/change/")
        assert (change.status_code == 200) is sees_private, (user, change.status_code)


def test_the_curators_group_holds_every_permission_it_names() -> None:
    """A permission named with a wrong app label is silently left out of the group; name each one that exists."""
    from django.contrib.auth.models import Group

    from accounts.permissions import CURATOR_CAPABILITIES, CURATORS_GROUP
    from accounts.signals import CURATOR_ADMIN_PERMISSIONS

    held = {
        f"{app_label}.{codename}"
        for app_label, codename in Group.objects.get(name=CURATORS_GROUP).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }
    wanted = {capability.value for capability in CURATOR_CAPABILITIES} | set(CURATOR_ADMIN_PERMISSIONS)
    assert wanted - held == set()
    assert {"workflows.view_workitem", "workflows.view_workevent"} <= held
