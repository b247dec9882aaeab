import pytest

from channels import app_auth

SECRET = "s" * 40


def test_round_trip_names_the_customer():
    token = app_auth.sign("C0007", SECRET, ttl_seconds=60)
    assert app_auth.verify(token, SECRET) == "C0007"


def test_expired_token_is_refused():
    token = app_auth.sign("C0007", SECRET, ttl_seconds=60, now=1_000)
    assert app_auth.verify(token, SECRET, now=1_059) == "C0007"
    assert app_auth.verify(token, SECRET, now=1_061) is None


@pytest.mark.parametrize("mutate", [
    lambda t: t.replace("C0007", "C0008"),            # claim another customer
    lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # forged signature
    lambda t: t.replace("v1.", "v2.", 1),
    lambda t: t + ".extra",
    lambda t: "",
    lambda t: "v1.C0007.9999999999",
    lambda t: "v1." + "A" * 300 + ".9999999999.00",
])
def test_tampered_tokens_are_refused(mutate):
    token = app_auth.sign("C0007", SECRET, ttl_seconds=60)
    assert app_auth.verify(mutate(token), SECRET) is None


def test_other_secret_is_refused():
    token = app_auth.sign("C0007", SECRET, ttl_seconds=60)
    assert app_auth.verify(token, "t" * 40) is None


def test_customer_id_shape_is_enforced_when_signing():
    with pytest.raises(ValueError):
        app_auth.sign("C0007.evil", SECRET, ttl_seconds=60)
