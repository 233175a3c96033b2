"""The contract's conventions: problem+json errors, body size and media type,
malformed JSON, the body validator naming the field, and the order of the
checks (404 -> 405 -> 401 -> 403 -> 413 -> 415 -> 400)."""
from harness import *

CANCEL = "/api/v1/subscription/cancel"
DOWNGRADE = "/api/v1/subscription/downgrade"
INTERNAL_SUBS = "/api/v1/internal/subscriptions"
KIB64 = 64 * 1024


def paid_user(plan="studio"):
    uid, _ = subscribe(plan=plan)
    return uid, token(uid)


def raw_post(path, tok, data, content_type="application/json"):
    return post(path, tok, raw=data, content_type=content_type)


def invalid_request(r, field):
    expect(r, 400, "invalid_request")
    assert f"'{field}'" in r.json["detail"], r
    return r


def state_of(uid):
    return sql("SELECT plan, cancel_at_period_end, coalesce(scheduled_plan, '-') FROM subscriptions"
               " WHERE user_id = :'p1' AND status = 'active'", uid)


def test_problem_details_shape():
    r = expect(get("/api/v1/nope"), 404, "not_found")
    assert set(r.json) >= {"type", "title", "status", "detail", "code"}
    r = expect(get("/api/v1/account"), 401, "unauthenticated")
    assert set(r.json) >= {"type", "title", "status", "detail", "code"} and r.json["status"] == 401


def test_unknown_path_is_404_before_authentication():
    for path in ("/api/v1/nope", "/api/v1/account/extra", "/api/v2/account", "/nope", "/api/v1/"):
        expect(get(path), 404, "not_found")
    expect(post("/api/v1/nope", None, {"a": 1}), 404, "not_found")


def test_wrong_method_is_405_with_allow_before_authentication():
    r = expect(get(CANCEL), 405, "method_not_allowed")
    assert r.headers.get("allow") == "POST", r.headers
    r = expect(post("/api/v1/account", None, {"x": 1}), 405, "method_not_allowed")
    assert r.headers.get("allow") == "GET", r.headers
    r = expect(get("/api/v1/subscription/scheduled-change"), 405, "method_not_allowed")
    assert r.headers.get("allow") == "DELETE", r.headers
    r = expect(delete(CANCEL, token(new_id())), 405, "method_not_allowed")
    r = expect(get(INTERNAL_SUBS), 405, "method_not_allowed")
    assert r.headers.get("allow") == "POST", r.headers


def test_authentication_before_media_type_and_body():
    expect(raw_post(CANCEL, None, b"not json", "text/plain"), 401, "unauthenticated")
    expect(raw_post(CANCEL, "bad.token.here", b"{", "application/json"), 401, "invalid_token")


def test_role_before_media_type_and_body():
    expect(raw_post(INTERNAL_SUBS, token(new_id()), b"not json", "text/plain"), 403, "forbidden")
    expect(raw_post(CANCEL, service_token(), b"{bad", "application/json"), 403, "forbidden")


def test_body_over_64_kib_is_413():
    uid, tok = paid_user()
    big = b'{"comment": "' + b"x" * KIB64 + b'"}'
    expect(raw_post(CANCEL, tok, big), 413, "payload_too_large")
    # nginx may refuse it before the app looks at the token
    expect(raw_post(CANCEL, None, big), 413, "payload_too_large")
    assert state_of(uid) == [["studio", "f", "-"]]


def test_413_before_415_and_400():
    uid, tok = paid_user()
    expect(raw_post(CANCEL, tok, b"x" * (KIB64 + 1), "text/plain"), 413, "payload_too_large")
    expect(raw_post(CANCEL, tok, b"{" * (KIB64 + 1)), 413, "payload_too_large")


def test_body_of_exactly_64_kib_is_accepted():
    uid, tok = paid_user()
    body = b'{"reason": "other"}'
    body = body[:-1] + b" " * (KIB64 - len(body)) + b"}"
    assert len(body) == KIB64
    r = expect(raw_post(CANCEL, tok, body), 200)
    assert r.json["subscription"]["cancel_at_period_end"] is True


def test_non_json_body_is_415():
    uid, tok = paid_user()
    expect(raw_post(CANCEL, tok, b'{"reason": "other"}', "text/plain"), 415, "unsupported_media_type")
    expect(raw_post(CANCEL, tok, b'{"reason": "other"}', "application/x-www-form-urlencoded"),
           415, "unsupported_media_type")
    expect(raw_post(CANCEL, tok, b'{"reason": "other"}', None), 415, "unsupported_media_type")
    expect(raw_post(CANCEL, tok, b'{"reason": "other"}', "application/jsonx"), 415, "unsupported_media_type")
    assert state_of(uid) == [["studio", "f", "-"]]


def test_415_before_400():
    uid, tok = paid_user()
    expect(raw_post(CANCEL, tok, b"{not json", "text/plain"), 415, "unsupported_media_type")


def test_json_content_type_with_parameters_is_accepted():
    uid, tok = paid_user()
    expect(raw_post(CANCEL, tok, b'{"reason": "other"}', "application/json; charset=utf-8"), 200)
    assert state_of(uid) == [["studio", "t", "-"]]


def test_post_without_body_is_fine_where_the_body_is_optional():
    uid, tok = paid_user()
    expect(raw_post(CANCEL, tok, None, None), 200)
    assert state_of(uid) == [["studio", "t", "-"]]


