"""The one impersonation policy, for every persona against every target."""

import pytest
from django.contrib.auth.models import Permission

from portal.impersonation import impersonation_refusal, may_impersonate
from portal.models import CustomerAccount, Membership, Role, User

pytestmark = pytest.mark.django_db

HIJACKERS = ["ada", "ben", "grace", "maria", "maria_support", "sam", "superuser", "ben_support"]
TARGETS = ["ada", "ben", "grace", "maria", "sam", "superuser", "inactive", "initech", "loner"]

# Everything not listed is refused.
ALLOWED = {
    "sam": {"ada", "ben", "grace", "initech"},
    "superuser": {"ada", "ben", "grace", "initech"},
    # An account manager with the permission: only members of the customers in her book.
    "maria_support": {"ada", "ben", "grace"},
}


def _grant_impersonate(user: User) -> User:
    user.user_permissions.add(Permission.objects.get(codename="impersonate"))
    return User.objects.get(pk=user.pk)  # a fresh instance: permissions are cached per object


@pytest.fixture
def maria_support(maria) -> User:
    return _grant_impersonate(maria)


@pytest.fixture
def ben_support(ben) -> User:
    """A customer member who was given the permission by mistake: not staff, so still refused."""
    return _grant_impersonate(ben)


@pytest.fixture
def inactive(ada) -> User:
    user = User.objects.create_user("gone@acme.example", is_active=False)
    Membership.objects.create(user=user, account=ada.memberships.get().account, role=Role.BUYER)
    return user


@pytest.fixture
def initech(db) -> User:
    """A member of a customer outside Maria's book."""
    account = CustomerAccount.objects.create(nue_customer_id="cust-initech", name="Initech")
    user = User.objects.create_user("peter@initech.example")
    Membership.objects.create(user=user, account=account, role=Role.ADMIN)
    return user


@pytest.fixture
def loner(db) -> User:
    """A portal user who is not a member of any customer."""
    return User.objects.create_user("loner@example.com")


@pytest.mark.parametrize("target_name", TARGETS)
@pytest.mark.parametrize("hijacker_name", HIJACKERS)
def test_it_decides_every_persona_against_every_target(request, hijacker_name, target_name):
    hijacker = request.getfixturevalue(hijacker_name)
    target = request.getfixturevalue(target_name)
    expected = target_name in ALLOWED.get(hijacker_name, set())
    refusal = impersonation_refusal(hijacker=hijacker, hijacked=target)
    assert (refusal is None) is expected, refusal
    assert may_impersonate(hijacker=hijacker, hijacked=target) is expected


def test_it_refuses_chaining(sam, ada):
    sam.is_hijacked = True  # what django-hijack's middleware sets while impersonating
    assert impersonation_refusal(hijacker=sam, hijacked=ada) == (
        "Stop the current impersonation first: impersonations cannot be chained."
    )


def test_it_refuses_an_inactive_agent(sam, ada):
    sam.is_active = False
    assert not may_impersonate(hijacker=sam, hijacked=ada)


def test_it_refuses_an_anonymous_hijacker(ada):
    from django.contrib.auth.models import AnonymousUser

    assert not may_impersonate(hijacker=AnonymousUser(), hijacked=ada)


def test_it_refuses_a_customer_the_target_does_not_belong_to(sam, ada, grace):
    globex = grace.memberships.get().account
    assert impersonation_refusal(hijacker=sam, hijacked=ada, account=globex) == (
        "This user is not a member of that customer account."
    )


def test_it_limits_an_account_manager_to_the_customers_of_her_book(maria_support, ada, initech):
    acme = ada.memberships.get().account
    Membership.objects.create(user=ada, account=initech.memberships.get().account)
    assert impersonation_refusal(hijacker=maria_support, hijacked=ada, account=acme) is None
    assert impersonation_refusal(
        hijacker=maria_support, hijacked=ada, account=initech.memberships.get().account
    ) == ("This customer is not in your book.")


def test_it_explains_each_refusal(sam, maria, superuser, ada):
    assert "permission" in impersonation_refusal(hijacker=maria, hijacked=ada)
    assert "yourself" in impersonation_refusal(hijacker=sam, hijacked=sam)
    assert "Staff users and superusers" in impersonation_refusal(hijacker=sam, hijacked=superuser)
    assert "Only active staff" in impersonation_refusal(hijacker=ada, hijacked=ada)
