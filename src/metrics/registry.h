#pragma once
// The node's metrics, in Prometheus's text format (GET /metrics), on prometheus-cpp's core and its
// text serializer (no civetweb "pull" exposer: privox's own HTTP server answers the scrape).
//
// Two kinds of source, so the SIP worker never pays for metrics on its packet path:
//   - Counters for what only happens off the packet path (an HTTP request): prometheus-cpp's
//     atomic counters, labelled, counted as the event happens.
//   - Sources, called at scrape time, which read counters and gauges the subsystems already keep
//     (SIP's stats, the writer's, the voicemail endpoint's) and write samples into a Sampler.
//
// Labels: no label ever holds a phone number, SIP user, address, name, email or company name. A
// label's value comes from a fixed set the code names (a SIP method, a response class, an HTTP
// route template, a state); label_value_allowed() is the belt to those braces: a value with more
// than three digits (a phone number, an IPv4 address), over 80 characters, or with anything but
// [A-Za-z0-9_{}/.-] (an '@', a space, an IPv6 ':') is replaced by "invalid" and counted in
// privox_metrics_invalid_labels_total. `metrics_e2e.sh` scrapes after real traffic and
// fails on any personal value the test used.
//
// Thread-safety: a Registry is built and given its sources on one thread before it serves; then
// scrape() and Counters::add() may be called from any thread. A source runs on the scraping thread
// and must do its own hand-off to the thread that owns what it reads.

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace privox::metrics {

struct Label {
  std::string_view name;
  std::string_view value;  // from a fixed set: never personal data
};

// Whether a label value may be exported (see above).
bool label_value_allowed(std::string_view value);

// Where a source writes its samples during one scrape. Samples of one name must share a type.
class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual void counter(std::string_view name, std::string_view help, double value,
                       std::initializer_list<Label> labels = {}) = 0;
  virtual void gauge(std::string_view name, std::string_view help, double value,
                     std::initializer_list<Label> labels = {}) = 0;
  // `bounds` are the buckets' upper bounds, ascending; `counts` the observations per bucket, not
  // cumulative, with one more entry than `bounds` for +Inf.
  virtual void histogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                         const std::vector<uint64_t>& counts, double sum, std::initializer_list<Label> labels = {}) = 0;
};

using Source = std::function<void(Sampler&)>;

class Registry;

// A labelled counter family; add() is thread-safe (a short lock to find the child, then an atomic).
class Counters {
 public:
  void add(std::initializer_list<Label> labels, double by = 1);

 private:
  friend class Registry;
  struct Impl;
  explicit Counters(Impl* impl) : impl_(impl) {}
  Impl* impl_;  // owned by the Registry
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Before serving. The Counters live as long as the Registry.
  Counters counters(const std::string& name, const std::string& help);
  void add_source(Source source);

  // Every sample now, in the text exposition format (version 0.0.4).
  std::string scrape() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Content-Type of scrape()'s text.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace privox::metrics
