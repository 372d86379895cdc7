// The portal's API through its real router on both store backends: the document matches the
// router, sign-up through the tokenizer, sessions and CSRF, lock-out, roles and purposes, cookies,
// call logs, and tenant isolation over every route.
#include "portal/api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>

#include "accounts/accounts.h"
#include "common/ids.h"
#include "common/json.h"
#include "http/server.h"
#include "portal/auth.h"
#include "portal/tokenizer.h"
#include "privacy/settings_change.h"
#include "store/settings.h"
#include "store/test_stores.h"
#include "erasure/erasure.h"

namespace privox::portal {
namespace {

using http::bhttp::status;
using http::bhttp::verb;
using nlohmann::json;

// The tokenizer, asked through its own router: the same answers privox gets over HTTP.
class TokenizerProvider final : public PaymentProvider {
 public:
  explicit TokenizerProvider(Tokenizer& t) : router_(t.router()) {}
  Result<CardDetails> describe(const std::string& token) override {
    http::Request req{verb::get, "/v1/tokens/" + token, 11};
    req.set("Authorization", "Bearer test-api-key-0123456789");
    const http::Response res = router_.dispatch(req);
    if (res.result() == status::not_found) return invalid("payment_token", "unknown token");
    const json j = json::parse(res.body());
    return CardDetails{j["brand"], j["last4"], j["expiry"]};
  }
  std::string browser_origin() const override { return "http://127.0.0.1:8081"; }
  std::string create(const std::string& number) {
    http::Request req{verb::post, "/v1/tokens", 11};
    req.body() = json{{"number", number}, {"exp_month", 12}, {"exp_year", 2031}, {"cvc", "123"}}.dump();
    return json::parse(router_.dispatch(req).body()).value("token", "");
  }

 private:
  http::Router router_;
};

// A browser: keeps cookies and the CSRF token, calls the router as a client at `address`.
struct Browser {
  const http::Router* router = nullptr;
  std::string address = "198.51.100.7";
  std::map<std::string, std::string> cookies;
  std::string csrf;

  http::Response call(verb method, const std::string& target, const json& body = nullptr, bool with_csrf = true) {
    http::Request req{method, target, 11};
    std::string cookie;
    for (const auto& [k, v] : cookies) cookie.append(cookie.empty() ? "" : "; ").append(k).append("=").append(v);
    if (!cookie.empty()) req.set(http::bhttp::field::cookie, cookie);
    if (with_csrf && !csrf.empty()) req.set("X-CSRF-Token", csrf);
    if (!body.is_null()) {
      req.set(http::bhttp::field::content_type, "application/json");
      req.body() = body.dump();
    }
    http::Response res = router->dispatch(req, address);
    for (auto it = res.find(http::bhttp::field::set_cookie); it != res.end() && it->name() == http::bhttp::field::set_cookie; ++it) {
      const std::string c(it->value());
      const std::string name = c.substr(0, c.find('=')), value = c.substr(c.find('=') + 1, c.find(';') - c.find('=') - 1);
      if (c.find("Max-Age=0") != std::string::npos) cookies.erase(name);
      else cookies[name] = value;
    }
    if (res[http::bhttp::field::content_type] == "application/json") {
      const json j = json::parse(res.body(), nullptr, false);
      if (j.is_object() && j.contains("csrf_token")) csrf = j["csrf_token"];
    }
    return res;
  }
};

class PortalApiTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    PortalOptions options;
    options.payments = &provider_;
    portal_ = std::make_unique<Portal>(*store_, keys_, clock_, options);
    portal_->mount(router_);
    api_ = json::parse(openapi_document());
  }

  json signup_body(const std::string& email, const std::string& phone) {
    return {{"company_name", "Acme " + email}, {"region", "eea"}, {"name", "Ada Lovelace"}, {"email", email},
            {"phone", phone}, {"address", "1 Analytical Way, London"}, {"birth_date", "1990-12-10"},
            {"password", "correct horse battery"}, {"payment_token", provider_.create("4242424242424242")}};
  }

  Browser browser() {
    Browser b;
    b.router = &router_;
    return b;
  }

