// The stand-in payment provider's charges, reached as privox reaches a provider: over HTTP through
// HttpPaymentProvider (payments.h). A charge needs the API key and an idempotency key; a declining
// test card is declined in words; a retried key charges nothing more, and a key reused with other
// values is a conflict. Refunds are idempotent too, and never add up to more than the charge.
#include "portal/tokenizer.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "portal/payments.h"

namespace privox::portal {
namespace {

using http::bhttp::status;
using http::bhttp::verb;
using nlohmann::json;

constexpr const char* kApiKey = "test-api-key-0123456789";

class TokenizerChargeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<http::Server>(io_, tokenizer_.router());
    ASSERT_TRUE(server_->listen({"127.0.0.1", 0}).ok());
    thread_ = std::thread([this] { io_.run(); });
    provider_ = make_http_payment_provider(fmt::format("http://127.0.0.1:{}/", server_->local_port()), kApiKey);
  }
  void TearDown() override {
    boost::asio::post(io_, [this] {
      server_->stop();
      io_.stop();
    });
    thread_.join();
  }

  // A token as the browser gets one.
  std::string token_for(std::string_view number) {
    http::Request req{verb::post, "/v1/tokens", 11};
    req.body() = json{{"number", number}, {"exp_month", 12}, {"exp_year", 2031}, {"cvc", "123"}}.dump();
    return json::parse(tokenizer_.router().dispatch(req).body()).value("token", "");
  }

  FakeClock clock_{1'795'000'000'000'000};
  Tokenizer tokenizer_{"http://127.0.0.1:8080", kApiKey, clock_};
  boost::asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  std::unique_ptr<PaymentProvider> provider_;
};

TEST_F(TokenizerChargeTest, AChargeSucceedsOnceForItsIdempotencyKey) {
  const std::string token = token_for("4242424242424242");
  auto first = provider_->charge({token, 1000, "GBP", "key-1"});
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_FALSE(first->declined);
  EXPECT_TRUE(first->id.starts_with("ch_")) << first->id;
  auto retried = provider_->charge({token, 1000, "GBP", "key-1"});
  ASSERT_TRUE(retried.ok()) << retried.error().describe();
  EXPECT_EQ(retried->id, first->id) << "the same key answers as the first time";
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 1) << "and charges nothing more";
  auto other = provider_->charge({token, 1000, "GBP", "key-2"});
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->id, first->id);
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 2);
  // A key reused for another amount is refused, not replayed.
  EXPECT_FALSE(provider_->charge({token, 2000, "GBP", "key-1"}).ok());
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 2);
}

TEST_F(TokenizerChargeTest, TheDecliningTestCardIsDeclinedInWords) {
  const std::string token = token_for(kDecliningCard);
  ASSERT_FALSE(token.empty()) << "its token is issued like any other";
  auto declined = provider_->charge({token, 1000, "GBP", "key-d"});
  ASSERT_TRUE(declined.ok()) << "a decline is an answer, not an error: " << declined.error().describe();
  EXPECT_TRUE(declined->declined);
  EXPECT_TRUE(declined->id.empty());
  EXPECT_NE(declined->decline_message.find("declined"), std::string::npos) << declined->decline_message;
  EXPECT_TRUE(provider_->charge({token, 1000, "GBP", "key-d"})->declined) << "replayed as declined";
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 0);
}

TEST_F(TokenizerChargeTest, AChargeNeedsTheApiKeyAnIdempotencyKeyAKnownTokenAndAnAmount) {
  const std::string token = token_for("4242424242424242");
  auto wrong_key = make_http_payment_provider(fmt::format("http://127.0.0.1:{}", server_->local_port()),
                                              "test-api-key-0123456780");
  EXPECT_EQ(wrong_key->charge({token, 1000, "GBP", "k"}).error().code, ErrorCode::unavailable);
  EXPECT_EQ(provider_->charge({"tok_unknown", 1000, "GBP", "k"}).error().field, "payment_token");
  EXPECT_EQ(provider_->charge({token, 0, "GBP", "k"}).error().field, "amount");
  EXPECT_EQ(provider_->charge({token, 1000, "GBP", ""}).error().field, "Idempotency-Key");
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 0);
}

TEST_F(TokenizerChargeTest, AKeyReusedWithOtherValuesIsAConflictNotAnOutage) {
  const std::string token = token_for("4242424242424242");
  ASSERT_TRUE(provider_->charge({token, 1000, "GBP", "key-r"}).ok());
  auto other_card = provider_->charge({token_for("5555555555554444"), 1000, "GBP", "key-r"});
  ASSERT_FALSE(other_card.ok());
  EXPECT_EQ(other_card.error().code, ErrorCode::conflict) << other_card.error().describe();
  EXPECT_EQ(other_card.error().field, "Idempotency-Key");
  EXPECT_EQ(tokenizer_.charges_made_for_test(), 1);
}

TEST_F(TokenizerChargeTest, RefundsAreIdempotentAndNeverExceedTheCharge) {
  auto charged = provider_->charge({token_for("4242424242424242"), 1000, "GBP", "key-c"});
  ASSERT_TRUE(charged.ok());
  auto first = provider_->refund({charged->id, 400, "GBP", "refund-1"});
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_TRUE(first->id.starts_with("re_")) << first->id;
  auto replayed = provider_->refund({charged->id, 400, "GBP", "refund-1"});
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(replayed->id, first->id) << "the same key answers as the first time";
  EXPECT_EQ(tokenizer_.refunded_for_test(charged->id), 400) << "and refunds nothing more";
  auto too_much = provider_->refund({charged->id, 601, "GBP", "refund-2"});
  ASSERT_FALSE(too_much.ok());
  EXPECT_EQ(too_much.error().field, "amount");
  EXPECT_NE(too_much.error().message.find("600 of 1000"), std::string::npos) << too_much.error().message;
  EXPECT_TRUE(provider_->refund({charged->id, 600, "GBP", "refund-2"}).ok()) << "exactly what is left";
  EXPECT_EQ(provider_->refund({charged->id, 1, "GBP", "refund-3"}).error().field, "amount") << "nothing is left";
  EXPECT_EQ(provider_->refund({charged->id, 400, "GBP", "refund-2"}).error().code, ErrorCode::conflict);
  EXPECT_EQ(provider_->refund({"ch_unknown", 1, "GBP", "refund-4"}).error().field, "charge");
  EXPECT_EQ(provider_->refund({charged->id, 1, "EUR", "refund-5"}).error().field, "currency");
  EXPECT_EQ(provider_->refund({charged->id, 0, "GBP", "refund-6"}).error().field, "amount");
  EXPECT_EQ(provider_->refund({charged->id, 1, "GBP", ""}).error().field, "Idempotency-Key");
  EXPECT_EQ(tokenizer_.refunds_made_for_test(), 2);
  EXPECT_EQ(tokenizer_.refunded_for_test(charged->id), 1000);

  // Every refusal is a JSON error naming the field.
  http::Request req{verb::post, "/v1/refunds", 11};
  req.set("Authorization", std::string("Bearer ") + kApiKey);
  req.set("Idempotency-Key", "refund-7");
  req.body() = "not json";
  const http::Response res = tokenizer_.router().dispatch(req);
  EXPECT_EQ(res.result(), status::bad_request);
  EXPECT_TRUE(json::parse(res.body()).contains("error")) << res.body();
  http::Request anonymous{verb::post, "/v1/refunds", 11};
  EXPECT_EQ(tokenizer_.router().dispatch(anonymous).result(), status::unauthorized);
}

}  // namespace
}  // namespace privox::portal
