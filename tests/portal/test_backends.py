import pytest
from django.test import RequestFactory
from django.urls import reverse

from portal.backends import MembershipBackend
from portal.mfa import second_factor_due
from portal.middleware import SESSION_KEY, resolve_membership
from portal.models import Membership, Role, User
from tests.conftest import authenticator, signed_in

pytestmark = pytest.mark.django_db


def request_of(user: User, session: dict[str, object] | None = None):
    request = RequestFactory().get("/")
    request.user = user
    request.session = session if session is not None else {}
    return request


def test_it_reads_a_member_and_their_memberships_in_one_query(
    ada, grace, django_assert_num_queries
):
    first = ada.memberships.get()
    second = Membership.objects.create(
        user=ada, account=grace.memberships.get().account, role=Role.VIEWER
    )
    with django_assert_num_queries(1):
        user = MembershipBackend().get_user(ada.pk)
        assert user == ada
        memberships = user.loaded_memberships
        # In the order the portal lists them (by account name), each with its account and
        # the very user object, so reading either costs no query.
        assert [m.account.name for m in memberships] == sorted(m.account.name for m in memberships)
        assert {m.pk for m in memberships} == {first.pk, second.pk}
        assert all(m.user is user for m in memberships)


def test_it_reads_whether_the_member_has_an_authenticator_in_the_same_query(
    ada, django_assert_num_queries
):
    with django_assert_num_queries(1):
        assert MembershipBackend().get_user(ada.pk).loaded_has_mfa is False
    authenticator(ada)
    with django_assert_num_queries(1):
        assert MembershipBackend().get_user(ada.pk).loaded_has_mfa is True


def test_the_gate_asks_nothing_more_of_a_member_it_lets_through(ada, django_assert_num_queries):
    """Ada has no authenticator and Acme does not require one: a page of hers costs no query of
    the second-factor gate's own."""
    request = request_of(MembershipBackend().get_user(ada.pk))
    request.customer = ada.memberships.get().account
    with django_assert_num_queries(0):
        assert second_factor_due(request, "orders:order_list") is None


def test_an_authenticator_set_up_in_another_session_is_asked_for_on_the_next_click(ada):
    client = signed_in(ada)
    assert client.get("/orders/").status_code == 200
    authenticator(ada)
    response = client.get("/orders/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_verify"))


def test_it_loads_staff_without_memberships(maria):
    user = MembershipBackend().get_user(maria.pk)
    assert user == maria
    assert user.loaded_memberships == ()


@pytest.mark.parametrize("persona", ["ada", "maria"])
def test_it_refuses_a_deactivated_user(persona, request):
    user = request.getfixturevalue(persona)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert MembershipBackend().get_user(user.pk) is None


def test_it_finds_no_user_for_an_unknown_id(ada):
    assert MembershipBackend().get_user(ada.pk + 1000) is None


def test_the_acting_membership_comes_from_the_loaded_ones_without_a_query(
    ada, grace, django_assert_num_queries
):
    other = Membership.objects.create(
        user=ada, account=grace.memberships.get().account, role=Role.VIEWER
    )
    user = MembershipBackend().get_user(ada.pk)
    with django_assert_num_queries(0):
        assert resolve_membership(request_of(user)) is None  # two: the user must choose
        assert resolve_membership(request_of(user, {SESSION_KEY: other.pk})) == other


def test_a_stored_choice_that_is_no_longer_loaded_is_dropped(ada, grace):
    other = Membership.objects.create(
        user=ada, account=grace.memberships.get().account, role=Role.VIEWER
    )
    session = {SESSION_KEY: other.pk}
    other.delete()
    membership = resolve_membership(request_of(MembershipBackend().get_user(ada.pk), session))
    assert membership == ada.memberships.get()
    assert SESSION_KEY not in session


def test_a_user_loaded_another_way_has_their_memberships_read(ada, django_assert_num_queries):
    user = User.objects.get(pk=ada.pk)
    assert user.loaded_memberships is None
    only = ada.memberships.get()
    with django_assert_num_queries(1):
        assert resolve_membership(request_of(user)) == only