  // The response's status is documented for the route, and a JSON body has the documented
  // schema's required properties.
  void expect_documented(verb method, const std::string& pattern, const http::Response& res) {
    std::string m(http::bhttp::to_string(method));
    for (auto& ch : m) ch = static_cast<char>(std::tolower(ch));
    ASSERT_TRUE(api_["paths"].contains(pattern)) << pattern;
    const json& op = api_["paths"][pattern][m];
    const std::string code = std::to_string(res.result_int());
    ASSERT_TRUE(op["responses"].contains(code)) << m << " " << pattern << " answered undocumented " << code << ": "
                                                << res.body();
    json doc = op["responses"][code];
    if (doc.contains("$ref")) doc = api_["components"]["responses"]["Error"];
    if (!doc.contains("content")) return;
    json schema = doc["content"]["application/json"]["schema"];
    if (schema.contains("$ref")) {
      const std::string ref = schema["$ref"];
      schema = api_["components"]["schemas"][ref.substr(ref.rfind('/') + 1)];
    }
    const json body = json::parse(res.body(), nullptr, false);
    for (const auto& required : schema.value("required", json::array()))
      EXPECT_TRUE(body.contains(required.get<std::string>())) << pattern << " lacks " << required << ": " << res.body();
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  Tokenizer tokenizer_{"http://127.0.0.1:8080", "test-api-key-0123456789", clock_};
  TokenizerProvider provider_{tokenizer_};
  http::Router router_;
  std::unique_ptr<Portal> portal_;
  json api_;
};

TEST_P(PortalApiTest, TheDocumentDescribesExactlyTheRoutesOfTheRouter) {
  std::set<std::pair<std::string, std::string>> routed, documented;
  for (const auto& route : router_.routes()) {
    std::string m(http::bhttp::to_string(route.method));
    for (auto& ch : m) ch = static_cast<char>(std::tolower(ch));
    routed.emplace(route.pattern, m);
  }
  for (const auto& [path, ops] : api_["paths"].items())
    for (const auto& [method, op] : ops.items())
      if (method != "parameters") documented.emplace(path, method);
  routed.emplace("/healthz", "get");  // mounted by serve, beside the portal
  EXPECT_EQ(routed, documented);
}

TEST_P(PortalApiTest, SignUpLogsInWithSafeCookiesAndTheCardComesFromTheProvider) {
  Browser b = browser();
  const http::Response res = b.call(verb::post, "/api/v1/signup", signup_body("ada@example.com", "+442079460958"));
  ASSERT_EQ(res.result(), status::created) << res.body();
  expect_documented(verb::post, "/api/v1/signup", res);
  const std::string cookie(res[http::bhttp::field::set_cookie]);
  EXPECT_NE(cookie.find("privox_session="), std::string::npos);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(cookie.find("Path=/"), std::string::npos);
  EXPECT_EQ(json::parse(res.body())["role"], "office_manager");

  const http::Response me = b.call(verb::get, "/api/v1/me");
  ASSERT_EQ(me.result(), status::ok) << me.body();
  expect_documented(verb::get, "/api/v1/me", me);
  const json fields = json::parse(me.body())["fields"];
  EXPECT_EQ(fields["card_brand"], "visa");
  EXPECT_EQ(fields["card_last4"], "4242");
  EXPECT_EQ(fields["card_expiry"], "2031-12");
  EXPECT_FALSE(fields.contains("payment_token"));

  // Marketing consents are recorded, unticked, with the notice version.
  const json consents = json::parse(b.call(verb::get, "/api/v1/consents").body());
  ASSERT_EQ(consents["current"].size(), 2u);
  for (const auto& c : consents["current"]) {
    EXPECT_FALSE(c["given"].get<bool>());
    EXPECT_EQ(c["method"], "form");
    EXPECT_EQ(c["channel"], "web");
    EXPECT_FALSE(c["notice_version"].get<std::string>().empty());
  }
}

TEST_P(PortalApiTest, SignUpRefusesMissingFieldsMinorsCardNumbersAndShortPasswords) {
  Browser b = browser();
  struct Case {
    std::string field;
    json value;
    std::string expected_field;
  } cases[] = {
      {"phone", nullptr, "phone"},
      {"birth_date", "2015-01-01", "birth_date"},
      {"address", "4111 1111 1111 1111", "address"},
      {"password", "short", "password"},
      {"payment_token", "tok_nonexistent", "payment_token"},
      {"marketing_email", "yes", "marketing_email"},
  };
  for (const Case& c : cases) {
    json body = signup_body("bob@example.com", "+442079460959");
    if (c.value.is_null()) body.erase(c.field);
    else body[c.field] = c.value;
    const http::Response res = b.call(verb::post, "/api/v1/signup", body);
    EXPECT_EQ(res.result(), status::bad_request) << c.field << ": " << res.body();
    expect_documented(verb::post, "/api/v1/signup", res);
    EXPECT_EQ(json::parse(res.body())["error"]["field"], c.expected_field) << res.body();
  }
  http::Request broken{verb::post, "/api/v1/signup", 11};
  broken.body() = "{not json";
  EXPECT_EQ(router_.dispatch(broken).result(), status::bad_request);
}

TEST_P(PortalApiTest, CsrfIsRequiredAndLogoutEndsTheSessionOnTheServer) {
  Browser b = browser();
  ASSERT_EQ(b.call(verb::post, "/api/v1/signup", signup_body("cy@example.com", "+442079460960")).result(), status::created);
  const http::Response no_csrf = b.call(verb::patch, "/api/v1/me", {{"name", "Cy Young"}}, false);
  EXPECT_EQ(no_csrf.result(), status::forbidden);
  EXPECT_EQ(json::parse(no_csrf.body())["error"]["field"], "X-CSRF-Token");
  const http::Response patched = b.call(verb::patch, "/api/v1/me", {{"name", "Cy Young"}});
  ASSERT_EQ(patched.result(), status::ok) << patched.body();
  expect_documented(verb::patch, "/api/v1/me", patched);
  EXPECT_EQ(json::parse(b.call(verb::get, "/api/v1/me").body())["fields"]["name"], "Cy Young");

  const std::string token = b.cookies["privox_session"];
  EXPECT_EQ(b.call(verb::delete_, "/api/v1/session").result(), status::no_content);
  b.cookies["privox_session"] = token;  // a stolen copy of the cookie no longer works
  EXPECT_EQ(b.call(verb::get, "/api/v1/me").result(), status::unauthorized);
}

TEST_P(PortalApiTest, RepeatedFailedLoginsLockTheAccountAndTheAddress) {
  Browser b = browser();
  ASSERT_EQ(b.call(verb::post, "/api/v1/signup", signup_body("dee@example.com", "+442079460961")).result(), status::created);
  Browser attacker = browser();
  attacker.address = "203.0.113.9";
  for (int i = 0; i < 5; ++i) {
    const http::Response res = attacker.call(verb::post, "/api/v1/session", {{"email", "dee@example.com"}, {"password", "wrong password!"}});
    EXPECT_EQ(res.result(), status::unauthorized);
    expect_documented(verb::post, "/api/v1/session", res);
  }
  // The right password from another address is refused too: the account is locked.
  Browser owner = browser();
  const http::Response locked = owner.call(verb::post, "/api/v1/session", {{"email", "dee@example.com"}, {"password", "correct horse battery"}});
  EXPECT_EQ(locked.result(), status::too_many_requests);
  EXPECT_FALSE(locked[http::bhttp::field::retry_after].empty());
  // And the attacking address is locked for every account.
  EXPECT_EQ(attacker.call(verb::post, "/api/v1/session", {{"email", "other@example.com"}, {"password", "whatever12345"}}).result(),
            status::too_many_requests);
  clock_.set_us(clock_.now_us() + 16LL * 60 * 1'000'000);
  const http::Response later = owner.call(verb::post, "/api/v1/session", {{"email", "dee@example.com"}, {"password", "correct horse battery"}});
  EXPECT_EQ(later.result(), status::ok) << later.body();
  expect_documented(verb::post, "/api/v1/session", later);
  auto tx = store_->begin(store::TxMode::read);
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM portal_login_throttle WHERE expires_at_us < ?", {clock_.now_us()})->at(0).i64(0), 0);
}

TEST_P(PortalApiTest, StaffMustNameAPurposeTheirRoleAllowsAndEachViewIsAudited) {
  Browser m = browser();
  ASSERT_EQ(m.call(verb::post, "/api/v1/signup", signup_body("eve@example.com", "+442079460962")).result(), status::created);
  ASSERT_TRUE(portal_->auth().add_staff("billing@operator.example", Role::staff_billing, "staff password 1", "cli:test").ok());
  Browser staff = browser();
  ASSERT_EQ(staff.call(verb::post, "/api/v1/session", {{"email", "billing@operator.example"}, {"password", "staff password 1"}}).result(),
            status::ok);
  http::Response res = staff.call(verb::get, "/api/v1/admin/members");
  EXPECT_EQ(res.result(), status::forbidden);
  EXPECT_EQ(json::parse(res.body())["error"]["field"], "purpose");
  EXPECT_EQ(staff.call(verb::get, "/api/v1/admin/members?purpose=fraud").result(), status::forbidden);
  res = staff.call(verb::get, "/api/v1/admin/members?purpose=billing");
  ASSERT_EQ(res.result(), status::ok) << res.body();
  expect_documented(verb::get, "/api/v1/admin/members", res);
  EXPECT_EQ(json::parse(res.body())["items"].size(), 1u);
  {
    auto tx = store_->begin(store::TxMode::read);
    EXPECT_EQ((*tx)->query("SELECT count(*) FROM audit_log WHERE action = 'member.show' AND purpose = 'billing'")->at(0).i64(0), 1);
  }
  res = staff.call(verb::get, "/api/v1/admin/audit");
  ASSERT_EQ(res.result(), status::ok);
  EXPECT_TRUE(json::parse(res.body())["ok"].get<bool>());
  EXPECT_EQ(m.call(verb::get, "/api/v1/admin/companies").result(), status::forbidden);
}

TEST_P(PortalApiTest, LegalStaffKeepTheDisclosureRegisterAndSeeTheRequestQueue) {
  Browser m = browser();
  ASSERT_EQ(m.call(verb::post, "/api/v1/signup", signup_body("ida@example.com", "+442079460967")).result(), status::created);
  const std::string member = json::parse(m.call(verb::get, "/api/v1/me").body())["subject_id"];
  ASSERT_EQ(m.call(verb::post, "/api/v1/requests", {{"kind", "access"}}).result(), status::created);
  ASSERT_TRUE(portal_->auth().add_staff("legal@operator.example", Role::staff_legal, "staff password 2", "cli:test").ok());
  Browser staff = browser();
  ASSERT_EQ(staff.call(verb::post, "/api/v1/session", {{"email", "legal@operator.example"}, {"password", "staff password 2"}}).result(),
            status::ok);

  EXPECT_EQ(staff.call(verb::get, "/api/v1/admin/disclosures").result(), status::forbidden);  // no purpose named
  const json order = {{"recipient", "Metropolitan Police"}, {"kind", "authority"}, {"categories", {"traffic"}},
                      {"basis", "legal_obligation"}, {"member_ids", {member}}};
  http::Response res = staff.call(verb::post, "/api/v1/admin/disclosures?purpose=legal", order);
  EXPECT_EQ(res.result(), status::bad_request);
  EXPECT_EQ(json::parse(res.body())["error"]["field"], "reference");
  json with_reference = order;
  with_reference["reference"] = "order 2026/1234";
  res = staff.call(verb::post, "/api/v1/admin/disclosures?purpose=legal", with_reference);
  ASSERT_EQ(res.result(), status::created) << res.body();
  expect_documented(verb::post, "/api/v1/admin/disclosures", res);
  const std::string id = json::parse(res.body())["id"];

  res = staff.call(verb::get, "/api/v1/admin/disclosures?purpose=legal&member_id=" + member);
  ASSERT_EQ(res.result(), status::ok) << res.body();
  expect_documented(verb::get, "/api/v1/admin/disclosures", res);
  EXPECT_NE(res.body().find(id), std::string::npos);
  res = staff.call(verb::get, "/api/v1/admin/requests?purpose=legal");
  ASSERT_EQ(res.result(), status::ok) << res.body();
  expect_documented(verb::get, "/api/v1/admin/requests", res);
  EXPECT_EQ(json::parse(res.body())["items"].size(), 1u);
  EXPECT_EQ(m.call(verb::get, "/api/v1/admin/requests?purpose=legal").result(), status::forbidden);  // not staff
}

// A letter that arrived on 31 January 2027 and was entered weeks later: its month runs from the
// letter, clamped to February's end, and dates it cannot have are refused by name.
TEST_P(PortalApiTest, StaffEnterARequestWithTheDayItReallyArrived) {
  Browser m = browser();
  ASSERT_EQ(m.call(verb::post, "/api/v1/signup", signup_body("jo@example.com", "+442079460968")).result(), status::created);
  const std::string member = json::parse(m.call(verb::get, "/api/v1/me").body())["subject_id"];
  ASSERT_TRUE(portal_->auth().add_staff("legal@operator.example", Role::staff_legal, "staff password 2", "cli:test").ok());
  clock_.set_us(clock_.now_us() + 90LL * 86'400 * 1'000'000);  // 2027-02-16
  Browser staff = browser();
  ASSERT_EQ(staff.call(verb::post, "/api/v1/session", {{"email", "legal@operator.example"}, {"password", "staff password 2"}}).result(),
            status::ok);

  const json letter = {{"member_id", member}, {"kind", "access"}, {"channel", "letter"}, {"received_at", "2027-01-31"}};
  EXPECT_EQ(staff.call(verb::post, "/api/v1/admin/requests?purpose=support", letter).result(), status::forbidden);
  http::Response res = staff.call(verb::post, "/api/v1/admin/requests?purpose=legal", letter);
  ASSERT_EQ(res.result(), status::created) << res.body();
  expect_documented(verb::post, "/api/v1/admin/requests", res);
  const json opened = json::parse(res.body());
  EXPECT_EQ(opened["channel"], "letter");
  EXPECT_EQ(opened["received_at"].get<std::string>().substr(0, 10), "2027-01-31");
  EXPECT_EQ(opened["due_date"], "2027-02-28");

  for (const auto& [when, why] : {std::pair{"2027-03-01", "the future"}, {"2026-11-01", "before the account"},
                                  {"31/01/2027", "not a date"}}) {
    json bad = letter;
    bad["received_at"] = when;
    res = staff.call(verb::post, "/api/v1/admin/requests?purpose=legal", bad);
    EXPECT_EQ(res.result(), status::bad_request) << why;
    EXPECT_EQ(json::parse(res.body())["error"]["field"], "received_at") << why;
  }
  res = staff.call(verb::post, "/api/v1/admin/requests?purpose=legal", {{"kind", "access"}});
  EXPECT_EQ(res.result(), status::bad_request);
  EXPECT_EQ(json::parse(res.body())["error"]["field"], "member_id");
}

TEST_P(PortalApiTest, VisitorsConsentToPerformanceCookiesWithoutAnAccount) {
  Browser v = browser();
  http::Response res = v.call(verb::put, "/api/v1/consents/cookies_performance", {{"given", true}});
  ASSERT_EQ(res.result(), status::ok) << res.body();
  expect_documented(verb::put, "/api/v1/consents/{purpose}", res);
  EXPECT_TRUE(v.cookies.count("privox_visitor"));
  EXPECT_TRUE(v.cookies.count("privox_perf"));
  EXPECT_EQ(json::parse(v.call(verb::get, "/api/v1/consents").body())["current"].size(), 1u);
  res = v.call(verb::put, "/api/v1/consents/cookies_performance", {{"given", false}});
  ASSERT_EQ(res.result(), status::ok);
  EXPECT_FALSE(v.cookies.count("privox_perf"));
  EXPECT_EQ(v.call(verb::put, "/api/v1/consents/marketing_email", {{"given", true}}).result(), status::unauthorized);
  EXPECT_EQ(v.call(verb::put, "/api/v1/consents/cookies_targeting", {{"given", true}}).result(), status::bad_request);
}

TEST_P(PortalApiTest, CallLogsShowTheCallersLinesKeepWithheldCallersWithheldAndPage) {
  Browser b = browser();
  ASSERT_EQ(b.call(verb::post, "/api/v1/signup", signup_body("fay@example.com", "+442079460963")).result(), status::created);
  const std::string me = json::parse(b.call(verb::get, "/api/v1/me").body())["subject_id"];
  http::Response added = b.call(verb::post, "/api/v1/extensions", {{"number", "201"}, {"password", "line password 1"}, {"member_id", me}});
  ASSERT_EQ(added.result(), status::created) << added.body();
  expect_documented(verb::post, "/api/v1/extensions", added);
  const std::string line = json::parse(added.body())["id"];
  ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(s, keys_, line));
    PRIVOX_ASSIGN(store::Rows co, s.query("SELECT company_id FROM extensions WHERE id = ?", {line}));
    for (int i = 0; i < 3; ++i) {
      const std::string id = new_id(clock_.now_us() + i);
      PRIVOX_TRY(s.exec("INSERT INTO traffic_records (id, company_id, subject_id, direction, kind, source_enc, "
                        "destination_enc, source_withheld, started_at_us, outcome, updated_at_us) "
                        "VALUES (?, ?, ?, 'inbound', 'voice', ?, ?, ?, ?, 'answered', ?)",
                        {id, co.at(0).text(0), line, privacy::seal_field(key, line, "source", "+15551230000"),
                         privacy::seal_field(key, line, "destination", "201"), int64_t{i == 0 ? 1 : 0},
                         int64_t{clock_.now_us() - int64_t{3 - i} * 1'000'000}, clock_.now_us()}));
    }
    return {};
  }).ok());
  http::Response page = b.call(verb::get, "/api/v1/calls?limit=2");
  ASSERT_EQ(page.result(), status::ok) << page.body();
  expect_documented(verb::get, "/api/v1/calls", page);
  json j = json::parse(page.body());
  ASSERT_EQ(j["items"].size(), 2u);
  ASSERT_TRUE(j["next_cursor"].is_string());
  EXPECT_EQ(j["items"][0]["source"], "+15551230000");
  page = b.call(verb::get, "/api/v1/calls?limit=2&cursor=" + j["next_cursor"].get<std::string>());
  j = json::parse(page.body());
  ASSERT_EQ(j["items"].size(), 1u);
  EXPECT_TRUE(j["items"][0]["source_withheld"].get<bool>());
  EXPECT_TRUE(j["items"][0]["source"].is_null());
  EXPECT_TRUE(j["next_cursor"].is_null());
  EXPECT_EQ(json::parse(b.call(verb::get, "/api/v1/calls?direction=outbound").body())["items"].size(), 0u);
  EXPECT_EQ(json::parse(b.call(verb::get, "/api/v1/messages").body())["items"].size(), 0u);
  EXPECT_EQ(b.call(verb::get, "/api/v1/calls?from=yesterday").result(), status::bad_request);
  const http::Response lines = b.call(verb::get, "/api/v1/extensions");
  expect_documented(verb::get, "/api/v1/extensions", lines);
  EXPECT_FALSE(json::parse(lines.body())["items"][0]["registered"].get<bool>());
}

