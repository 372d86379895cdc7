#include "metrics/registry.h"

#include <gtest/gtest.h>

namespace privox::metrics {
namespace {

TEST(MetricsLabels, OnlyValuesFromFixedSetsPass) {
  EXPECT_TRUE(label_value_allowed("INVITE"));
  EXPECT_TRUE(label_value_allowed("5xx"));
  EXPECT_TRUE(label_value_allowed("503"));
  EXPECT_TRUE(label_value_allowed("/api/v1/consents/{purpose}"));
  EXPECT_TRUE(label_value_allowed("awaiting_identity"));
  EXPECT_FALSE(label_value_allowed("+41445551234"));  // a phone number
  EXPECT_FALSE(label_value_allowed("1001"));          // an extension
  EXPECT_FALSE(label_value_allowed("alice@example.com"));
  EXPECT_FALSE(label_value_allowed("Alice Smith"));   // a space: no name gets through
  EXPECT_FALSE(label_value_allowed("203.0.113.7"));
  EXPECT_FALSE(label_value_allowed("2001:db8::1"));
  EXPECT_FALSE(label_value_allowed(std::string(81, 'a')));
}

TEST(MetricsRegistry, ScrapesCountersSourcesAndHistograms) {
  Registry registry;
  Counters http = registry.counters("privox_test_requests_total", "requests");
  http.add({{"route", "/healthz"}, {"status", "200"}});
  http.add({{"route", "/healthz"}, {"status", "200"}});
  http.add({{"route", "/lines/1001"}, {"status", "200"}});  // a raw path with an extension: replaced
  registry.add_source([](Sampler& out) {
    out.gauge("privox_test_open", "open", 3, {{"state", "received"}});
    out.histogram("privox_test_seconds", "latency", {0.001, 0.01}, {1, 2, 3}, 0.5);
  });
  const std::string text = registry.scrape();
  EXPECT_NE(text.find("privox_test_requests_total{route=\"/healthz\",status=\"200\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("route=\"invalid\""), std::string::npos) << text;
  EXPECT_EQ(text.find("1001"), std::string::npos) << text;
  EXPECT_NE(text.find("privox_test_open{state=\"received\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("privox_test_seconds_bucket{le=\"0.01\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("privox_test_seconds_count 6"), std::string::npos) << text;
  EXPECT_NE(text.find("privox_metrics_invalid_labels_total 1"), std::string::npos) << text;
}

}  // namespace
}  // namespace privox::metrics
