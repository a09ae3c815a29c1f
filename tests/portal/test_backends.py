import pytest
from django.test import RequestFactory

from portal.backends import MembershipBackend
from portal.middleware import SESSION_KEY, resolve_membership
from portal.models import Membership, Role, User

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