// The call log's JSON is written by hand for speed (routes_calls.cpp, json_out.h): it must be the very document
// nlohmann would print, for any party text, and one read is one audit entry naming the line.
TEST_P(PortalApiTest, TheCallLogIsCanonicalJsonForAnyTextAndItsReadIsAuditedOnce) {
  Browser b = browser();
  ASSERT_EQ(b.call(verb::post, "/api/v1/signup", signup_body("gus@example.com", "+442079460966")).result(), status::created);
  const std::string me = json::parse(b.call(verb::get, "/api/v1/me").body())["subject_id"];
  const std::string line =
      json::parse(b.call(verb::post, "/api/v1/extensions", {{"number", "202"}, {"password", "line password 4"}, {"member_id", me}}).body())["id"];
  const std::vector<std::string> texts = {"\"quoted\" \\ back/slash", "ctl \x01\x1f\b\f\n\r\t\x7f",
                                          "J\xC3\xBCrgen \xE2\x82\xAC \xF0\x9F\x93\x9E", "+15551230000"};
  ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(s, keys_, line));
    PRIVOX_ASSIGN(store::Rows co, s.query("SELECT company_id FROM extensions WHERE id = ?", {line}));
    for (size_t i = 0; i < texts.size() + 1; ++i) {
      // The last record's destination is not UTF-8: it comes out as U+FFFD, still valid JSON.
      const std::string destination = i < texts.size() ? texts[i] : std::string("bad \xFF\xC3 end");
      PRIVOX_TRY(s.exec("INSERT INTO traffic_records (id, company_id, subject_id, direction, kind, source_enc, "
                        "destination_enc, source_withheld, started_at_us, answered_at_us, outcome, updated_at_us) "
                        "VALUES (?, ?, ?, 'outbound', 'voice', ?, ?, 0, ?, ?, 'answered', ?)",
                        {new_id(clock_.now_us() + static_cast<int64_t>(i)), co.at(0).text(0), line,
                         privacy::seal_field(key, line, "source", texts[i % texts.size()]),
                         privacy::seal_field(key, line, "destination", destination),
                         clock_.now_us() - 10'000'000 + static_cast<int64_t>(i), clock_.now_us(), clock_.now_us()}));
    }
    return {};
  }).ok());
  auto entries = [&] {
    auto tx = store_->begin(store::TxMode::read);
    return (*tx)->query("SELECT subject_id, detail FROM audit_log WHERE action = 'traffic.list' ORDER BY seq").value();
  };
  const size_t before = entries().size();
  const http::Response page = b.call(verb::get, "/api/v1/calls");
  ASSERT_EQ(page.result(), status::ok) << page.body();
  const json j = json::parse(page.body());
  EXPECT_EQ(page.body(), j.dump()) << "byte for byte what nlohmann prints";
  ASSERT_EQ(j["items"].size(), texts.size() + 1);
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(j["items"][texts.size() - i]["source"], texts[i]);
  EXPECT_EQ(j["items"][0]["destination"], "bad \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(j["items"][0]["answered_at"], format_utc(clock_.now_us()));
  EXPECT_TRUE(j["items"][0]["ended_at"].is_null());
  EXPECT_TRUE(j["next_cursor"].is_null());
  const store::Rows after = entries();
  ASSERT_EQ(after.size(), before + 1) << "one entry for the page, not one per record";
  EXPECT_EQ(after.back().text(0), line);
  EXPECT_EQ(json::parse(after.back().text(1))["subjects"][line], texts.size() + 1);
}

