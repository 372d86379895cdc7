#include "sip/location.h"

#include <algorithm>

namespace privox::sip {

std::span<const Binding> Location::lookup(const std::string& extension_id, int64_t now_us) {
  const auto it = bindings_.find(extension_id);
  if (it == bindings_.end()) return {};
  auto& list = it->second;
  std::erase_if(list, [&](const Binding& b) { return b.expires_at_us <= now_us; });
  return list;
}

void Location::apply(std::vector<BindingChange> changes, std::function<void(const Status&)> done) {
  for (const BindingChange& c : changes) {
    auto& list = bindings_[c.extension_id];
    auto same = std::find_if(list.begin(), list.end(), [&](const Binding& b) { return b.contact == c.binding.contact; });
    if (c.remove) {
      if (same != list.end()) list.erase(same);
    } else if (same != list.end()) {
      *same = c.binding;
    } else {
      list.push_back(c.binding);
    }
  }
  if (store_) store_->persist(std::move(changes), std::move(done));
  else done({});
}

void Location::restore(const std::string& extension_id, Binding binding) {
  bindings_[extension_id].push_back(std::move(binding));
}

size_t Location::size() const {
  size_t n = 0;
  for (const auto& [id, list] : bindings_) n += list.size();
  return n;
}

}  // namespace privox::sip
