#include "metrics/registry.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cassert>
#include <limits>
#include <map>
#include <mutex>

namespace privox::metrics {

bool label_value_allowed(std::string_view value) {
  if (value.size() > 80) return false;
  size_t digits = 0;
  for (const char c : value) {
    const bool digit = c >= '0' && c <= '9';
    if (digit && ++digits > 3) return false;  // a status code has three; a number or an IPv4 address more
    const bool ok = digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '{' || c == '}' ||
                    c == '/' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

// Labels as prometheus-cpp takes them, each value checked; `invalid` counts the replaced ones.
std::map<std::string, std::string> checked_labels(std::initializer_list<Label> labels,
                                                  std::atomic<uint64_t>& invalid) {
  std::map<std::string, std::string> out;
  for (const Label& l : labels) {
    if (label_value_allowed(l.value)) {
      out.emplace(std::string(l.name), std::string(l.value));
    } else {
      invalid.fetch_add(1, std::memory_order_relaxed);
      out.emplace(std::string(l.name), "invalid");
    }
  }
  return out;
}

std::vector<prometheus::ClientMetric::Label> metric_labels(std::initializer_list<Label> labels,
                                                           std::atomic<uint64_t>& invalid) {
  std::vector<prometheus::ClientMetric::Label> out;
  for (auto& [name, value] : checked_labels(labels, invalid)) out.push_back({name, value});
  return out;
}

// Collects one scrape's samples from the sources into metric families, one per name.
class FamilySampler final : public Sampler {
 public:
  explicit FamilySampler(std::atomic<uint64_t>& invalid) : invalid_(invalid) {}

  void counter(std::string_view name, std::string_view help, double value,
               std::initializer_list<Label> labels) override {
    prometheus::ClientMetric m = labelled(labels);
    m.counter.value = value;
    add(name, help, prometheus::MetricType::Counter, std::move(m));
  }
  void gauge(std::string_view name, std::string_view help, double value,
             std::initializer_list<Label> labels) override {
    prometheus::ClientMetric m = labelled(labels);
    m.gauge.value = value;
    add(name, help, prometheus::MetricType::Gauge, std::move(m));
  }
  void histogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                 const std::vector<uint64_t>& counts, double sum, std::initializer_list<Label> labels) override {
    assert(counts.size() == bounds.size() + 1);
    prometheus::ClientMetric m = labelled(labels);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      m.histogram.bucket.push_back(
          {cumulative, i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity()});
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = sum;
    add(name, help, prometheus::MetricType::Histogram, std::move(m));
  }

  std::vector<prometheus::MetricFamily> take() { return std::move(families_); }

 private:
  prometheus::ClientMetric labelled(std::initializer_list<Label> labels) {
    prometheus::ClientMetric m;
    m.label = metric_labels(labels, invalid_);
    return m;
  }
  void add(std::string_view name, std::string_view help, prometheus::MetricType type, prometheus::ClientMetric m) {
    const auto [it, fresh] = index_.emplace(std::string(name), families_.size());
    if (fresh) families_.push_back({std::string(name), std::string(help), type, {}});
    prometheus::MetricFamily& family = families_[it->second];
    assert(family.type == type);
    family.metric.push_back(std::move(m));
  }

  std::atomic<uint64_t>& invalid_;
  std::vector<prometheus::MetricFamily> families_;
  std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace

struct Counters::Impl {
  prometheus::Family<prometheus::Counter>* family;
  std::atomic<uint64_t>* invalid;
};

void Counters::add(std::initializer_list<Label> labels, double by) {
  impl_->family->Add(checked_labels(labels, *impl_->invalid)).Increment(by);
}

struct Registry::Impl {
  prometheus::Registry registry;
  std::vector<Source> sources;
  std::vector<std::unique_ptr<Counters::Impl>> counters;
  mutable std::atomic<uint64_t> invalid{0};
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

Counters Registry::counters(const std::string& name, const std::string& help) {
  auto& family = prometheus::BuildCounter().Name(name).Help(help).Register(impl_->registry);
  impl_->counters.push_back(std::make_unique<Counters::Impl>(Counters::Impl{&family, &impl_->invalid}));
  return Counters(impl_->counters.back().get());
}

void Registry::add_source(Source source) { impl_->sources.push_back(std::move(source)); }

std::string Registry::scrape() const {
  std::vector<prometheus::MetricFamily> families = impl_->registry.Collect();
  FamilySampler sampler(impl_->invalid);
  for (const Source& source : impl_->sources) source(sampler);
  sampler.counter("privox_metrics_invalid_labels_total",
                  "Label values replaced by \"invalid\": not from a fixed set (a bug to report)",
                  static_cast<double>(impl_->invalid.load(std::memory_order_relaxed)), {});
  for (prometheus::MetricFamily& f : sampler.take()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace privox::metrics