// Every route of the router, as company A's office manager, aimed at company B's resources: each
// answers 403 or 404, or (for routes that name no resource) shows nothing of B's.
TEST_P(PortalApiTest, NoRouteLetsOneTenantReachAnother) {
  Browser a = browser(), b = browser();
  ASSERT_EQ(a.call(verb::post, "/api/v1/signup", signup_body("a@a.example", "+442079460964")).result(), status::created);
  ASSERT_EQ(b.call(verb::post, "/api/v1/signup", signup_body("b@b.example", "+442079460965")).result(), status::created);
  const json b_me = json::parse(b.call(verb::get, "/api/v1/me").body());
  const std::string b_member = b_me["subject_id"], b_company = b_me["company_id"];
  const std::string b_line =
      json::parse(b.call(verb::post, "/api/v1/extensions", {{"number", "301"}, {"password", "line password 2"}, {"member_id", b_member}}).body())["id"];
  const std::string b_request = json::parse(b.call(verb::post, "/api/v1/requests", {{"kind", "access"}}).body()).value("id", "");
  ASSERT_FALSE(b_request.empty());
  const std::vector<std::string> b_ids = {b_member, b_company, b_line, b_request};

  struct Attack {
    std::string target;
    json body;
  };
  // How A aims each route at B. Routes that take no id are self-scoped: A's answer may be 2xx but
  // must not hold any of B's ids.
  const std::map<std::pair<std::string, verb>, Attack> attacks = {
      {{"/api/v1/extensions/{id}/password", verb::post}, {"/api/v1/extensions/" + b_line + "/password", {{"password", "hijacked pass 1"}}}},
      {{"/api/v1/extensions", verb::post}, {"/api/v1/extensions", {{"number", "302"}, {"password", "line password 3"}, {"member_id", b_member}}}},
      {{"/api/v1/calls", verb::get}, {"/api/v1/calls?extension=" + b_line, nullptr}},
      {{"/api/v1/messages", verb::get}, {"/api/v1/messages?extension=" + b_line, nullptr}},
      {{"/api/v1/admin/members", verb::get}, {"/api/v1/admin/members?purpose=billing&company_id=" + b_company, nullptr}},
      {{"/api/v1/admin/companies", verb::get}, {"/api/v1/admin/companies?purpose=billing", nullptr}},
      {{"/api/v1/admin/audit", verb::get}, {"/api/v1/admin/audit", nullptr}},
      {{"/api/v1/admin/page-views", verb::get}, {"/api/v1/admin/page-views", nullptr}},
      {{"/api/v1/admin/requests", verb::get}, {"/api/v1/admin/requests?purpose=legal", nullptr}},
      {{"/api/v1/admin/disclosures", verb::get}, {"/api/v1/admin/disclosures?purpose=legal&member_id=" + b_member, nullptr}},
      {{"/api/v1/admin/requests", verb::post},
       {"/api/v1/admin/requests?purpose=legal", {{"member_id", b_member}, {"kind", "access"}}}},
      {{"/api/v1/admin/disclosures", verb::post},
       {"/api/v1/admin/disclosures?purpose=legal",
        {{"recipient", "X"}, {"kind", "supplier"}, {"categories", {"traffic"}}, {"basis", "contract"}, {"member_ids", {b_member}}}}},
  };
  const std::map<std::pair<std::string, verb>, Attack> self_scoped = {
      {{"/api/v1/me", verb::get}, {"/api/v1/me", nullptr}},
      {{"/api/v1/me", verb::patch}, {"/api/v1/me", {{"email", "b@b.example"}}}},
      {{"/api/v1/extensions", verb::get}, {"/api/v1/extensions", nullptr}},
      {{"/api/v1/consents", verb::get}, {"/api/v1/consents", nullptr}},
      {{"/api/v1/consents/{purpose}", verb::put}, {"/api/v1/consents/marketing_email", {{"given", false}}}},
      {{"/api/v1/requests", verb::post}, {"/api/v1/requests", {{"kind", "rectify"}, {"corrections", {{"name", "B"}}}}}},
      {{"/api/v1/requests", verb::get}, {"/api/v1/requests", nullptr}},
      {{"/api/v1/optional-data/{kind}", verb::get}, {"/api/v1/optional-data/contacts", nullptr}},
      {{"/api/v1/optional-data/{kind}", verb::post}, {"/api/v1/optional-data/contacts", {{"value", json::array()}}}},
      {{"/api/v1/optional-data/{kind}", verb::delete_}, {"/api/v1/optional-data/contacts", nullptr}},
      {{"/api/v1/session", verb::delete_}, {"/api/v1/session", nullptr}},
      // Public routes: no tenant data at all.
      {{"/api/v1/signup", verb::post}, {"/api/v1/signup", {{"company_id", b_company}}}},
      {{"/api/v1/session", verb::post}, {"/api/v1/session", {{"email", "b@b.example"}, {"password", "wrong password 1"}}}},
      {{"/api/v1/privacy-notice", verb::get}, {"/api/v1/privacy-notice", nullptr}},
      {{"/api/v1/portal-config", verb::get}, {"/api/v1/portal-config", nullptr}},
      {{"/api/v1/openapi.json", verb::get}, {"/api/v1/openapi.json", nullptr}},
  };
  for (const auto& route : router_.routes()) {
    const auto key = std::pair{route.pattern, route.method};
    const bool attacked = attacks.count(key), scoped = self_scoped.count(key);
    ASSERT_TRUE(attacked || scoped) << "route " << route.pattern << " " << http::bhttp::to_string(route.method)
                                    << " is not covered by the isolation test";
    if (route.method == verb::delete_ && route.pattern == "/api/v1/session") continue;  // last, below
    const Attack& attack = attacked ? attacks.at(key) : self_scoped.at(key);
    const http::Response res = a.call(route.method, attack.target, attack.body);
    if (attacked) {
      EXPECT_TRUE(res.result() == status::forbidden || res.result() == status::not_found)
          << route.pattern << " answered " << res.result_int() << ": " << res.body();
    }
    if (!attacked) {  // an attack's refusal may echo the id A sent; a self-scoped answer holds none of B's
      for (const std::string& id : b_ids)
        EXPECT_EQ(res.body().find(id), std::string::npos) << route.pattern << " revealed B's id " << id;
    }
  }
  EXPECT_EQ(a.call(verb::delete_, "/api/v1/session").result(), status::no_content);
  // B's line password was not reset, and B's data is intact.
  EXPECT_EQ(json::parse(b.call(verb::get, "/api/v1/me").body())["fields"]["email"], "b@b.example");
  // B still sees B's own request.
  EXPECT_NE(b.call(verb::get, "/api/v1/requests").body().find(b_request), std::string::npos);
}