def test_malformed_json_is_invalid_json():
    uid, tok = paid_user()
    for body in (b"{", b'{"reason": }', b"{'reason': 'other'}", b'{"reason": "other",}',
                 b'{"reason": "other"} trailing', b'{"reason": "other"}{}', b"nul\x00"):
        expect(raw_post(CANCEL, tok, body), 400, "invalid_json")
    assert state_of(uid) == [["studio", "f", "-"]]


def test_duplicate_keys_are_invalid_json():
    uid, tok = paid_user()
    expect(raw_post(CANCEL, tok, b'{"reason": "other", "reason": "quality"}'), 400, "invalid_json")
    expect(raw_post(DOWNGRADE, tok, b'{"plan": "pro", "plan": "pro"}'), 400, "invalid_json")
    assert state_of(uid) == [["studio", "f", "-"]]


def test_nul_and_invalid_utf8_are_invalid_json():
    uid, tok = paid_user()
    expect(raw_post(CANCEL, tok, b'{"comment": "a\\u0000b"}'), 400, "invalid_json")
    expect(raw_post(CANCEL, tok, b'{"comment": "a\x00b"}'), 400, "invalid_json")
    expect(raw_post(CANCEL, tok, b'{"comment": "\xff\xfe"}'), 400, "invalid_json")
    expect(raw_post(CANCEL, tok, b'{"comment": "\xc3"}'), 400, "invalid_json")
    expect(raw_post(CANCEL, tok, b'{"comment": "\xed\xa0\x80"}'), 400, "invalid_json")  # a UTF-16 surrogate
    expect(raw_post(CANCEL, tok, b'{"comment": "\\ud800"}'), 400, "invalid_json")       # a lone surrogate escape
    assert state_of(uid) == [["studio", "f", "-"]]


def test_deep_nesting_is_invalid_json():
    uid, tok = paid_user()
    # 16 levels in all parse (and then the field has the wrong type); 17 do not
    ok_depth = b'{"comment": ' + b"[" * 15 + b"]" * 15 + b"}"
    invalid_request(raw_post(CANCEL, tok, ok_depth), "comment")
    too_deep = b'{"comment": ' + b"[" * 16 + b"]" * 16 + b"}"
    expect(raw_post(CANCEL, tok, too_deep), 400, "invalid_json")
    expect(raw_post(CANCEL, tok, b"[" * 5000 + b"]" * 5000), 400, "invalid_json")
    assert state_of(uid) == [["studio", "f", "-"]]


def test_body_must_be_an_object():
    uid, tok = paid_user()
    for body in (b"[]", b'"other"', b"42", b"null", b"true"):
        expect(raw_post(CANCEL, tok, body), 400, "invalid_request")
    assert state_of(uid) == [["studio", "f", "-"]]


def test_unknown_field_is_named():
    uid, tok = paid_user()
    invalid_request(post(CANCEL, tok, {"reason": "other", "surprise": 1}), "surprise")
    invalid_request(post(DOWNGRADE, tok, {"plan": "pro", "effective_at": "2030-01-01T00:00:00Z"}), "effective_at")
    invalid_request(post("/api/v1/subscription/resume", tok, {"anything": True}), "anything")
    assert state_of(uid) == [["studio", "f", "-"]]


def test_wrong_types_are_named():
    uid, tok = paid_user()
    for value in (5, 10.10, 1e3, True, ["pro"], {"name": "pro"}):
        invalid_request(post(DOWNGRADE, tok, {"plan": value}), "plan")
    invalid_request(post(CANCEL, tok, {"reason": 1}), "reason")
    invalid_request(post(CANCEL, tok, {"comment": 2 ** 63}), "comment")
    invalid_request(post(CANCEL, tok, {"reason": "bored"}), "reason")
    invalid_request(post(CANCEL, tok, {"comment": "x" * 2001}), "comment")
    assert state_of(uid) == [["studio", "f", "-"]]


def test_missing_required_field_is_named():
    uid, tok = paid_user()
    invalid_request(post(DOWNGRADE, tok, {}), "plan")
    invalid_request(raw_post(DOWNGRADE, tok, None, None), "plan")
    invalid_request(post(DOWNGRADE, tok, {"plan": None}), "plan")
    body = {"user_id": new_id(), "email": "a@b.c", "plan": "pro"}
    invalid_request(post(INTERNAL_SUBS, service_token(), body), "provider_ref")
    assert state_of(uid) == [["studio", "f", "-"]]


def test_length_limits_count_characters_not_bytes():
    uid, tok = paid_user()
    expect(post(CANCEL, tok, {"reason": "other", "comment": "é" * 2000}), 200)
    assert sql_value("SELECT char_length(comment) FROM cancellation_feedback WHERE user_id = :'p1'", uid) == "2000"


def test_time_fields_must_be_rfc3339():
    uid = new_id()
    for value in ("yesterday", "2026-02-30T00:00:00Z", "2026-01-01", 1700000000, "2026-01-01T00:00:00"):
        body = {"user_id": uid, "email": "a@b.c", "plan": "pro", "provider_ref": new_id("ref"),
                "started_at": value}
        invalid_request(post(INTERNAL_SUBS, service_token(), body), "started_at")
    assert sql_value("SELECT count(*) FROM users WHERE id = :'p1'", uid) == "0"


def test_success_is_application_json():
    uid, tok = paid_user()
    r = expect(get("/api/v1/account", tok), 200)
    assert r.headers["content-type"].startswith("application/json"), r.headers
    r = expect(get("/healthz"), 200)
    assert r.json == {"status": "ok"}
