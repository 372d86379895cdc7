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

std::vector<std::string> Location::replace_shared(const std::string& extension_id, std::vector<Binding> fresh) {
  std::vector<std::string> unbound;
  auto& list = bindings_[extension_id];
  for (Binding& held : list) {
    const auto named = std::find_if(fresh.begin(), fresh.end(), [&](const Binding& f) { return f.contact == held.contact; });
    if (named == fresh.end()) {
      // This node's own connection stays: its commit may not have been read yet, and only the
      // connection's close or the binding's expiry ends it.
      if (held.on_own_connection()) fresh.push_back(std::move(held));
      else unbound.push_back(held.contact);
    } else if (held.on_own_connection() && named->on_own_connection()) {
      held.expires_at_us = named->expires_at_us;
      held.cseq = named->cseq;
      *named = std::move(held);  // the same flow, and memory knows its connection
    } else if (named->flow.empty()) {
      named->flow = held.flow;  // the store does not hold it
    }
  }
  list = std::move(fresh);
  if (list.empty()) bindings_.erase(extension_id);
  return unbound;
}

std::vector<std::string> Location::extensions_with_shared() const {
  std::vector<std::string> out;
  for (const auto& [id, list] : bindings_)
    if (std::any_of(list.begin(), list.end(), [](const Binding& b) { return !b.on_own_connection(); }))
      out.push_back(id);
  return out;
}

size_t Location::size() const {
  size_t n = 0;
  for (const auto& [id, list] : bindings_) n += list.size();
  return n;
}

}  // namespace privox::sip