// The gate of routes.cpp, over every route of the router: a visitor reaches only the public routes,
// a session changes nothing without its CSRF token, members never reach the console and staff never
// reach what is a member's own. Each refusal names what is missing, before any handler runs.
TEST_P(PortalApiTest, EveryGuardedRouteRefusesWhoItDoesNotAdmit) {
  Browser owner = browser();
  ASSERT_EQ(owner.call(verb::post, "/api/v1/signup", signup_body("gate@example.com", "+442079460970")).result(),
            status::created);
  ASSERT_TRUE(portal_->auth().add_staff("support@operator.example", Role::staff_support, "staff password 3", "cli:test").ok());
  Browser staff = browser();
  ASSERT_EQ(staff.call(verb::post, "/api/v1/session", {{"email", "support@operator.example"}, {"password", "staff password 3"}})
                .result(),
            status::ok);
  const std::set<std::string> open_to_visitors = {"/api/v1/signup", "/api/v1/session", "/api/v1/privacy-notice",
                                                  "/api/v1/portal-config", "/api/v1/openapi.json", "/api/v1/consents",
                                                  "/api/v1/consents/{purpose}"};
  const std::set<std::string> members_only = {"/api/v1/requests", "/api/v1/optional-data/{kind}"};
  auto field_of = [](const http::Response& res) { return json::parse(res.body(), nullptr, false)["error"].value("field", ""); };
  size_t guarded = 0, state_changing = 0, console = 0;
  for (const auto& route : router_.routes()) {
    std::string target = route.pattern;
    target = target.substr(0, target.find('{')) + (route.pattern.find('{') == std::string::npos ? "" : "contacts");
    if (route.pattern == "/api/v1/consents/{purpose}") target = "/api/v1/consents/marketing_email";
    if (route.pattern == "/api/v1/extensions/{id}/password") target = "/api/v1/extensions/x/password";
    const std::string name = std::string(http::bhttp::to_string(route.method)) + " " + route.pattern;
    const bool logout = route.pattern == "/api/v1/session" && route.method == verb::delete_;
    if (!open_to_visitors.count(route.pattern) || logout) {
      Browser visitor = browser();
      const http::Response res = visitor.call(route.method, target, json::object());
      EXPECT_EQ(res.result(), status::unauthorized) << name;
      EXPECT_EQ(field_of(res), "privox_session") << name;
      ++guarded;
    }
    const bool login_or_signup = route.pattern == "/api/v1/signup" || (route.pattern == "/api/v1/session" && route.method == verb::post);
    if (route.method != verb::get && !login_or_signup) {
      const http::Response res = owner.call(route.method, target, json::object(), false);
      EXPECT_EQ(res.result(), status::forbidden) << name;
      EXPECT_EQ(field_of(res), "X-CSRF-Token") << name;
      ++state_changing;
    }
    if (route.pattern.starts_with("/api/v1/admin/")) {
      const http::Response res = owner.call(route.method, target + "?purpose=legal", json::object());
      EXPECT_EQ(res.result(), status::forbidden) << name;
      EXPECT_EQ(field_of(res), "role") << name;
      ++console;
    }
    if (members_only.count(route.pattern)) {
      const http::Response res = staff.call(route.method, target, json::object());
      EXPECT_EQ(res.result(), status::forbidden) << name;
      EXPECT_EQ(json::parse(res.body())["error"]["message"], "only members have this") << name;
    }
  }
  EXPECT_EQ(guarded, 21u);
  EXPECT_EQ(state_changing, 10u);
  EXPECT_EQ(console, 8u);
  // A consent purpose that does not exist is refused before the session is looked at.
  const http::Response bogus = owner.call(verb::put, "/api/v1/consents/bogus", {{"given", true}}, false);
  EXPECT_EQ(bogus.result(), status::bad_request);
  EXPECT_EQ(field_of(bogus), "purpose");
  // The register is for purpose legal, even for staff whose role may name another purpose.
  const http::Response support = staff.call(verb::get, "/api/v1/admin/disclosures?purpose=support");
  EXPECT_EQ(support.result(), status::forbidden);
  EXPECT_EQ(field_of(support), "purpose");
  // And the session still works: the refusals ended nothing.
  EXPECT_EQ(owner.call(verb::get, "/api/v1/me").result(), status::ok);
}

