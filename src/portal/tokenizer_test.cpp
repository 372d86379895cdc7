// The stand-in payment provider's charges, reached as privox reaches a provider: over HTTP through
// HttpPaymentProvider (payments.h). A charge needs the API key and an idempotency key; a declining
// test card is declined in words; a retried key charges nothing more.
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

}  // namespace
}  // namespace privox::portal
