"""GET /api/v1/plans (not in the contract: the account page's downgrade
choices come from it): the plans table, lowest rank first, for users only."""
from harness import *


def test_plans_lists_the_plans_table():
    uid = new_id()
    r = expect(get("/api/v1/plans", token(uid)), 200)
    plans = r.json["plans"]
    rows = sql("SELECT name, rank, price_cents, currency, included_credits FROM plans ORDER BY rank")
    assert [(p["name"], p["rank"], p["price_cents"], p["currency"], p["included_credits"]) for p in plans] == \
        [(n, int(k), int(c), cur, int(i)) for n, k, c, cur, i in rows]
    assert [p["paid"] for p in plans] == [int(row[2]) > 0 for row in rows]
    assert plans[0]["name"] == "free" and plans[0]["paid"] is False


def test_plans_needs_a_user_token():
    expect(get("/api/v1/plans"), 401, "unauthenticated")
    expect(get("/api/v1/plans", support_token()), 403, "forbidden")
    expect(post("/api/v1/plans", token(new_id()), {}), 405, "method_not_allowed")