// DESIGN R2: one body nested 70,000 levels deep once overflowed a handler thread's stack. Every
// documented route that takes a JSON body refuses it (and a body one level past the limit) with a
// 400 naming the body, signed in or not.
TEST_P(PortalApiTest, EveryJsonRouteRefusesADeeplyNestedBody) {
  Browser b = browser();
  ASSERT_EQ(b.call(verb::post, "/api/v1/signup", signup_body("deep@example.com", "+442079460967")).result(), status::created);
  ASSERT_EQ(b.call(verb::put, "/api/v1/consents/contacts_sync", {{"given", true}}).result(), status::ok);
  const std::string attack = "{\"value\":" + std::string(70'000, '[') + std::string(70'000, ']') + "}";
  const std::string just_past = "{\"value\":" + std::string(::privox::json::kDefaultMaxDepth, '[') + std::string(::privox::json::kDefaultMaxDepth, ']') + "}";
  size_t tried = 0;
  for (const auto& [pattern, ops] : api_["paths"].items()) {
    for (const auto& [method, op] : ops.items()) {
      if (!op.is_object() || !op.contains("requestBody")) continue;
      const std::map<std::string, std::string> values = {{"{kind}", "contacts"}, {"{purpose}", "marketing_email"}};
      std::string target = pattern;
      for (size_t open = target.find('{'); open != std::string::npos; open = target.find('{')) {
        const std::string name = target.substr(open, target.find('}', open) - open + 1);
        target.replace(open, name.size(), values.count(name) ? values.at(name) : "x");
      }
      for (const std::string& body : {attack, just_past}) {
        http::Request req{http::bhttp::string_to_verb(method == "patch" ? "PATCH" : method == "put" ? "PUT" : "POST"), target, 11};
        req.set(http::bhttp::field::content_type, "application/json");
        req.set(http::bhttp::field::cookie, "privox_session=" + b.cookies["privox_session"]);
        req.set("X-CSRF-Token", b.csrf);
        req.body() = body;
        const http::Response res = router_.dispatch(req, b.address);
        EXPECT_NE(res.result_int(), 500) << method << " " << pattern;
        if (res.result() == status::bad_request) {
          EXPECT_EQ(json::parse(res.body())["error"]["field"], "body") << method << " " << pattern << ": " << res.body();
          ++tried;
        } else {  // a route may refuse earlier (a role, a purpose), never accept the body
          EXPECT_TRUE(res.result() == status::forbidden || res.result() == status::not_found)
              << method << " " << pattern << " answered " << res.result_int() << ": " << res.body();
        }
      }
    }
  }
  EXPECT_GE(tried, 14u) << "every route but the staff-only one parses its body";
  // The optional-data route of the report in particular, and the service still answers.
  EXPECT_EQ(b.call(verb::get, "/api/v1/me").result(), status::ok);
}

TEST_P(PortalApiTest, ErasingAMemberRemovesTheirLoginAndSessions) {
  Browser b = browser();
  ASSERT_EQ(b.call(verb::post, "/api/v1/signup", signup_body("gil@example.com", "+442079460966")).result(), status::created);
  const std::string me = json::parse(b.call(verb::get, "/api/v1/me").body())["subject_id"];
  accounts::Accounts accounts(*store_, keys_, clock_);
  ASSERT_TRUE(erasure::erase_member(*store_, keys_, clock_, me, "cli:test", "test").ok());
  EXPECT_EQ(b.call(verb::get, "/api/v1/me").result(), status::unauthorized);
  auto tx = store_->begin(store::TxMode::read);
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM portal_logins WHERE subject_id = ?", {me})->at(0).i64(0), 0);
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM portal_sessions WHERE subject_id = ?", {me})->at(0).i64(0), 0);
}

TEST_P(PortalApiTest, ATakenEmailLeavesNoCompanyBehind) {
  Browser first = browser();
  ASSERT_EQ(first.call(verb::post, "/api/v1/signup", signup_body("hal@example.com", "+442079460967")).result(),
            status::created);
  // Another company signing up with the same email (any case) fails at the member insert, after
  // its company row was written in the same transaction.
  Browser second = browser();
  json again = signup_body("HAL@example.com", "+442079460968");
  again["company_name"] = "Second Company";
  const http::Response res = second.call(verb::post, "/api/v1/signup", again);
  ASSERT_EQ(res.result(), status::conflict) << res.body();
  expect_documented(verb::post, "/api/v1/signup", res);
  EXPECT_EQ(json::parse(res.body())["error"]["field"], "email");
  EXPECT_TRUE(second.cookies.empty());
  auto tx = store_->begin(store::TxMode::read);
  ASSERT_TRUE(tx.ok());
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM companies")->at(0).i64(0), 1);
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM members")->at(0).i64(0), 1);
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM portal_logins")->at(0).i64(0), 1);
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM subject_keys")->at(0).i64(0), 1);
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM audit_log WHERE action = 'company.add'")->at(0).i64(0), 1);
}

TEST_P(PortalApiTest, LockOutAndSessionLengthsComeFromTheSettings) {
  for (const auto& [key, value] : {std::pair{"portal.login_max_failures", "2"}, {"portal.login_window_minutes", "10"},
                                   {"portal.lockout_minutes", "3"}, {"portal.session_idle_minutes", "20"},
                                   {"portal.session_max_hours", "2"}})
    ASSERT_TRUE(privacy::change_setting(*store_, keys_, clock_, key, value, "cli:test").ok()) << key;
  EXPECT_EQ(privacy::change_setting(*store_, keys_, clock_, "portal.lockout_minutes", "0", "cli:test").error().field,
            "portal.lockout_minutes");
  const Result<AuthLimits> limits = auth_limits_from_settings(*store_);
  ASSERT_TRUE(limits.ok()) << limits.error().describe();
  EXPECT_EQ(limits->max_failures, 2);
  EXPECT_EQ(limits->window_us, 10LL * 60 * 1'000'000);
  EXPECT_EQ(limits->lockout_us, 3LL * 60 * 1'000'000);
  EXPECT_EQ(limits->session_idle_us, 20LL * 60 * 1'000'000);
  EXPECT_EQ(limits->session_max_us, 2LL * 3600 * 1'000'000);

  PortalOptions options;
  options.payments = &provider_;
  options.auth_limits = *limits;
  Portal configured(*store_, keys_, clock_, options);
  http::Router router;
  configured.mount(router);
  Browser owner = browser();
  owner.router = &router;
  const http::Response signed_up = owner.call(verb::post, "/api/v1/signup", signup_body("ida@example.com", "+442079460969"));
  ASSERT_EQ(signed_up.result(), status::created) << signed_up.body();
  EXPECT_NE(std::string(signed_up[http::bhttp::field::set_cookie]).find("Max-Age=7200;"), std::string::npos);
  // Idle for 21 minutes: the session is over.
  clock_.set_us(clock_.now_us() + 21LL * 60 * 1'000'000);
  EXPECT_EQ(owner.call(verb::get, "/api/v1/me").result(), status::unauthorized);
  // Two failures lock the account, for three minutes.
  Browser attacker = browser();
  attacker.router = &router;
  const json wrong = {{"email", "ida@example.com"}, {"password", "wrong password!"}};
  EXPECT_EQ(attacker.call(verb::post, "/api/v1/session", wrong).result(), status::unauthorized);
  EXPECT_EQ(attacker.call(verb::post, "/api/v1/session", wrong).result(), status::unauthorized);
  const json right = {{"email", "ida@example.com"}, {"password", "correct horse battery"}};
  const http::Response locked = owner.call(verb::post, "/api/v1/session", right);
  EXPECT_EQ(locked.result(), status::too_many_requests);
  EXPECT_EQ(locked[http::bhttp::field::retry_after], "180");
  clock_.set_us(clock_.now_us() + 3LL * 60 * 1'000'000 + 1);
  EXPECT_EQ(owner.call(verb::post, "/api/v1/session", right).result(), status::ok);
}

INSTANTIATE_TEST_SUITE_P(Backends, PortalApiTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgresql),
                         store::backend_name);

TEST(TokenizerTest, LuhnAndBrands) {
  EXPECT_TRUE(luhn_valid("4242424242424242"));
  EXPECT_FALSE(luhn_valid("4242424242424241"));
  EXPECT_FALSE(luhn_valid("42424242"));
  EXPECT_EQ(card_brand("5555555555554444"), "mastercard");
  EXPECT_EQ(card_brand("378282246310005"), "amex");
  EXPECT_EQ(card_brand("4242424242424242"), "visa");
}

TEST(TokenizerTest, TokensNeedTheApiKeyAndCorsIsForTheAllowedOriginOnly) {
  FakeClock clock{1'795'000'000'000'000};
  Tokenizer t("http://127.0.0.1:8080", "test-api-key-0123456789", clock);
  const http::Router r = t.router();
  http::Request create{verb::post, "/v1/tokens", 11};
  create.set("Origin", "http://127.0.0.1:8080");
  create.body() = json{{"number", "4242 4242 4242 4242"}, {"exp_month", "12"}, {"exp_year", "2031"}, {"cvc", "123"}}.dump();
  const http::Response made = r.dispatch(create);
  ASSERT_EQ(made.result(), status::created) << made.body();
  EXPECT_EQ(made["Access-Control-Allow-Origin"], "http://127.0.0.1:8080");
  EXPECT_EQ(made.body().find("4242424242424242"), std::string::npos);
  const std::string token = json::parse(made.body())["token"];
  http::Request get{verb::get, "/v1/tokens/" + token, 11};
  EXPECT_EQ(r.dispatch(get).result(), status::unauthorized);
  get.set("Authorization", "Bearer test-api-key-0123456780");
  EXPECT_EQ(r.dispatch(get).result(), status::unauthorized);
  get.set("Authorization", "Bearer test-api-key-0123456789");
  EXPECT_EQ(json::parse(r.dispatch(get).body())["last4"], "4242");
  create.set("Origin", "https://evil.example");
  EXPECT_EQ(r.dispatch(create).result(), status::forbidden);
  create.set("Origin", "http://127.0.0.1:8080");
  create.body() = json{{"number", "4242424242424241"}, {"exp_month", 12}, {"exp_year", 2031}, {"cvc", "123"}}.dump();
  EXPECT_EQ(json::parse(r.dispatch(create).body())["error"]["field"], "number");
}

}  // namespace
}  // namespace privox::portal
